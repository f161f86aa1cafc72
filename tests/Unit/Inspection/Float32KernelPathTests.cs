using DataraxCkpt.Inspection;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Inspection;

/// <summary>
/// The float32 statistics and diff kernels exist at 512 and 256 bits; each test runs both (on a machine
/// without AVX-512 both runs take the 256-bit path) over lengths around the 16- and 8-lane vectors and the
/// 2,048-element block, fed block by block as the calculator feeds them, against a compensated two-pass
/// reference written here (statistics) or the general widened double path (diff), on inputs chosen to
/// break a careless kernel: a huge offset with a tiny spread, 1e30 beside 1e-30, NaN and ±∞ at vector
/// edges, all zeros, zeros only in a scalar tail.
/// </summary>
[Collection(SimdPathCollection.Name)]
public sealed class Float32KernelPathTests : IDisposable
{
    private const int Block = ElementWidening.BlockLength;

    public void Dispose() => SimdPaths.Allow512 = true;

    public static TheoryData<bool, int> PathsAndLengths()
    {
        var data = new TheoryData<bool, int>();
        foreach (var wide in new[] { true, false })
        {
            foreach (var length in new[] { 1, 7, 8, 9, 15, 16, 17, 31, 33, Block - 1, Block, Block + 1, Block + 15, (3 * Block) + 17 })
            {
                data.Add(wide, length);
            }
        }

        return data;
    }

    private static TensorStatistics Statistics(float[] values)
    {
        var result = default(ChunkStatistics);
        var widened = new double[Block];
        var scratch = new double[Block];
        for (var first = 0; first < values.Length; first += Block)
        {
            var n = Math.Min(Block, values.Length - first);
            result.AddSingles(values.AsSpan(first, n), widened.AsSpan(0, n), scratch);
        }

        return result.ToResult(1, "t", "f32", [values.Length]);
    }

    private static TensorDifference Difference(float[] before, float[] after, bool general)
    {
        var result = default(ChunkDifference);
        var a = new double[Block];
        var b = new double[Block];
        for (var first = 0; first < before.Length; first += Block)
        {
            var n = Math.Min(Block, before.Length - first);
            if (general)
            {
                for (var i = 0; i < n; i++)
                {
                    a[i] = before[first + i];
                    b[i] = after[first + i];
                }

                result.AddBlock(a.AsSpan(0, n), b.AsSpan(0, n));
            }
            else
            {
                result.AddSingles(before.AsSpan(first, n), after.AsSpan(first, n), a, b);
            }
        }

        return result.ToResult(1, 2, "t", "f32", [before.Length]);
    }

    /// <summary>Finite count, compensated mean, two-pass deviation, L2 norm and Σ|x| of the finite values.</summary>
    private static (long Finite, double Mean, double Deviation, double L2, double Magnitude) Reference(float[] values)
    {
        double sum = 0, compensation = 0, squares = 0, magnitude = 0;
        long finite = 0;
        foreach (var f in values.Where(float.IsFinite))
        {
            finite++;
            var y = f - compensation;
            var t = sum + y;
            compensation = (t - sum) - y;
            sum = t;
            squares += (double)f * f;
            magnitude += Math.Abs(f);
        }

        var mean = sum / finite;
        var deviations = values.Where(float.IsFinite).Sum(f => (f - mean) * (f - mean));
        return (finite, mean, Math.Sqrt(deviations / finite), Math.Sqrt(squares), magnitude);
    }

    private static void AssertMatchesReference(float[] values, TensorStatistics s, double deviationTolerance = 1e-9)
    {
        var (finite, mean, deviation, l2, magnitude) = Reference(values);
        Assert.Equal(values.Length, s.Count);
        Assert.Equal(values.LongCount(float.IsNaN), s.NaNCount);
        Assert.Equal(values.LongCount(float.IsPositiveInfinity), s.PositiveInfinityCount);
        Assert.Equal(values.LongCount(float.IsNegativeInfinity), s.NegativeInfinityCount);
        Assert.Equal(values.LongCount(v => v == 0), s.ZeroCount);
        Assert.Equal(finite, s.Count - s.NonFiniteCount);
        var finites = values.Where(float.IsFinite).ToArray();
        Assert.Equal(s.NegativeInfinityCount > 0 ? double.NegativeInfinity : finites.Min(), s.Min);
        Assert.Equal(s.PositiveInfinityCount > 0 ? double.PositiveInfinity : finites.Max(), s.Max);
        // The documented bound: the in-block error is below 2⁻⁴⁵ of Σ|x| (2⁻⁴⁴ here leaves room for the reference's own).
        Assert.Equal(mean, s.Mean!.Value, Math.Pow(2, -44) * magnitude / finite);
        Assert.Equal(deviation, s.StandardDeviation!.Value, deviationTolerance * deviation);
        Assert.Equal(l2, s.L2Norm!.Value, 1e-14 * l2);
    }

    private static float[] Noise(int length, int seed, double offset, double spread)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(offset + (random.NextDouble() * spread))).ToArray();
    }

    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void Statistics_of_noise_match_a_compensated_two_pass_reference_on_both_widths(bool wide, int length)
    {
        SimdPaths.Allow512 = wide;
        var values = Noise(length, length, -3, 6);
        AssertMatchesReference(values, Statistics(values));
    }

    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void A_huge_offset_with_a_tiny_spread_keeps_the_deviation_on_both_widths(bool wide, int length)
    {
        SimdPaths.Allow512 = wide;
        // 1e6 has a float32 step of 1/16: a spread of a few steps, 2²⁴ times smaller than the offset's square root of Σx².
        var random = new Random(length);
        var values = Enumerable.Range(0, length).Select(_ => 1e6f + (random.Next(4) / 16f)).ToArray();
        AssertMatchesReference(values, Statistics(values));
    }

    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void Values_of_1e30_beside_1e_minus_30_stay_within_the_documented_bound_on_both_widths(bool wide, int length)
    {
        SimdPaths.Allow512 = wide;
        var random = new Random(length);
        var values = Enumerable.Range(0, length)
            .Select(i => (random.Next(3) switch { 0 => 1e30f, 1 => -1e-30f, _ => 1e-30f }) * (1 + (i % 7 / 8f)))
            .ToArray();
        AssertMatchesReference(values, Statistics(values), 1e-12);
    }

    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void NaN_and_infinities_at_vector_edges_are_counted_and_left_out_on_both_widths(bool wide, int length)
    {
        SimdPaths.Allow512 = wide;
        // length + 3 values: +∞ at the 16th (or the second), −∞ and NaN after the first length, NaN mid-way.
        var values = Noise(length + 3, length, 10, 1);
        values[Math.Min(15, length)] = float.PositiveInfinity;
        values[length + 1] = float.NegativeInfinity;
        values[length + 2] = float.NaN;
        if (length > 32)
        {
            values[length / 2] = float.NaN;
        }
        var s = Statistics(values);
        AssertMatchesReference(values, s);
        Assert.False(s.IsFinite);
    }

    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void An_all_zero_tensor_counts_every_element_as_zero_on_both_widths(bool wide, int length)
    {
        SimdPaths.Allow512 = wide;
        var values = new float[length];
        for (var i = 0; i < length; i += 3)
        {
            values[i] = -0.0f;
        }

        var s = Statistics(values);
        Assert.Equal((length, length, 0.0, 0.0, 0.0), (s.Count, s.ZeroCount, s.Mean, s.StandardDeviation, s.L2Norm));
        Assert.Equal((0.0, 0.0), (Math.Abs(s.Min!.Value), Math.Abs(s.Max!.Value)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Zeros_in_the_vector_part_and_in_the_scalar_tail_are_each_counted_once(bool wide)
    {
        SimdPaths.Allow512 = wide;
        // Block 1: a zero in the vectors only; block 2 (2,048 + 13 elements): zeros only in its last 13.
        var values = Noise((2 * Block) + 13, 5, 1, 1);
        values[37] = 0f;
        values[^1] = -0.0f;
        values[^5] = 0f;
        var s = Statistics(values);
        Assert.Equal(3, s.ZeroCount);
        AssertMatchesReference(values, s);
    }

    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void Float32_diff_kernels_give_the_general_paths_counts_and_max_and_its_sums_within_rounding(bool wide, int length)
    {
        SimdPaths.Allow512 = wide;
        var before = Noise(length, length, -1, 2);
        var after = (float[])before.Clone();
        for (var i = 0; i < length; i += 3)
        {
            after[i] *= 1.001f;
        }

        after[0] = 1e30f;
        before[length - 1] = -0.0f;
        after[length - 1] = 0.0f;
        var kernel = Difference(before, after, general: false);
        var general = Difference(before, after, general: true);
        Assert.Equal(general.DifferentCount, kernel.DifferentCount);
        Assert.Equal(general.MaxAbsoluteDifference, kernel.MaxAbsoluteDifference);
        Assert.Equal(general.MeanAbsoluteDifference, kernel.MeanAbsoluteDifference, 1e-13 * general.MeanAbsoluteDifference);
        Assert.Equal(general.RelativeChange, kernel.RelativeChange, 1e-13 * general.RelativeChange);
    }

    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void A_NaN_or_infinity_on_either_side_takes_the_general_rules_on_both_widths(bool wide, int length)
    {
        SimdPaths.Allow512 = wide;
        var before = Noise(length, length, 0, 1);
        var after = (float[])before.Clone();
        after[length / 2] = float.PositiveInfinity;
        var kernel = Difference(before, after, general: false);
        Assert.Equal((1L, double.PositiveInfinity), (kernel.DifferentCount, kernel.MaxAbsoluteDifference));
        Assert.Equal(double.PositiveInfinity, kernel.RelativeChange);

        before[length - 1] = float.NaN;
        after[length - 1] = float.NaN;
        after[length / 2] = before[length / 2];
        kernel = Difference(before, after, general: false);
        Assert.Equal((length, 0L, 0.0, 0.0), (kernel.Count, kernel.DifferentCount, kernel.MaxAbsoluteDifference, kernel.RelativeChange));

        after[0] = float.NaN;
        kernel = Difference(before, after, general: false);
        Assert.Equal(length == 1 ? 0L : 1L, kernel.DifferentCount);
        Assert.Equal(length == 1 ? 0.0 : double.NaN, kernel.MaxAbsoluteDifference);
    }
}
