using System.Diagnostics;
using System.Globalization;

namespace DataraxCkpt.Bench;

/// <summary>
/// The bench's (d) operation alone, <c>handler.ListCheckpoints(dir)</c> repeated on one store (the loop of
/// <see cref="ListingRepetitions"/>), for comparing two builds run alternately (docs/performance-notes.md, round 44): per
/// listing the wall time, the process's and the calling thread's CPU time, the bytes the calling thread allocated,
/// collections during the listing and the rise of the peak RSS; medians and minimums. Reading the first 10,000
/// records' metadata and path afterwards is timed on its own, per record, so a lazier record cannot hide its cost.
/// DataraxCkpt.Bench listtime DIR [REPS] (DIR built by <c>DataraxCkpt.Bench store DIR STEPS</c>).
/// </summary>
internal static class ListTiming
{
    private const int TouchedRecords = 10_000;

    public static int Run(string directory, int repetitions)
    {
        var peak = new List<double>();
        var touch = new List<double>();
        var collections = 0;
        long rss = 0;
        var gcs = 0;
        void BeforeEach()
        {
            ProcessMemory.ResetPeak();
            rss = ProcessMemory.Rss();
            gcs = GC.CollectionCount(0);
        }

        void AfterEach(IReadOnlyList<CheckpointInfo> records, bool measured)
        {
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
            GC.KeepAlive(entries);
            if (measured)
            {
                peak.Add(risen / 1048576.0);
                touch.Add(touched);
                collections += listingGcs;
            }
        }

        var timing = ListingRepetitions.Run("listtime", "records", directory, repetitions, (handler, dir) => handler.ListCheckpoints(dir), records => records.Count,
            BeforeEach, AfterEach);
        if (timing is null)
        {
            return 2;
        }

        var (wall, cpu, own, allocated) = (timing.Wall, timing.ProcessCpu, timing.ThreadCpu, timing.Allocated);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{timing.Count:N0} records, {repetitions} listings, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}: wall {Measure.Median(wall):F1} (min {wall.Min():F1}) ms, process CPU {Measure.Median(cpu):F1} (min {cpu.Min():F1}) ms, "
            + $"thread CPU {Measure.Median(own):F1} (min {own.Min():F1}) ms, allocated {Measure.Median(allocated):F2} MiB, peak RSS rise {Measure.Median(peak):F1} (max {peak.Max():F1}) MiB, gen0 GCs {collections}, "
            + $"then reading a record's Metadata and Path {Measure.Median(touch):F2} µs"));
        return 0;
    }
}
