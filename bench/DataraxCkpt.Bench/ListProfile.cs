using System.Diagnostics;
using System.Globalization;
using DataraxCkpt.Storage;

namespace DataraxCkpt.Bench;

/// <summary>
/// A full listing of a store read on one connection against the same listing read in two halves on two
/// connections of one snapshot (docs/performance-notes.md, round 31 (session 11, list2)), alternating in one process: wall time
/// and the process's CPU time per listing, and the listing's own thread's CPU time (in two halves, the other half runs
/// on a second thread: on idle cores the wall time is the longer of the two), medians. DataraxCkpt.Bench listprofile DIR [REPS]
/// (DIR built by <c>DataraxCkpt.Bench store DIR STEPS</c>).
/// </summary>
internal static class ListProfile
{
    public static int Run(string directory, int repetitions)
    {
        var context = new CheckpointListingContext(directory, step => Path.Combine(directory, step.ToString(CultureInfo.InvariantCulture)),
            (_, _) => new Dictionary<string, object?>());
        var modes = new (string Name, long SplitFrom)[] { ("one connection", long.MaxValue), ("two halves", StepIndex.SplitListingFrom) };
        var wall = modes.Select(_ => new List<double>()).ToArray();
        var cpu = modes.Select(_ => new List<double>()).ToArray();
        var own = modes.Select(_ => new List<double>()).ToArray();
        var expected = -1;
        using var process = Process.GetCurrentProcess();
        for (var rep = -2; rep < repetitions; rep++)
        {
            for (var m = 0; m < modes.Length; m++)
            {
                // Alternate which mode goes first, so neither always follows the other's page cache and heap.
                var mode = (m + rep) % 2 == 0 ? m : 1 - m;
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                process.Refresh();
                var cpuBefore = process.TotalProcessorTime;
                var threadBefore = SmallLeavesProfile.ThreadCpu();
                var clock = Stopwatch.StartNew();
                int count;
                using (var index = StepIndex.Open(directory, create: false, upgrade: false))
                {
                    count = index.List(context, null, null, modes[mode].SplitFrom).Count;
                }

                var elapsed = clock.Elapsed.TotalMilliseconds;
                var thread = (SmallLeavesProfile.ThreadCpu() - threadBefore).TotalMilliseconds;
                process.Refresh();
                var used = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds;
                if (expected >= 0 && count != expected)
                {
                    throw new InvalidOperationException($"listed {count} records, expected {expected}");
                }

                expected = count;
                if (rep >= 0)
                {
                    wall[mode].Add(elapsed);
                    cpu[mode].Add(used);
                    own[mode].Add(thread);
                }
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{expected:N0} records, {repetitions} listings each ({StepIndex.SplitListings} read in two halves), load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
        for (var m = 0; m < modes.Length; m++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{modes[m].Name,-15} wall median {Median(wall[m]):F1} ms (min {wall[m].Min():F1}), process CPU median {Median(cpu[m]):F1} ms (min {cpu[m].Min():F1}), listing thread CPU median {Median(own[m]):F1} ms (min {own[m].Min():F1})"));
        }

        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
