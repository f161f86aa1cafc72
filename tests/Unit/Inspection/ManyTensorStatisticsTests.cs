using System.Globalization;
using DataraxCkpt.Format;
using DataraxCkpt.Inspection;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Inspection;

/// <summary>
/// Statistics of a step read its stored chunks in groups of up to four, hashed and summed slice by slice
/// (<see cref="HashedSliceStatistics"/>); a group may span several tensors. These pin that the figures are
/// those of each chunk decoded alone and summed whole, bit for bit, over many tensors of odd sizes (groups
/// spanning tensors, lengths at slice edges and one element past them), empty and one-element tensors,
/// NaN, ±∞ and ±0 counts, min and max; and that a damaged chunk anywhere in a group yields no figures.
/// </summary>
public sealed class ManyTensorStatisticsTests : IDisposable
{
    private const int TwoSlices = 2 * HashedSliceStatistics.SliceBytes;

    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public ManyTensorStatisticsTests() => _ck = _dir.Sub("ck");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private void SaveManyTensors()
    {
        var random = new Random(23);
        var state = new Dictionary<string, object?>();
        int[] lengths = [0, 1, (TwoSlices / 4) - 1, TwoSlices / 4, (TwoSlices / 4) + 1,
            (Lz4Frame.BlockSize / 4) + 7, 3, (2 * Lz4Frame.BlockSize / 4) - 5, 100_003, 12_289, 1];
        for (var t = 0; t < lengths.Length; t++)
        {
            var values = new float[lengths[t]];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (float)((random.NextDouble() * 8) - 3);
            }

            if (values.Length > 40)
            {
                values[0] = float.NaN;
                values[17] = float.PositiveInfinity;
                values[^1] = float.NegativeInfinity;
                values[5] = 0f;
                values[^2] = -0f;
                values[values.Length / 2] = 1e30f;
                values[(values.Length / 2) + 1] = -1e30f;
            }

            state[$"t{t:D2}"] = values;
        }

        _handler.Save(_ck, state, step: 1);
    }

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
                var bytes = new byte[layout.Chunks[c].RawLength];
                reader.DecodeChunkInto(item.TensorIndex, c, bytes);
                total.Merge(TensorStatisticsCalculator.OfBytes(widening, bytes));
            }

            results.Add(total.ToResult(1, item.Name, layout.DType, layout.Shape));
        }

        return results;
    }

    private static string Dump(IEnumerable<TensorStatistics> all) => string.Join("\n", all.Select(s => string.Create(CultureInfo.InvariantCulture,
        $"{s.Item} n={s.Count} nan={s.NaNCount} +inf={s.PositiveInfinityCount} -inf={s.NegativeInfinityCount} zero={s.ZeroCount} min={s.Min:R} max={s.Max:R} mean={s.Mean:R} std={s.StandardDeviation:R} l2={s.L2Norm:R}")));

    [Fact]
    public void Many_tensors_of_odd_sizes_have_the_figures_of_their_chunks_decoded_alone_bit_for_bit()
    {
        SaveManyTensors();

        var actual = _handler.GetStatistics(_ck, 1);

        Assert.Equal(Dump(WholeChunkStatistics()), Dump(actual));
        var empty = actual.Single(s => s.Item == "t00");
        Assert.Equal(0, empty.Count);
        var one = actual.Single(s => s.Item == "t01");
        Assert.Equal(1, one.Count);
        Assert.Equal(one.Min, one.Max);
        var big = actual.Single(s => s.Item == "t05");
        Assert.Equal((1L, 1L, 1L, 2L), (big.NaNCount, big.PositiveInfinityCount, big.NegativeInfinityCount, big.ZeroCount));
        Assert.Equal(double.NegativeInfinity, big.Min);
        Assert.Equal(double.PositiveInfinity, big.Max);
    }

    [Theory]
    [InlineData("t03", 0)]
    [InlineData("t05", TwoSlices)]
    [InlineData("t07", Lz4Frame.BlockSize - 1)]
    public void A_damaged_byte_in_any_slice_of_a_group_yields_no_figures_and_names_the_item(string item, int where)
    {
        SaveManyTensors();
        long at;
        using (var reader = StepReader.Open(new StepFolders(_ck), Path.Combine(_ck, "1"), 1, expectedManifestHash: null))
        {
            var index = TensorStatisticsCalculator.TensorItems(reader, null).Single(i => i.Name == item).TensorIndex;
            var chunk = reader.Manifest.Tensors[index].Chunks[0];
            Assert.True(StepReader.IsStoredCandidate(chunk, 0));
            at = chunk.Offset + Lz4Frame.StoredPrefixLength + Math.Min(where, chunk.RawLength - 1);
        }

        using (var file = File.Open(Path.Combine(_ck, "1", StepFormat.DataFile), FileMode.Open))
        {
            file.Position = at;
            var old = file.ReadByte();
            file.Position = at;
            file.WriteByte((byte)(old ^ 0x40));
        }

        IReadOnlyList<TensorStatistics>? stats = null;
        var e = Assert.Throws<CorruptCheckpointException>(() => stats = _handler.GetStatistics(_ck, 1));
        Assert.Contains($"'{item}'", e.Message, StringComparison.Ordinal);
        Assert.Null(stats);
    }
}
