using System.Diagnostics;

namespace DataraxCkpt.Bench;

/// <summary>
/// The timing loop of <c>listtime</c> and <c>stepstime</c>: one listing of a store repeated, each after the same forced
/// compacting collection as <see cref="Measure.Run"/>, two warm-ups first; per measured listing the wall time and the
/// process's and calling thread's CPU time and the bytes the calling thread allocated. What a caller measures besides
/// goes in its hooks, which run outside every one of those windows: <c>beforeEach</c> after the collection, before the
/// first reading; <c>afterEach</c> after the last.
/// </summary>
internal sealed class ListingRepetitions
{
    private ListingRepetitions()
    {
    }

    public List<double> Wall { get; } = [];

    public List<double> ProcessCpu { get; } = [];

    public List<double> ThreadCpu { get; } = [];

    /// <summary>MiB the calling thread allocated during each measured listing.</summary>
    public List<double> Allocated { get; } = [];

    /// <summary>What every listing counted (all listings count the same, or the loop throws).</summary>
    public int Count { get; private set; } = -1;

    /// <summary>The repeated listing; null, with the reason written to standard error, when it could not measure anything.</summary>
    /// <param name="command">The command's name, for the message.</param>
    /// <param name="what">What a listing counts ("steps", "records"), for the message.</param>
    /// <param name="afterEach">Given the listing's result and whether this repetition is measured (not a warm-up).</param>
    public static ListingRepetitions? Run<T>(string command, string what, string directory, int repetitions,
        Func<CheckpointHandler, string, T> list, Func<T, int> count, Action? beforeEach = null, Action<T, bool>? afterEach = null)
    {
        if (repetitions < 1 || !Directory.Exists(directory))
        {
            // A timing of "0 steps" from a mistyped folder, or medians of no repetition, would read as a measurement.
            Console.Error.WriteLine($"{command}: need an existing checkpoint directory and at least one repetition (got '{directory}', {repetitions})");
            return null;
        }

        using var handler = new CheckpointHandler();
        using var process = Process.GetCurrentProcess();
        var timing = new ListingRepetitions();
        for (var rep = -2; rep < repetitions; rep++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            beforeEach?.Invoke();
            process.Refresh();
            var cpuBefore = process.TotalProcessorTime;
            var threadBefore = SmallLeavesProfile.ThreadCpu();
            var bytesBefore = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            var listed = list(handler, directory);
            var elapsed = clock.Elapsed.TotalMilliseconds;
            var thread = (SmallLeavesProfile.ThreadCpu() - threadBefore).TotalMilliseconds;
            var bytes = GC.GetAllocatedBytesForCurrentThread() - bytesBefore;
            process.Refresh();
            var used = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds;
            var n = count(listed);
            if (timing.Count >= 0 && n != timing.Count)
            {
                throw new InvalidOperationException($"listed {n} {what}, expected {timing.Count}");
            }

            timing.Count = n;
            afterEach?.Invoke(listed, rep >= 0);
            if (rep >= 0)
            {
                timing.Wall.Add(elapsed);
                timing.ProcessCpu.Add(used);
                timing.ThreadCpu.Add(thread);
                timing.Allocated.Add(bytes / 1048576.0);
            }
        }

        return timing;
    }
}
