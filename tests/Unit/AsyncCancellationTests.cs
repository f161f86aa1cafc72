using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests;

/// <summary>A background save's cancellation belongs to that save: it is refused up front or dropped, never raised on the next call.</summary>
public sealed class AsyncCancellationTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public AsyncCancellationTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void An_async_save_with_an_already_cancelled_token_is_refused_and_the_next_save_is_committed()
    {
        using var handler = new CheckpointHandler(new CheckpointOptions { Async = true });
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => handler.Save(_ck, new Dictionary<string, object?> { ["a"] = 1L }, step: 1, cancellationToken: cancel.Token));

        // The next, uncancelled save must be committed, not fail with the earlier save's cancellation.
        handler.Save(_ck, new Dictionary<string, object?> { ["a"] = 2L }, step: 2);
        handler.WaitUntilFinished();
        Assert.Equal([2L], handler.GetCheckpointSteps(_ck));
        Assert.False(Directory.Exists(Path.Combine(_ck, "1")));
    }
}
