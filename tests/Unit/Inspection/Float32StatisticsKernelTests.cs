using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Inspection;

/// <summary>
/// Float32 statistics have their own kernel: min, max and zeros in float32 lanes, sums in double lanes
/// added plainly inside a 2,048-element block and combined across blocks with compensation. These pin
/// what a user sees at its edges: lengths around the 8-lane vector and the block, a block of only NaN
/// between finite ones, ±0.0 and subnormals, against a plain compensated double loop written here.
/// </summary>
public sealed class Float32StatisticsKernelTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public Float32StatisticsKernelTests() => _ck = _dir.Sub("ck");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private TensorStatistics StatsOf(float[] values)
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["t"] = values }, step: 1, overwrite: true);
        return Assert.Single(_handler.GetStatistics(_ck, 1));
    }

    /// <summary>Mean, population standard deviation and L2 norm of the finite values, by Kahan sums and two passes.</summary>
    private static (long Finite, double Mean, double Deviation, double L2) Reference(float[] values)
    {
        double sum = 0, compensation = 0, squares = 0;
        long finite = 0;
        foreach (var f in values)
        {
            if (!float.IsFinite(f))
            {
                continue;
            }

            finite++;
            var y = f - compensation;
            var t = sum + y;
            compensation = (t - sum) - y;
            sum = t;
            squares += (double)f * f;
        }

        var mean = sum / finite;
        double deviations = 0;
        foreach (var f in values)
        {
            if (float.IsFinite(f))
            {
                deviations += (f - mean) * (f - mean);
            }
        }

        return (finite, mean, Math.Sqrt(deviations / finite), Math.Sqrt(squares));
    }

    private static float[] Noise(int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = (float)((random.NextDouble() * 6) + 100);
        }

        return values;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(1023)]
    [InlineData(1024)]
    [InlineData(1025)]
    [InlineData(2047)]
    [InlineData(2048)]
    [InlineData(2049)]
    [InlineData((3 * 2048) + 13)]
    public void Statistics_at_vector_and_block_boundary_lengths_match_a_compensated_loop(int length)
    {
        var values = Noise(length, length);
        var s = StatsOf(values);
        var (_, mean, deviation, l2) = Reference(values);
        Assert.Equal(length, s.Count);
        Assert.Equal((0L, 0L, 0L, 0L), (s.NaNCount, s.PositiveInfinityCount, s.NegativeInfinityCount, s.ZeroCount));
        Assert.Equal((double)values.Min(), s.Min);
        Assert.Equal((double)values.Max(), s.Max);
        Assert.Equal(mean, s.Mean!.Value, 1e-14 * mean);
        // The data sit at 100 with a spread of 6: a deviation from Σx² − (Σx)²/n would lose digits here.
        Assert.Equal(deviation, s.StandardDeviation!.Value, length == 1 ? 0 : 1e-9 * deviation);
        Assert.Equal(l2, s.L2Norm!.Value, 1e-14 * l2);
    }

    [Theory]
    [InlineData(1023)]
    [InlineData(1024)]
    [InlineData(1025)]
    [InlineData(2049)]
    [InlineData((5 * 2048) + 3)]
    public void A_float32_tensor_of_ones_has_mean_exactly_1_deviation_0_and_norm_the_root_of_its_length(int length)
    {
        var s = StatsOf(Enumerable.Repeat(1f, length).ToArray());
        Assert.Equal(length, s.Count);
        Assert.Equal(1.0, s.Mean);
        Assert.Equal(0.0, s.StandardDeviation);
        Assert.Equal(Math.Sqrt(length), s.L2Norm);
        Assert.Equal((1.0, 1.0), (s.Min, s.Max));
    }

    [Fact]
    public void A_block_of_only_NaN_between_finite_blocks_is_counted_and_left_out_of_the_figures()
    {
        var values = Noise(3 * 2048, 3);
        Array.Fill(values, float.NaN, 2048, 2048);
        values[^1] = float.NegativeInfinity;
        values[5] = -7.5f;
        var s = StatsOf(values);
        var (finite, mean, deviation, l2) = Reference(values);
        Assert.Equal(2047 + 2048, finite);
        Assert.Equal(3 * 2048, s.Count);
        Assert.Equal(2048, s.NaNCount);
        Assert.Equal(1, s.NegativeInfinityCount);
        Assert.Equal(double.NegativeInfinity, s.Min);
        Assert.Equal((double)values.Where(float.IsFinite).Max(), s.Max);
        Assert.Equal(mean, s.Mean!.Value, 1e-14 * mean);
        Assert.Equal(deviation, s.StandardDeviation!.Value, 1e-9 * deviation);
        Assert.Equal(l2, s.L2Norm!.Value, 1e-14 * l2);
        Assert.False(s.IsFinite);
    }

    [Fact]
    public void Negative_and_positive_zero_count_as_zeros_and_subnormals_do_not()
    {
        // 2,048 + 5 values: zeros in the vector lanes and in the scalar tail, subnormals beside them.
        var values = Noise(2048 + 5, 4);
        values[0] = -0.0f;
        values[9] = 0.0f;
        values[100] = float.Epsilon;
        values[101] = -float.Epsilon;
        values[102] = -1e-40f;
        values[2048 + 2] = -0.0f;
        values[2048 + 4] = float.Epsilon;
        var s = StatsOf(values);
        Assert.Equal(3, s.ZeroCount);
        Assert.Equal(0, s.NaNCount);
        Assert.Equal((double)-1e-40f, s.Min);
        Assert.Equal((double)values.Max(), s.Max);
        var (_, mean, deviation, l2) = Reference(values);
        Assert.Equal(mean, s.Mean!.Value, 1e-13 * mean);
        Assert.Equal(deviation, s.StandardDeviation!.Value, 1e-9 * deviation);
        Assert.Equal(l2, s.L2Norm!.Value, 1e-14 * l2);
    }
}
