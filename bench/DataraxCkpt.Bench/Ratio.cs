using System.Globalization;

namespace DataraxCkpt.Bench;

/// <summary>Speed ratios between rows of a report, and the targets judged on them.</summary>
internal static class Ratio
{
    /// <summary>How many times faster <paramref name="engine"/> ran than <paramref name="baseline"/> (baseline time / engine time).</summary>
    public static double? Of(ResultRow? engine, ResultRow? baseline) =>
        engine is null || baseline is null ? null : baseline.MedianSeconds / engine.MedianSeconds;

    /// <summary>A target "engine at least <paramref name="atLeast"/>× baseline".</summary>
    public static Target AtLeast(string goal, ResultRow? engine, ResultRow? baseline, double atLeast)
    {
        var ratio = Of(engine, baseline);
        if (ratio is null)
        {
            return new Target(goal, $"not judged: {(baseline is null ? "baseline" : "engine")} not measured", null);
        }

        var measured = string.Create(CultureInfo.InvariantCulture,
            $"{ratio:F2}× ({engine!.MegabytesPerSecond:F0} vs {baseline!.MegabytesPerSecond:F0} MB/s; {(ratio >= atLeast ? "meets" : "misses")} {atLeast:F2}× by {Math.Abs(ratio.Value / atLeast - 1) * 100:F0}%)");
        return new Target(goal, measured, ratio >= atLeast);
    }

    /// <summary>
    /// A target "engine at least <paramref name="atLeast"/>× baseline" judged on the median of per-pair ratios: the
    /// two rows' samples were taken as pairs adjacent in time (sample i of one with sample i of the other, which
    /// of the two ran first alternating), so each ratio compares runs that saw the same load.
    /// </summary>
    public static Target PairedAtLeast(string goal, ResultRow? engine, ResultRow? baseline, double atLeast)
    {
        if (engine is null || baseline is null)
        {
            return new Target(goal, $"not judged: {(baseline is null ? "baseline" : "engine")} not measured", null);
        }

        var paired = PairedRatio.Of(engine.Seconds, baseline.Seconds);
        if (paired is null)
        {
            return new Target(goal, string.Create(CultureInfo.InvariantCulture,
                $"not judged, {(engine.Seconds.Count == 0 ? "no measured pairs" : "a time that is not a positive finite number")} ({engine.Seconds.Count} engine and {baseline.Seconds.Count} baseline times)"), null);
        }

        var measured = string.Create(CultureInfo.InvariantCulture,
            $"{paired.Describe()}; row medians {engine.MegabytesPerSecond:F0} vs {baseline.MegabytesPerSecond:F0} MB/s; {(paired.Median >= atLeast ? "meets" : "misses")} {atLeast:F2}× by {Math.Abs(paired.Median / atLeast - 1) * 100:F0}%");
        return new Target(goal, measured, paired.Median >= atLeast);
    }

    /// <summary>A peak-memory target: growth of the process's peak RSS during the operation within a budget.</summary>
    public static Target PeakWithin(string goal, ResultRow? row, long budgetBytes)
    {
        if (row is null)
        {
            return new Target(goal, "not measured", null);
        }

        var peak = row.MaxPeakGrowthBytes;
        return new Target(goal, string.Create(CultureInfo.InvariantCulture,
            $"peak RSS +{peak / 1048576.0:F0} MiB over the RSS before the operation (budget {budgetBytes / 1048576.0:F0} MiB)"), peak <= budgetBytes);
    }
}
