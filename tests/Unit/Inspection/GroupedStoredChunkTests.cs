using DataraxCkpt.Format;
using DataraxCkpt.Inspection;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Inspection;

/// <summary>
/// Statistics and numeric diffs read stored (incompressible) chunks in groups of up to four, straight into
/// pooled buffers with their checksums computed side by side (<see cref="StepReader.ReadStoredGroup"/>, the
/// read restore uses). These pin what a user sees of that: groups that mix tensors, end short of four or are
/// broken by a compressed chunk give the figures of a plain loop; a damaged chunk inside a group names its
/// item and no figures come back; a cancel stops the work between groups.
/// </summary>
public sealed class GroupedStoredChunkTests : IDisposable
{
    private const int ChunkFloats = Lz4Frame.BlockSize / sizeof(float);

    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public GroupedStoredChunkTests() => _ck = _dir.Sub("ck");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private static float[] Noise(int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = (float)(random.NextDouble() * 20 - 5);
        }

        return values;
    }

    private StepManifest OpenManifest(long step)
    {
        var folder = Path.Combine(_ck, step.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var manifest = File.ReadAllBytes(Path.Combine(folder, StepFormat.ManifestFile));
        return StepReader.ParseManifestFile(manifest, new FileInfo(Path.Combine(folder, StepFormat.DataFile)).Length);
    }

    private static void AssertStatisticsOf(float[] values, TensorStatistics s)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, squares = 0;
        long zeros = 0;
        foreach (var v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            sum += v;
            squares += (double)v * v;
            zeros += v == 0 ? 1 : 0;
        }

        var mean = sum / values.Length;
        double deviations = 0;
        foreach (var v in values)
        {
            deviations += (v - mean) * (v - mean);
        }

        Assert.Equal(values.Length, s.Count);
        Assert.Equal((0L, 0L, 0L, zeros), (s.NaNCount, s.PositiveInfinityCount, s.NegativeInfinityCount, s.ZeroCount));
        Assert.Equal(min, s.Min);
        Assert.Equal(max, s.Max);
        Assert.Equal(mean, s.Mean!.Value, 1e-9);
        Assert.Equal(Math.Sqrt(deviations / values.Length), s.StandardDeviation!.Value, 1e-9);
        Assert.Equal(Math.Sqrt(squares), s.L2Norm!.Value, 1e-6);
    }

    [Fact]
    public void Statistics_over_seven_stored_chunks_and_a_compressed_one_match_a_plain_loop_per_tensor()
    {
        // a: 6 stored chunks (the last short), b: 1 compressed chunk, c: 2 stored chunks, d: 1 stored chunk:
        // groups of 4 and 2 for a, then c and d after the compressed chunk breaks the run; 9 stored in all.
        var a = Noise((5 * ChunkFloats) + 12_345, 1);
        var b = new float[100_000];
        var c = Noise(ChunkFloats + 7, 2);
        var d = Noise(1001, 3);
        _handler.Save(_ck, new Dictionary<string, object?> { ["a"] = a, ["b"] = b, ["c"] = c, ["d"] = d }, step: 1);
        using (var manifest = OpenManifest(1))
        {
            var stored = manifest.Tensors.SelectMany(t => t.Chunks).Count(k => k.StoredLength == Lz4Frame.StoredFrameLength(k.RawLength));
            Assert.Equal(9, stored);
            Assert.Equal(10, manifest.Tensors.Sum(t => t.Chunks.Length));
        }

        var stats = _handler.GetStatistics(_ck, 1).ToDictionary(s => s.Item);
        AssertStatisticsOf(a, stats["a"]);
        AssertStatisticsOf(b, stats["b"]);
        AssertStatisticsOf(c, stats["c"]);
        AssertStatisticsOf(d, stats["d"]);
    }

    [Fact]
    public void A_diff_over_an_odd_number_of_stored_chunk_pairs_matches_a_plain_loop()
    {
        var a = Noise((4 * ChunkFloats) + 999, 4);
        var b = (float[])a.Clone();
        for (var k = 0; k < b.Length; k += 5)
        {
            b[k] += 0.25f;
        }

        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = a, ["z"] = new float[5000] }, step: 1);
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = b, ["z"] = new float[5000] }, step: 2);

        var all = _handler.CompareNumeric(_ck, 1, 2);
        var d = all.Single(x => x.Item == "w");
        long different = 0;
        double max = 0, sum = 0, squares = 0, norm = 0;
        for (var k = 0; k < a.Length; k++)
        {
            var delta = Math.Abs((double)a[k] - b[k]);
            different += delta != 0 ? 1 : 0;
            max = Math.Max(max, delta);
            sum += delta;
            squares += delta * delta;
            norm += (double)a[k] * a[k];
        }

        Assert.Equal(a.Length, d.Count);
        Assert.Equal(different, d.DifferentCount);
        Assert.Equal(max, d.MaxAbsoluteDifference);
        Assert.Equal(sum / a.Length, d.MeanAbsoluteDifference, 1e-12);
        Assert.Equal(Math.Sqrt(squares) / Math.Sqrt(norm), d.RelativeChange, 1e-12);
        Assert.Equal((5000L, 0L), (all.Single(x => x.Item == "z").Count, all.Single(x => x.Item == "z").DifferentCount));
    }

    /// <summary>Flips a byte inside the bytes of the first chunk of <paramref name="tensor"/> (a stored chunk).</summary>
    private void DamageFirstChunkOf(long step, int tensor)
    {
        long at;
        using (var manifest = OpenManifest(step))
        {
            var chunk = manifest.Tensors[tensor].Chunks[0];
            Assert.Equal(Lz4Frame.StoredFrameLength(chunk.RawLength), chunk.StoredLength);
            at = chunk.Offset + Lz4Frame.StoredPrefixLength + 1000;
        }

        using var file = File.Open(Path.Combine(_ck, step.ToString(System.Globalization.CultureInfo.InvariantCulture), StepFormat.DataFile), FileMode.Open);
        file.Position = at;
        var old = file.ReadByte();
        file.Position = at;
        file.WriteByte((byte)(old ^ 0x5A));
    }

    [Fact]
    public void A_damaged_chunk_in_the_middle_of_a_group_names_its_item_and_no_statistics_are_returned()
    {
        // Four stored chunks in one run: first, first, second, second; the third is damaged.
        _handler.Save(_ck, new Dictionary<string, object?> { ["first"] = Noise(2 * ChunkFloats, 5), ["second"] = Noise(2 * ChunkFloats, 6) }, step: 1);
        DamageFirstChunkOf(1, 1);

        IReadOnlyList<TensorStatistics>? stats = null;
        var e = Assert.Throws<CorruptCheckpointException>(() => stats = _handler.GetStatistics(_ck, 1));
        Assert.Equal("second", e.Item);
        Assert.Equal(1, e.Step);
        Assert.Contains("checksum", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Null(stats);
    }

    [Fact]
    public void A_damaged_chunk_in_the_later_step_of_a_diff_names_its_item()
    {
        // Distinct arrays: one array under two names is stored once.
        var first = Noise(2 * ChunkFloats, 7);
        var second = Noise(2 * ChunkFloats, 9);
        _handler.Save(_ck, new Dictionary<string, object?> { ["first"] = first, ["second"] = second }, step: 1);
        _handler.Save(_ck, new Dictionary<string, object?> { ["first"] = first, ["second"] = second }, step: 2);
        DamageFirstChunkOf(2, 1);

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.CompareNumeric(_ck, 1, 2));
        Assert.Equal("second", e.Item);
        Assert.Equal(2, e.Step);
    }

    [Fact]
    public void A_damaged_stored_chunk_in_the_earlier_step_of_a_diff_names_that_step()
    {
        // The pair's lanes come from two steps; the damaged lane is step 1's, read inside step 2's read.
        var first = Noise(2 * ChunkFloats, 7);
        var second = Noise(2 * ChunkFloats, 9);
        _handler.Save(_ck, new Dictionary<string, object?> { ["first"] = first, ["second"] = second }, step: 1);
        _handler.Save(_ck, new Dictionary<string, object?> { ["first"] = first, ["second"] = second }, step: 2);
        DamageFirstChunkOf(1, 1);

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.CompareNumeric(_ck, 1, 2));
        Assert.Equal("second", e.Item);
        Assert.Equal(1, e.Step);
    }

    [Fact]
    public void A_damaged_compressed_chunk_in_the_earlier_step_of_a_diff_names_that_step()
    {
        // Compressible values: the unit is read one chunk at a time (not grouped), still inside step 2's read.
        var zeros = new float[100_000];
        _handler.Save(_ck, new Dictionary<string, object?> { ["z"] = zeros }, step: 1);
        _handler.Save(_ck, new Dictionary<string, object?> { ["z"] = new float[100_000] }, step: 2);
        long at;
        using (var manifest = OpenManifest(1))
        {
            var chunk = manifest.Tensors[0].Chunks[0];
            Assert.NotEqual(Lz4Frame.StoredFrameLength(chunk.RawLength), chunk.StoredLength);
            at = chunk.Offset + (chunk.StoredLength / 2);
        }

        using (var file = File.Open(Path.Combine(_ck, "1", StepFormat.DataFile), FileMode.Open))
        {
            file.Position = at;
            var old = file.ReadByte();
            file.Position = at;
            file.WriteByte((byte)(old ^ 0x5A));
        }

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.CompareNumeric(_ck, 1, 2));
        Assert.Equal("z", e.Item);
        Assert.Equal(1, e.Step);
    }

    /// <summary>A step's data in memory that cancels a token on its first chunk read and counts the reads.</summary>
    private sealed class CancellingData(byte[] bytes, CancellationTokenSource cancel) : IStepData
    {
        public int ChunkReads;

        public long Length => bytes.Length;

        public int ReadParallelism => 2;

        public int StoredChunksPerRead => 4;

        public void ReadExactly(Span<byte> target, long offset) => bytes.AsSpan(checked((int)offset), target.Length).CopyTo(target);

        public void ReadExactly(Span<byte> first, Span<byte> second, Span<byte> third, long offset)
        {
            Interlocked.Increment(ref ChunkReads);
            cancel.Cancel();
            ReadExactly(first, offset);
            ReadExactly(second, offset + first.Length);
            ReadExactly(third, offset + first.Length + second.Length);
        }

        public void Dispose()
        {
        }
    }

    [Fact]
    public void A_cancel_during_a_group_stops_statistics_before_the_remaining_groups_are_read()
    {
        // 16 stored chunks: four groups of four (fewer per group on a machine of many cores: more groups).
        _handler.Save(_ck, new Dictionary<string, object?> { ["t"] = Noise(16 * ChunkFloats, 8) }, step: 1);
        var folder = Path.Combine(_ck, "1");
        using var cancel = new CancellationTokenSource();
        var data = new CancellingData(File.ReadAllBytes(Path.Combine(folder, StepFormat.DataFile)), cancel);
        using var reader = StepReader.Open(File.ReadAllBytes(Path.Combine(folder, StepFormat.ManifestFile)), data, 1, null);

        Assert.ThrowsAny<OperationCanceledException>(() => TensorStatisticsCalculator.Compute(reader, 1, null, cancel.Token));
        // The groups already started finish their reads; no other group starts.
        Assert.True(data.ChunkReads >= 1);
        Assert.True(data.ChunkReads < 16, $"{data.ChunkReads} of 16 chunks read after the cancel");
    }

    [Theory]
    [InlineData(6157, false)]
    [InlineData(2048 + 7, true)]
    [InlineData(3, false)]
    public void Float32_statistics_match_those_of_the_same_values_stored_as_float64(int length, bool withNaN)
    {
        // The float32 path has its own kernel (min/max/zeros in float lanes, block-pairwise double sums);
        // the float64 path compensates every addition: counts, min and max are equal, the sums agree far
        // below float32 resolution (lengths leave a partial vector and a scalar tail).
        var singles = Noise(length, 10);
        if (withNaN)
        {
            singles[100] = float.NaN;
            singles[^1] = float.PositiveInfinity;
        }

        var doubles = singles.Select(v => (double)v).ToArray();
        _handler.Save(_ck, new Dictionary<string, object?> { ["f32"] = singles, ["f64"] = doubles }, step: 1);
        var stats = _handler.GetStatistics(_ck, 1).ToDictionary(x => x.Item);
        var (f, d) = (stats["f32"], stats["f64"]);
        Assert.Equal((d.Count, d.NaNCount, d.PositiveInfinityCount, d.ZeroCount), (f.Count, f.NaNCount, f.PositiveInfinityCount, f.ZeroCount));
        Assert.Equal(d.Mean!.Value, f.Mean!.Value, 1e-13 * Math.Abs(d.Mean.Value));
        Assert.Equal(d.StandardDeviation!.Value, f.StandardDeviation!.Value, 1e-13 * d.StandardDeviation.Value);
        Assert.Equal(d.L2Norm!.Value, f.L2Norm!.Value, 1e-13 * d.L2Norm.Value);
        Assert.Equal(d.Min, f.Min);
        Assert.Equal(d.Max, f.Max);
    }
}
