using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests;

/// <summary>Asynchronous saves: copy-then-return, background order, failures never lost, readers wait.</summary>
public sealed class AsyncSaveTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public AsyncSaveTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private static CheckpointHandler AsyncHandler() => new(new CheckpointOptions { Async = true });

    [Fact]
    public void Changes_after_save_returns_do_not_leak_into_the_checkpoint()
    {
        var weights = new float[1 << 20];
        weights[0] = 1;
        using (var h = AsyncHandler())
        {
            var info = h.Save(_ck, new Dictionary<string, object?> { ["w"] = weights }, step: 3);
            Assert.Equal(3, info.Step);
            weights[0] = 2;
            h.WaitUntilFinished();
        }

        using var reader = new CheckpointHandler();
        Assert.Equal(1f, ((float[])((Dictionary<string, object?>)reader.Restore(_ck)!)["w"]!)[0]);
    }

    [Fact]
    public void Background_saves_run_in_order_and_retention_applies_to_each()
    {
        using var h = AsyncHandler();
        for (var s = 0; s < 6; s++)
        {
            h.Save(_ck, new Dictionary<string, object?> { ["s"] = s, ["w"] = new double[4096] }, keep: 2);
        }

        h.WaitUntilFinished();
        Assert.Equal(new long[] { 4, 5 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void Restore_and_listings_wait_for_pending_saves()
    {
        using var h = AsyncHandler();
        h.Save(_ck, new Dictionary<string, object?> { ["w"] = new float[8 << 20] }, step: 0);
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = "second" }, step: 1);
        Assert.Equal(new long[] { 0, 1 }, h.GetCheckpointSteps(_ck));
        Assert.Equal("second", ((Dictionary<string, object?>)h.Restore(_ck)!)["v"]);
    }

    private void BreakQueuedSave(CheckpointHandler h)
    {
        // The first save keeps the background busy while the second one's staging folder is taken away.
        h.Save(_ck, new Dictionary<string, object?> { ["w"] = new float[32 << 20] }, step: 0);
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        var staging = Directory.GetDirectories(Path.Combine(_ck, ".staging"), "1-*").Single();
        Directory.Delete(staging, recursive: true);
    }

    [Fact]
    public void A_background_failure_is_raised_by_wait_until_finished_and_the_store_stays_sound()
    {
        using var h = AsyncHandler();
        BreakQueuedSave(h);
        Assert.ThrowsAny<IOException>(h.WaitUntilFinished);
        h.WaitUntilFinished(); // raised once, not again
        Assert.Equal(new long[] { 0 }, h.GetCheckpointSteps(_ck));
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 1);
        h.WaitUntilFinished();
        Assert.Equal(new long[] { 0, 1 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_background_failure_is_raised_by_the_next_save()
    {
        using var h = AsyncHandler();
        BreakQueuedSave(h);
        Assert.Equal(new long[] { 0 }, h.GetCheckpointSteps(_ck)); // waits, does not raise
        Assert.ThrowsAny<IOException>(() => h.Save(_ck, 1, step: 2));
    }

    [Fact]
    public void A_background_failure_is_raised_by_close()
    {
        var h = AsyncHandler();
        BreakQueuedSave(h);
        Assert.ThrowsAny<IOException>(h.Close);
    }

    [Fact]
    public void Unsupported_values_are_refused_synchronously_even_when_async()
    {
        using var h = AsyncHandler();
        Assert.Throws<UnsupportedValueException>(() => h.Save(_ck, new Dictionary<string, object?> { ["f"] = new object() }));
        Assert.False(Directory.Exists(_ck));
    }
}
