using System.Globalization;
using DataraxCkpt.Format;
using DataraxCkpt.Inspection;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Inspection;

/// <summary>
/// Statistics of stored chunks read in groups are taken slice by slice as each slice is hashed
/// (<see cref="HashedSliceStatistics"/>), no longer over each whole chunk after the group is read. These
/// pin that the figures did not move by a bit: for every dtype the kernels treat differently (the float32
/// lanes, widened float64, float64 whose sums overflow, NaN and ±∞, integers) and on both vector widths,
/// each tensor's statistics equal those of its chunks decoded one by one and summed whole, in chunk order.
/// </summary>
[Collection(SimdPathCollection.Name)]
public sealed class HashedSliceStatisticsTests : IDisposable
{
    private const int ChunkBytes = Lz4Frame.BlockSize;

    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public HashedSliceStatisticsTests() => _ck = _dir.Sub("ck");

    public void Dispose()
    {
        SimdPaths.Allow512 = true;
        _handler.Dispose();
        _dir.Dispose();
    }

    private static Dictionary<string, object?> State()
    {
        var random = new Random(17);
        // Lengths end mid-slice, mid-block and mid-vector, so every kind of last slice is taken.
        var singles = new float[(5 * ChunkBytes / sizeof(float)) + 12_345];
        for (var i = 0; i < singles.Length; i++)
        {
            singles[i] = (float)((random.NextDouble() * 20) - 5);
        }

        var special = (float[])singles.Clone();
        special[3] = float.NaN;
        special[(ChunkBytes / sizeof(float)) + 70_000] = float.PositiveInfinity;
        special[^1] = float.NegativeInfinity;
        special[5] = 0f;
        special[HashedSliceStatistics.SliceBytes / sizeof(float)] = -0f;

        var doubles = new double[(ChunkBytes / sizeof(double)) + 1001];
        var huge = new double[doubles.Length];
        for (var i = 0; i < doubles.Length; i++)
        {
            doubles[i] = random.NextDouble() - 0.5;
            // Any bit pattern (a few NaN and ±∞ among them), incompressible, so stored.
            huge[i] = BitConverter.Int64BitsToDouble(random.NextInt64(long.MinValue, long.MaxValue));
        }

        // Finite values whose sum overflows: the path for blocks of finite values whose sum is not finite.
        huge[10] = huge[11] = 1.7e308;

        var shorts = new short[(ChunkBytes / sizeof(short)) + 77];
        for (var i = 0; i < shorts.Length; i++)
        {
            shorts[i] = (short)random.Next(short.MinValue, short.MaxValue + 1);
        }

        return new Dictionary<string, object?> { ["f32"] = singles, ["special"] = special, ["f64"] = doubles, ["huge"] = huge, ["i16"] = shorts };
    }

    /// <summary>Today's figures before the change: each chunk decoded alone and summed whole, merged in chunk order.</summary>
    private List<TensorStatistics> WholeChunkStatistics()
    {
        using var reader = StepReader.Open(new StepFolders(_ck), Path.Combine(_ck, "1"), 1, expectedManifestHash: null);
        var results = new List<TensorStatistics>();
        foreach (var item in TensorStatisticsCalculator.TensorItems(reader, null))
        {
            var layout = reader.Manifest.Tensors[item.TensorIndex];
            var widening = new ElementWidening(layout.DType);
            var total = default(ChunkStatistics);
            for (var c = 0; c < layout.Chunks.Length; c++)
            {
                Assert.True(StepReader.IsStoredCandidate(layout.Chunks[c], 0), $"{item.Name}: chunk {c} is not one stored block, so it is not read in a group");
                var bytes = new byte[layout.Chunks[c].RawLength];
                reader.DecodeChunkInto(item.TensorIndex, c, bytes);
                total.Merge(TensorStatisticsCalculator.OfBytes(widening, bytes));
            }

            results.Add(total.ToResult(1, item.Name, layout.DType, layout.Shape));
        }

        return results;
    }

    private static long Bits(double? value) => value is { } v ? BitConverter.DoubleToInt64Bits(v) : long.MinValue;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Statistics_taken_slice_by_slice_as_chunks_are_hashed_equal_those_of_whole_chunks_bit_for_bit(bool wide)
    {
        SimdPaths.Allow512 = wide;
        _handler.Save(_ck, State(), step: 1);

        var expected = WholeChunkStatistics();
        var actual = _handler.GetStatistics(_ck, 1);

        Assert.Equal(expected.Select(s => s.Item), actual.Select(s => s.Item));
        for (var i = 0; i < expected.Count; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            Assert.Equal((e.Count, e.NaNCount, e.PositiveInfinityCount, e.NegativeInfinityCount, e.ZeroCount),
                (a.Count, a.NaNCount, a.PositiveInfinityCount, a.NegativeInfinityCount, a.ZeroCount));
            var what = string.Create(CultureInfo.InvariantCulture, $"{e.Item}: mean {e.Mean:R}/{a.Mean:R}, std {e.StandardDeviation:R}/{a.StandardDeviation:R}, L2 {e.L2Norm:R}/{a.L2Norm:R}");
            Assert.True(Bits(e.Min) == Bits(a.Min) && Bits(e.Max) == Bits(a.Max), what);
            Assert.True(Bits(e.Mean) == Bits(a.Mean), what);
            Assert.True(Bits(e.StandardDeviation) == Bits(a.StandardDeviation), what);
            Assert.True(Bits(e.L2Norm) == Bits(a.L2Norm), what);
        }

        // The special values are in the figures (not skipped with a failed block).
        var special = actual.Single(s => s.Item == "special");
        Assert.Equal((1L, 1L, 1L), (special.NaNCount, special.PositiveInfinityCount, special.NegativeInfinityCount));
        Assert.True(special.ZeroCount >= 2);
    }
}
