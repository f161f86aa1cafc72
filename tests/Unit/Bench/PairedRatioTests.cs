using DataraxCkpt.Bench;

namespace DataraxCkpt.Tests.Bench;

/// <summary>
/// The bench judges its cheap ratio targets on the median of per-pair ratios (bench/DataraxCkpt.Bench/PairedRatio.cs):
/// each pair's two runs are adjacent in time, so a load burst that slows both leaves their ratio alone, while the ratio
/// of two medians taken over minutes moves with it. bench/PairedRatio.ps1 computes the same for scenario (e);
/// tests/Pester/BenchPairedRatio.Tests.ps1 holds it to the same figures.
/// </summary>
public sealed class PairedRatioTests
{
    [Fact]
    public void Each_pair_gives_baseline_time_over_engine_time_and_the_median_and_quartiles_interpolate_between_ranks()
    {
        var paired = PairedRatio.Of([1, 2, 4, 1, 1], [2, 2, 2, 3, 0.5])!;

        Assert.Equal([2, 1, 0.5, 3, 0.5], paired.Ratios);
        Assert.Equal(5, paired.Count);
        Assert.Equal(1, paired.Median);
        Assert.Equal(0.5, paired.LowerQuartile);
        Assert.Equal(2, paired.UpperQuartile);
        Assert.Equal(0.5, paired.Min);
        Assert.Equal(3, paired.Max);
    }

    [Fact]
    public void An_even_number_of_pairs_takes_the_mean_of_the_two_middle_ratios()
    {
        var paired = PairedRatio.Of([1, 1, 1, 1], [4, 1, 3, 2])!;

        Assert.Equal(2.5, paired.Median, 12);
        Assert.Equal(1.75, paired.LowerQuartile, 12);
        Assert.Equal(3.25, paired.UpperQuartile, 12);
    }

    [Fact]
    public void Times_that_do_not_pair_up_are_refused_and_no_pairs_give_no_ratio()
    {
        Assert.Throws<ArgumentException>(() => PairedRatio.Of([1, 2], [1]));
        Assert.Null(PairedRatio.Of([], []));
    }

    [Fact]
    public void The_description_gives_the_median_the_spread_and_the_number_of_pairs_without_a_colon()
    {
        var text = PairedRatio.Of([1, 2, 4, 1, 1], [2, 2, 2, 3, 0.5])!.Describe();

        Assert.Equal("1.00× median of 5 paired ratios (IQR 0.50–2.00, range 0.50–3.00)", text);
        Assert.DoesNotContain(":", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_load_burst_that_slows_both_sides_of_some_pairs_does_not_move_the_judged_ratio_as_it_moves_the_ratio_of_medians()
    {
        // In every pair the baseline takes 0.9 of the engine's time; the last three pairs ran under a load that made both
        // sides three times slower (the two runs of a pair see the same load).
        double[] engine = [1.0, 1.0, 3.0, 3.0, 3.0];
        double[] baseline = [0.9, 0.9, 2.7, 2.7, 2.7];
        var paired = PairedRatio.Of(engine, baseline)!;

        Assert.Equal(0.9, paired.Median, 12);
        Assert.Equal(0.9, paired.Min, 12);
        Assert.Equal(0.9, paired.Max, 12);

        // Unpaired, with the burst on three of the engine's runs but two of the baseline's, the ratio of the medians reads 0.30×.
        Assert.Equal(0.3, Measure.Median([0.9, 0.9, 0.9, 2.7, 2.7]) / Measure.Median([3.0, 3.0, 3.0, 1.0, 1.0]), 12);
    }

    [Fact]
    public void A_paired_target_is_met_on_the_median_of_the_per_pair_ratios_even_when_the_ratio_of_the_row_medians_misses()
    {
        var engine = Row("DataraxCkpt restore", 1.0, 2.0, 2.0);
        var baseline = Row("raw read into new arrays", 0.9, 1.8, 1.0);

        var target = Ratio.PairedAtLeast("(a) restore ≥ 0.85× raw read into new arrays", engine, baseline, 0.85);

        Assert.True(target.Met);
        Assert.StartsWith("0.90× median of 3 paired ratios (IQR 0.70–0.90, range 0.50–0.90); row medians", target.Measured, StringComparison.Ordinal);
        Assert.EndsWith("meets 0.85× by 6%", target.Measured, StringComparison.Ordinal);
        Assert.False(Ratio.AtLeast("ratio of the medians", engine, baseline, 0.85).Met);
    }

    [Fact]
    public void A_paired_target_whose_median_ratio_is_below_the_floor_is_missed_and_a_missing_row_is_not_judged()
    {
        var engine = Row("DataraxCkpt statistics", 2.0, 2.0, 2.0);
        var baseline = Row("DataraxCkpt restore of the same step", 1.0, 1.0, 1.9);

        Assert.False(Ratio.PairedAtLeast("(i) statistics ≥ 0.8× restore of the same step", engine, baseline, 0.8).Met);
        Assert.Null(Ratio.PairedAtLeast("(i) statistics ≥ 0.8× restore of the same step", engine, null, 0.8).Met);
    }

    [Fact]
    public void A_pair_with_a_zero_or_non_finite_time_gives_no_ratio_and_its_target_is_not_judged()
    {
        // A zero engine time would read as an infinitely fast engine (and sort as the best pair); a NaN as no figure.
        Assert.Null(PairedRatio.Of([0, 0, 1], [1, 1, 0.5]));
        Assert.Null(PairedRatio.Of([1, 1, 1], [1, double.NaN, 1]));
        Assert.Null(PairedRatio.Of([1, double.PositiveInfinity, 1], [1, 1, 1]));
        Assert.Null(PairedRatio.Of([1, 1, 1], [1, -1, 1]));

        var target = Ratio.PairedAtLeast("(a) restore ≥ 0.85× raw read into new arrays", Row("DataraxCkpt restore", 0, 0, 1), Row("raw read into new arrays", 1, 1, 0.5), 0.85);
        Assert.Null(target.Met);
        Assert.StartsWith("not judged", target.Measured, StringComparison.Ordinal);
        Assert.DoesNotContain(":", target.Measured, StringComparison.Ordinal);
    }

    [Fact]
    public void A_paired_target_over_rows_without_measured_pairs_is_not_judged()
    {
        var target = Ratio.PairedAtLeast("(i) statistics ≥ 0.8× restore of the same step", Row("DataraxCkpt statistics"), Row("DataraxCkpt restore of the same step"), 0.8);

        Assert.Null(target.Met);
        Assert.StartsWith("not judged", target.Measured, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unmeasured_first_call_stays_out_of_the_times_but_its_peak_memory_counts()
    {
        // The first restore pays the first touch of the destination arrays: kept out of the timing, but it is the restore a
        // user sees, so the peak RSS targets and the table's peak column hold it (they did before the pairs had a warm-up).
        var row = Row("DataraxCkpt restore", 0.3, 0.2, 0.25);
        row.AddUnmeasured(new Sample(0.9, 300L << 20));

        Assert.Equal(3, row.Seconds.Count);
        Assert.Equal(0.25, row.MedianSeconds, 12);
        Assert.Equal(300L << 20, row.MaxPeakGrowthBytes);
        Assert.False(Ratio.PeakWithin("(a) restore peak RSS ≤ 64 MiB", row, 64L << 20).Met);
    }

    private static ResultRow Row(string name, params double[] seconds)
    {
        var row = new ResultRow { Name = name, StateBytes = 1 << 20 };
        foreach (var s in seconds)
        {
            row.Add(new Sample(s, 0));
        }

        return row;
    }
}
