using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Inspection;

/// <summary>
/// GetStatistics gives, per tensor leaf, the numbers a user would compute by restoring the tensor and
/// looping over it: each expectation here is computed independently in the test (by hand or by a plain
/// double loop), including NaN, ±∞, −0.0, empty tensors, f16, integer and bool tensors, and tensors of
/// many chunks.
/// </summary>
public sealed class TensorStatisticsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public TensorStatisticsTests() => _ck = _dir.Sub("ck");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private TensorStatistics StatsOf(object tensor, string name = "t")
    {
        _handler.Save(_ck, new Dictionary<string, object?> { [name] = tensor }, step: 1, overwrite: true);
        return Assert.Single(_handler.GetStatistics(_ck, 1));
    }

    [Fact]
    public void Float_statistics_count_NaN_and_infinities_and_average_only_finite_elements()
    {
        var s = StatsOf(new[] { 1f, -2f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 0f, 3f, float.NaN });

        Assert.Equal(9, s.Count);
        Assert.Equal(2, s.NaNCount);
        Assert.Equal(1, s.PositiveInfinityCount);
        Assert.Equal(1, s.NegativeInfinityCount);
        Assert.Equal(2, s.ZeroCount); // −0.0 and +0.0
        Assert.False(s.IsFinite);
        Assert.Equal(double.NegativeInfinity, s.Min);
        Assert.Equal(double.PositiveInfinity, s.Max);
        // Finite elements: 1, −2, −0, 0, 3 → mean 2/5, population variance (Σx² / n) − mean² = 14/5 − 4/25.
        Assert.Equal(0.4, s.Mean!.Value, 15);
        Assert.Equal(Math.Sqrt(14.0 / 5 - 0.16), s.StandardDeviation!.Value, 14);
        Assert.Equal(Math.Sqrt(14), s.L2Norm!.Value, 14);
        Assert.Equal("f32", s.DType);
        Assert.Equal(new long[] { 9 }, s.Shape);
        Assert.Equal("t", s.Item);
        Assert.Equal(1, s.Step);
    }

    [Fact]
    public void Min_and_max_of_a_finite_float_tensor_skip_nothing_and_are_exact()
    {
        var s = StatsOf(new[,] { { 0.5, -7.25 }, { 1e300, -1e-300 } });
        Assert.Equal(-7.25, s.Min);
        Assert.Equal(1e300, s.Max);
        Assert.True(s.IsFinite);
        Assert.Equal(new long[] { 2, 2 }, s.Shape);
        Assert.Equal(0, s.ZeroCount);
    }

    [Fact]
    public void The_deviation_of_values_far_from_zero_does_not_cancel()
    {
        // Σx² − (Σx)²/n would lose every digit here; the expected value is exact: sqrt(2/3).
        var values = Enumerable.Range(0, 3000).Select(i => 1e9 + (i % 3) + 1).ToArray();
        var s = StatsOf(values);
        Assert.Equal(1e9 + 2, s.Mean);
        Assert.Equal(Math.Sqrt(2.0 / 3), s.StandardDeviation!.Value, 6);
    }

    [Fact]
    public void Finite_values_whose_sum_overflows_are_still_counted_as_finite()
    {
        var s = StatsOf(new[] { double.MaxValue, double.MaxValue, 1.0 });
        Assert.True(s.IsFinite);
        Assert.Equal(1.0, s.Min);
        Assert.Equal(double.MaxValue, s.Max);
        Assert.Equal(double.PositiveInfinity, s.Mean);
    }

    [Fact]
    public void An_all_NaN_tensor_has_no_min_max_mean_or_deviation_and_a_zero_norm()
    {
        var s = StatsOf(new[] { float.NaN, float.NaN, float.NaN });
        Assert.Equal(3, s.NaNCount);
        Assert.Null(s.Min);
        Assert.Null(s.Max);
        Assert.Null(s.Mean);
        Assert.Null(s.StandardDeviation);
        Assert.Equal(0, s.L2Norm);
    }

    [Fact]
    public void A_tensor_of_only_positive_infinity_and_NaN_has_infinity_as_min_and_max()
    {
        var s = StatsOf(new[] { double.PositiveInfinity, double.NaN });
        Assert.Equal(double.PositiveInfinity, s.Min);
        Assert.Equal(double.PositiveInfinity, s.Max);
        Assert.Null(s.Mean);
    }

    [Fact]
    public void An_empty_tensor_has_count_zero_null_min_max_mean_deviation_and_norm_zero()
    {
        var s = StatsOf(new float[0, 5]);
        Assert.Equal(0, s.Count);
        Assert.Equal(0, s.NaNCount + s.PositiveInfinityCount + s.NegativeInfinityCount + s.ZeroCount);
        Assert.Null(s.Min);
        Assert.Null(s.Max);
        Assert.Null(s.Mean);
        Assert.Null(s.StandardDeviation);
        Assert.Equal(0, s.L2Norm);
        Assert.True(s.IsFinite);
        Assert.Equal(new long[] { 0, 5 }, s.Shape);
    }

    [Fact]
    public void Half_tensors_are_widened_exactly_with_NaN_infinity_and_negative_zero()
    {
        var s = StatsOf(new[] { (Half)1.5, (Half)(-2), Half.NaN, Half.PositiveInfinity, Half.NegativeZero, (Half)65504 });
        Assert.Equal("f16", s.DType);
        Assert.Equal(1, s.NaNCount);
        Assert.Equal(1, s.PositiveInfinityCount);
        Assert.Equal(1, s.ZeroCount);
        Assert.Equal(-2, s.Min);
        Assert.Equal(double.PositiveInfinity, s.Max);
        Assert.Equal((1.5 - 2 + 0 + 65504) / 4, s.Mean!.Value, 12);
        Assert.Equal(Math.Sqrt(1.5 * 1.5 + 4 + 65504.0 * 65504), s.L2Norm!.Value, 9);
    }

    [Fact]
    public void Subnormals_and_NaN_payloads_are_widened_exactly_in_every_float_dtype()
    {
        // Half: the smallest subnormal 2^-24, the largest subnormal (1023·2^-24), −65504, and a NaN with a payload.
        var halfNaN = BitConverter.UInt16BitsToHalf(0xFE01);
        var h = StatsOf(new[] { BitConverter.UInt16BitsToHalf(1), BitConverter.UInt16BitsToHalf(0x03FF), (Half)(-65504), halfNaN });
        Assert.Equal(1, h.NaNCount);
        Assert.Equal(-65504, h.Min);
        Assert.Equal(1023 * Math.Pow(2, -24), h.Max);
        Assert.Equal(((1024 * Math.Pow(2, -24)) - 65504) / 3, h.Mean);

        // f32 subnormal and a signalling-style NaN payload; f64 subnormal (double.Epsilon) and a negative NaN.
        var floatNaN = BitConverter.Int32BitsToSingle(unchecked((int)0xFF800001));
        var f = StatsOf(new[] { float.Epsilon, -float.Epsilon * 3, floatNaN, -0f });
        Assert.Equal(1, f.NaNCount);
        Assert.Equal(-3 * (double)float.Epsilon, f.Min);
        Assert.Equal((double)float.Epsilon, f.Max);
        Assert.Equal(1, f.ZeroCount);
        Assert.Equal(-2 * (double)float.Epsilon / 3, f.Mean);

        var d = StatsOf(new[] { double.Epsilon, BitConverter.Int64BitsToDouble(unchecked((long)0xFFF0000000000002)), 2 * double.Epsilon });
        Assert.Equal(1, d.NaNCount);
        Assert.Equal(0, d.PositiveInfinityCount + d.NegativeInfinityCount);
        Assert.Equal(double.Epsilon, d.Min);
        Assert.Equal(2 * double.Epsilon, d.Max);
        Assert.Equal(2, d.Count - d.NaNCount);
    }

    [Fact]
    public void A_char_tensor_reads_as_its_code_units_and_a_one_element_tensor_has_deviation_zero()
    {
        var c = StatsOf(new[] { 'A', '\uFFFF', '\0' });
        Assert.Equal(0, c.Min);
        Assert.Equal(65535, c.Max);
        Assert.Equal((65.0 + 65535) / 3, c.Mean);
        Assert.Equal(1, c.ZeroCount);

        var one = StatsOf(new[] { -3.5f });
        Assert.Equal(1, one.Count);
        Assert.Equal(-3.5, one.Mean);
        Assert.Equal(0, one.StandardDeviation);
        Assert.Equal(3.5, one.L2Norm);
    }

    [Fact]
    public void Integer_tensors_give_exact_statistics_and_no_NaN_or_infinity()
    {
        var s = StatsOf(new[] { 0, -5, 7, 0, int.MaxValue, int.MinValue });
        Assert.Equal("i32", s.DType);
        Assert.Equal(2, s.ZeroCount);
        Assert.Equal(0, s.NaNCount + s.PositiveInfinityCount + s.NegativeInfinityCount);
        Assert.Equal(int.MinValue, s.Min);
        Assert.Equal(int.MaxValue, s.Max);
        Assert.Equal((-5.0 + 7 + int.MaxValue + (double)int.MinValue) / 6, s.Mean!.Value, 12);

        var l = StatsOf(new[] { 3L, 4L });
        Assert.Equal(5, l.L2Norm);
        Assert.Equal(3.5, l.Mean);
        Assert.Equal(0.5, l.StandardDeviation);

        var b = StatsOf(new byte[] { 255, 0, 1 });
        Assert.Equal(255, b.Max);
        Assert.Equal(0, b.Min);
        Assert.Equal("u8", b.DType);
    }

    [Fact]
    public void Bool_tensors_read_false_as_0_and_true_as_1()
    {
        var s = StatsOf(new[] { true, false, true, true });
        Assert.Equal("bool", s.DType);
        Assert.Equal(4, s.Count);
        Assert.Equal(1, s.ZeroCount);
        Assert.Equal(0, s.Min);
        Assert.Equal(1, s.Max);
        Assert.Equal(0.75, s.Mean);
        Assert.Equal(Math.Sqrt(0.75 * 0.25), s.StandardDeviation!.Value, 15);
        Assert.Equal(Math.Sqrt(3), s.L2Norm!.Value, 15);
    }

    [Fact]
    public void Statistics_of_a_tensor_of_many_chunks_match_a_plain_loop_over_the_restored_array()
    {
        // 12 MiB of float32: three full chunks; NaN and infinities placed at chunk boundaries.
        var random = new Random(16);
        var values = new float[3 * (1 << 20) + 123];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)(random.NextDouble() * 200 - 50);
        }

        values[(1 << 20) - 1] = float.NaN;
        values[1 << 20] = float.PositiveInfinity;
        values[2 << 20] = 0f;
        values[^1] = float.NegativeInfinity;

        var s = StatsOf(values);

        long nan = 0, pos = 0, neg = 0, zero = 0, finite = 0;
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, squares = 0;
        foreach (var v in values)
        {
            if (float.IsNaN(v)) { nan++; continue; }
            if (float.IsPositiveInfinity(v)) { pos++; }
            else if (float.IsNegativeInfinity(v)) { neg++; }
            else { finite++; sum += v; squares += (double)v * v; if (v == 0) { zero++; } }
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        var mean = sum / finite;
        double deviations = 0;
        foreach (var v in values)
        {
            if (float.IsFinite(v)) { deviations += (v - mean) * (v - mean); }
        }

        Assert.Equal(values.Length, s.Count);
        Assert.Equal((nan, pos, neg, zero), (s.NaNCount, s.PositiveInfinityCount, s.NegativeInfinityCount, s.ZeroCount));
        Assert.Equal(min, s.Min);
        Assert.Equal(max, s.Max);
        Assert.Equal(mean, s.Mean!.Value, 1e-9);
        Assert.Equal(Math.Sqrt(deviations / finite), s.StandardDeviation!.Value, 1e-9);
        Assert.Equal(Math.Sqrt(squares), s.L2Norm!.Value, 1e-6);
    }

    [Fact]
    public void A_tensor_of_ones_over_many_chunks_has_mean_exactly_1_and_the_right_count()
    {
        // 64 MiB of float32 ones: 16 chunks.
        var values = new float[16 << 20];
        Array.Fill(values, 1f);
        var s = StatsOf(values);
        Assert.Equal(16L << 20, s.Count);
        Assert.Equal(1.0, s.Mean);
        Assert.Equal(0.0, s.StandardDeviation);
        Assert.Equal(4096.0, s.L2Norm);
        Assert.Equal(1.0, s.Min);
        Assert.Equal(1.0, s.Max);
    }

    [Fact]
    public void Shuffled_tensors_are_unshuffled_before_their_statistics_are_taken()
    {
        var values = Enumerable.Range(0, 100_000).Select(i => i * 0.5).ToArray();
        var s = StatsOf(values);
        using (var reader = OpenManifest(1))
        {
            Assert.Equal("shuffle", reader.Tensors[0].Filter);
        }

        Assert.Equal(0, s.Min);
        Assert.Equal(49_999.5, s.Max);
        Assert.Equal(49_999.5 / 2, s.Mean);
        Assert.Equal(1, s.ZeroCount);
    }

    [Fact]
    public void Item_patterns_select_tensor_leaves_as_partial_restore_does_and_skip_other_leaves()
    {
        var shared = new[] { 1f, 2f };
        _handler.Save(_ck, new Dictionary<string, object?>
        {
            ["params"] = new Dictionary<string, object?> { ["w"] = shared, ["tied"] = shared, ["b"] = new[] { 5.0 } },
            ["opt"] = new Dictionary<string, object?> { ["m"] = new[] { 3 }, ["lr"] = 0.1 },
            ["name"] = "run",
        }, step: 7);

        var all = _handler.GetStatistics(_ck, 7);
        Assert.Equal(new[] { "params/w", "params/tied", "params/b", "opt/m" }, all.Select(s => s.Item));
        Assert.Equal(all.Select(a => a.Item), _handler.GetItems(_ck, 7).Where(i => i.Kind == "tensor").Select(i => i.Name));

        var selected = _handler.GetStatistics(_ck, 7, ["params/*"]);
        Assert.Equal(new[] { "params/w", "params/tied", "params/b" }, selected.Select(s => s.Item));
        Assert.Equal(1.5, selected[1].Mean);
        Assert.Empty(_handler.GetStatistics(_ck, 7, ["opt/lr", "nothing*"]));
    }

    [Fact]
    public void Statistics_after_an_overwrite_describe_the_new_values()
    {
        Assert.True(StatsOf(new[] { 1f, 2f }).IsFinite);
        var after = StatsOf(new[] { float.NaN, 5f, 7f });
        Assert.Equal(3, after.Count);
        Assert.Equal(1, after.NaNCount);
        Assert.Equal(6.0, after.Mean);
    }

    [Fact]
    public void A_missing_step_or_directory_raises_the_engine_errors()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["t"] = new[] { 1f } }, step: 1);
        Assert.Throws<StepNotFoundException>(() => _handler.GetStatistics(_ck, 2));
        Assert.Throws<CheckpointDirectoryNotFoundException>(() => _handler.GetStatistics(_dir.Sub("nowhere"), 1));
    }

    [Fact]
    public void A_damaged_chunk_raises_CorruptCheckpointException_naming_the_item()
    {
        var values = new float[300_000];
        new Random(3).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        _handler.Save(_ck, new Dictionary<string, object?> { ["weights"] = values }, step: 1);
        var data = Path.Combine(_ck, "1", "tensors.lz4");
        using (var file = File.OpenWrite(data))
        {
            file.Position = 100_000;
            file.WriteByte(0x5A);
            file.Position = 100_001;
            file.WriteByte(0xA5);
        }

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.GetStatistics(_ck, 1));
        Assert.Equal("weights", e.Item);
        Assert.Equal(1, e.Step);
    }

    [Fact]
    public void A_cancelled_token_stops_statistics_with_OperationCanceledException()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["t"] = new float[3 << 20] }, step: 1);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => _handler.GetStatistics(_ck, 1, cancellationToken: cts.Token));
    }

    private StepManifest OpenManifest(long step)
    {
        var folder = Path.Combine(_ck, step.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var manifest = File.ReadAllBytes(Path.Combine(folder, StepFormat.ManifestFile));
        return StepReader.ParseManifestFile(manifest, new FileInfo(Path.Combine(folder, StepFormat.DataFile)).Length);
    }
}
