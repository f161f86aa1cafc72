using System.Globalization;

namespace DataraxCkpt.Bench;

/// <summary>
/// The ratio of two operations measured as pairs adjacent in time (baseline time / engine time of each pair),
/// summarised by the median of the per-pair ratios and its spread. Two runs adjacent in time see the same
/// load, so the per-pair ratio cancels most of what a shared machine adds to both; the median of the ratios
/// is then far steadier than the ratio of two medians taken over minutes. bench/PairedRatio.ps1 computes the
/// same for scenario (e) (same quantile definition; tests hold both to the same figures).
/// </summary>
internal sealed class PairedRatio
{
    private PairedRatio(double[] ratios)
    {
        Ratios = ratios;
        var sorted = ratios.Order().ToArray();
        Median = Quantile(sorted, 0.5);
        LowerQuartile = Quantile(sorted, 0.25);
        UpperQuartile = Quantile(sorted, 0.75);
        Min = sorted[0];
        Max = sorted[^1];
    }

    /// <summary>Baseline time / engine time of each pair, in the order measured (above 1: the engine was faster).</summary>
    public IReadOnlyList<double> Ratios { get; }

    public int Count => Ratios.Count;

    public double Median { get; }

    public double LowerQuartile { get; }

    public double UpperQuartile { get; }

    public double Min { get; }

    public double Max { get; }

    /// <summary>
    /// The per-pair ratios of <paramref name="engineSeconds"/>[i] and <paramref name="baselineSeconds"/>[i]; null when
    /// there is no pair or a time is not a positive finite number (a zero engine time would read as an infinitely
    /// fast engine and sort as the best pair; a NaN sorts first): such a comparison is not judged.
    /// </summary>
    public static PairedRatio? Of(IReadOnlyList<double> engineSeconds, IReadOnlyList<double> baselineSeconds)
    {
        ArgumentNullException.ThrowIfNull(engineSeconds);
        ArgumentNullException.ThrowIfNull(baselineSeconds);
        if (engineSeconds.Count != baselineSeconds.Count)
        {
            throw new ArgumentException($"{engineSeconds.Count} engine times against {baselineSeconds.Count} baseline times: the pairs do not match", nameof(baselineSeconds));
        }

        if (engineSeconds.Count == 0 || !engineSeconds.Concat(baselineSeconds).All(s => double.IsFinite(s) && s > 0))
        {
            return null;
        }

        var ratios = new double[engineSeconds.Count];
        for (var i = 0; i < ratios.Length; i++)
        {
            ratios[i] = baselineSeconds[i] / engineSeconds[i];
        }

        return new PairedRatio(ratios);
    }

    /// <summary>
    /// The q-quantile of sorted values by linear interpolation between the two nearest ranks (numpy's default,
    /// Hyndman–Fan type 7): position q·(n−1).
    /// </summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var position = q * (sorted.Count - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
    }

    /// <summary>"1.02× median of 11 paired ratios (IQR 0.95–1.10, range 0.80–1.31)": the judged figure with its spread (no colon: the doc's target lines are parsed on it).</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Median:F2}× median of {Count} paired ratios (IQR {LowerQuartile:F2}–{UpperQuartile:F2}, range {Min:F2}–{Max:F2})");
}
