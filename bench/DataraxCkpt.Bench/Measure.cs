using System.Diagnostics;

namespace DataraxCkpt.Bench;

/// <summary>Times one operation after a full collection, with its own peak-RSS window.</summary>
internal static class Measure
{
    public static Sample Run(Action operation)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        ProcessMemory.ResetPeak();
        var before = ProcessMemory.Rss();
        var clock = Stopwatch.StartNew();
        operation();
        clock.Stop();
        return new Sample(clock.Elapsed.TotalSeconds, Math.Max(0, ProcessMemory.Peak() - before));
    }

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.OrderBy(v => v).ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
