using System.Diagnostics;
using System.Globalization;

namespace DataraxCkpt.Bench;

/// <summary>
/// The bench's (d) operation alone, <c>handler.ListCheckpoints(dir)</c> after the same forced compacting collection as
/// <see cref="Measure.Run"/>, repeated on one store, for comparing two builds run alternately (docs/performance-notes.md,
/// round 44): per listing the wall time, the process's and the calling thread's CPU time, the bytes the calling thread
/// allocated, collections during the listing and the rise of the peak RSS; medians and minimums. Reading the first 10,000
/// records' metadata and path afterwards is timed on its own, per record, so a lazier record cannot hide its cost.
/// DataraxCkpt.Bench listtime DIR [REPS] (DIR built by <c>DataraxCkpt.Bench store DIR STEPS</c>).
/// </summary>
internal static class ListTiming
{
    private const int TouchedRecords = 10_000;

    public static int Run(string directory, int repetitions)
    {
        if (repetitions < 1 || !Directory.Exists(directory))
        {
            // A timing of "0 records" from a mistyped folder, or medians of no repetition, would read as a measurement.
            Console.Error.WriteLine($"listtime: need an existing checkpoint directory and at least one repetition (got '{directory}', {repetitions})");
            return 2;
        }

        using var handler = new CheckpointHandler();
        using var process = Process.GetCurrentProcess();
        var wall = new List<double>();
        var cpu = new List<double>();
        var own = new List<double>();
        var allocated = new List<double>();
        var peak = new List<double>();
        var touch = new List<double>();
        var collections = 0;
        var count = 0;
        for (var rep = -2; rep < repetitions; rep++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            ProcessMemory.ResetPeak();
            var rss = ProcessMemory.Rss();
            var gcs = GC.CollectionCount(0);
            process.Refresh();
            var cpuBefore = process.TotalProcessorTime;
            var threadBefore = SmallLeavesProfile.ThreadCpu();
            var bytesBefore = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            var records = handler.ListCheckpoints(directory);
            var elapsed = clock.Elapsed.TotalMilliseconds;
            var thread = (SmallLeavesProfile.ThreadCpu() - threadBefore).TotalMilliseconds;
            var bytes = GC.GetAllocatedBytesForCurrentThread() - bytesBefore;
            process.Refresh();
            var used = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds;
            var risen = Math.Max(0, ProcessMemory.Peak() - rss);
            var listingGcs = GC.CollectionCount(0) - gcs;
            var touchClock = Stopwatch.StartNew();
            var entries = 0;
            var touchedRecords = Math.Min(records.Count, TouchedRecords);
            for (var i = 0; i < touchedRecords; i++)
            {
                entries += records[i].Metadata.Count + (records[i].Path.Length > 0 ? 1 : 0);
            }

            var touched = touchClock.Elapsed.TotalMilliseconds * 1000 / Math.Max(1, touchedRecords);
            if (count > 0 && records.Count != count)
            {
                throw new InvalidOperationException($"listed {records.Count} records, expected {count}");
            }

            count = records.Count;
            GC.KeepAlive(entries);
            if (rep >= 0)
            {
                wall.Add(elapsed);
                cpu.Add(used);
                own.Add(thread);
                allocated.Add(bytes / 1048576.0);
                peak.Add(risen / 1048576.0);
                touch.Add(touched);
                collections += listingGcs;
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{count:N0} records, {repetitions} listings, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}: wall {Median(wall):F1} (min {wall.Min():F1}) ms, process CPU {Median(cpu):F1} (min {cpu.Min():F1}) ms, "
            + $"thread CPU {Median(own):F1} (min {own.Min():F1}) ms, allocated {Median(allocated):F2} MiB, peak RSS rise {Median(peak):F1} (max {peak.Max():F1}) MiB, gen0 GCs {collections}, "
            + $"then reading a record's Metadata and Path {Median(touch):F2} µs"));
        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
