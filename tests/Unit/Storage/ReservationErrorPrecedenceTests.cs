using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A reservation that fails under the directory lock releases the lock and then delivers the log lines kept while it
/// was held; a log callback that throws then must not replace the reservation's own error (the rule Abandon follows:
/// the save's error wins, the callback's is dropped).
/// </summary>
public sealed class ReservationErrorPrecedenceTests : IDisposable
{
    private const int Seed = 5;
    private readonly TempDirectory _parent = new();
    private readonly string _ck;

    public ReservationErrorPrecedenceTests() => _ck = _parent.Sub("ck");

    public void Dispose() => _parent.Dispose();

    [Fact]
    public void A_step_that_exists_is_StepExists_even_when_the_log_callback_throws_on_the_lines_kept_under_the_lock()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, HarnessState.Create(1, Seed, 1, 64), step: 1);
        }

        // A staging folder whose owner is gone: the reservation's recovery removes it under the lock and logs it then.
        Directory.CreateDirectory(Path.Combine(_ck, StepFolders.StagingFolder, "7-0123456789abcdef0123456789abcdef"));
        var logged = new List<string>();
        var options = new CheckpointOptions
        {
            Log = message =>
            {
                logged.Add(message);
                throw new InvalidOperationException("the log callback failed");
            },
        };

        using (var h = new CheckpointHandler(options))
        {
            var e = Assert.Throws<StepExistsException>(() => h.Save(_ck, HarnessState.Create(1, Seed, 1, 64), step: 1));
            Assert.Equal(1, e.Step);
        }

        Assert.Contains(logged, m => m.StartsWith("Recovery:", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(_ck, StepFolders.StagingFolder, "7-0123456789abcdef0123456789abcdef")));
        using (var h = new CheckpointHandler())
        {
            // The lock was released: another save goes through at once.
            h.Save(_ck, HarnessState.Create(2, Seed, 1, 64), step: 2);
            Assert.Equal([1L, 2L], h.ListCheckpoints(_ck).Select(c => c.Step));
        }
    }
}
