using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Hostile review of the overlapped intent commit (a save's intent commits on a pool thread beside its staging
/// writes, docs/guarantees.md §1): what a caller's callbacks see and wait on.
/// </summary>
public sealed class IntentOverlapAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public IntentOverlapAttackTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, object?> State(int v) => new() { ["v"] = v, ["w"] = new float[] { v, v, v } };

    [Fact]
    public async Task A_log_callback_that_needs_the_saving_thread_does_not_deadlock_a_synchronous_save()
    {
        // A log that takes a lock the caller holds around its save (a training loop's state lock, or a UI that
        // marshals each line to the calling thread as Dispatcher.Invoke does). Every line of a synchronous save
        // came on the calling thread before the overlap; the line kept while the intent's commit held the
        // directory lock was then delivered from the pool thread that commits it, inside the task the save
        // joins before its publish: the pool thread waited for the caller's lock, the caller for the pool thread.
        var gate = new object();
        var threads = new HashSet<int>();
        var lines = new List<string>();
        using var h = new CheckpointHandler(new CheckpointOptions
        {
            Log = line =>
            {
                lock (gate)
                {
                    lines.Add(line);
                    threads.Add(Environment.CurrentManagedThreadId);
                }
            },
        });
        var caller = 0;
        var save = Task.Factory.StartNew(() =>
        {
            lock (gate)
            {
                caller = Environment.CurrentManagedThreadId;
                h.Save(_ck, State(1), step: 1);
                h.Save(_ck, State(2), step: 2, overwrite: false, keep: 1);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(await Task.WhenAny(save, Task.Delay(TimeSpan.FromSeconds(30))) == save,
            "the save waited for its own log line, delivered on another thread that waited for the caller's lock");
        await save;
        lock (gate)
        {
            Assert.Equal(new[] { caller }, threads);
            Assert.Contains(lines, l => l.StartsWith("Reserved step 1", StringComparison.Ordinal));
            // In order: a step's reservation before its writing and its publish.
            var reserved = lines.FindIndex(l => l.StartsWith("Reserved step 2", StringComparison.Ordinal));
            var writing = lines.FindIndex(l => l.StartsWith("Writing step 2", StringComparison.Ordinal));
            var published = lines.FindIndex(l => l.StartsWith("Published step 2", StringComparison.Ordinal));
            Assert.True(reserved >= 0 && reserved < writing && writing < published, string.Join(" | ", lines));
        }

        Assert.Equal(new long[] { 2 }, h.GetCheckpointSteps(_ck));
    }
}
