using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using DataraxCkpt.Format;
using DataraxCkpt.Inspection;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Inspection;

/// <summary>
/// Attack on statistics taken slice by slice as stored chunks are hashed: every dtype at lengths around the
/// block (2,048 elements), slice (64 KiB) and chunk (4 MiB) edges, one-element and empty tensors, hundreds of
/// small tensors in shared groups; a damaged byte in a chunk's last slice, a damaged frame header or a
/// truncated data file never yields figures; parallel calls on one handler agree with a lone call.
/// </summary>
[Collection(SimdPathCollection.Name)]
public sealed class HashedSliceStatisticsAttackTests : IDisposable
{
    private static readonly int[] Lengths = [0, 1, 2, 15, 17, 2047, 2048, 2049, 8193, 16383, 16385, 32769, 65535, 65537, 262_145, 1_048_577, 2_097_151];

    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public HashedSliceStatisticsAttackTests() => _ck = _dir.Sub("ck");

    public void Dispose()
    {
        SimdPaths.Allow512 = true;
        _handler.Dispose();
        _dir.Dispose();
    }

    private static T[] Random<T>(Random random, int length, int size)
        where T : struct
    {
        var bytes = new byte[length * size];
        random.NextBytes(bytes);
        if (typeof(T) == typeof(bool))
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                bytes[i] &= 1;
            }
        }

        return MemoryMarshal.Cast<byte, T>(bytes).ToArray();
    }

    private static Dictionary<string, object?> State()
    {
        var random = new Random(23);
        var state = new Dictionary<string, object?>();
        foreach (var n in Lengths)
        {
            state[$"bool_{n}"] = Random<bool>(random, n, 1);
            state[$"i8_{n}"] = Random<sbyte>(random, n, 1);
            state[$"u8_{n}"] = Random<byte>(random, n, 1);
            state[$"i16_{n}"] = Random<short>(random, n, 2);
            state[$"u16_{n}"] = Random<ushort>(random, n, 2);
            state[$"f16_{n}"] = Random<Half>(random, n, 2);
            state[$"char_{n}"] = Random<char>(random, n, 2);
            state[$"i32_{n}"] = Random<int>(random, n, 4);
            state[$"u32_{n}"] = Random<uint>(random, n, 4);
            state[$"u64_{n}"] = Random<ulong>(random, n, 8);
            state[$"i64_{n}"] = Random<long>(random, n, 8);
            var singles = new float[n];
            for (var i = 0; i < n; i++)
            {
                singles[i] = (float)((random.NextDouble() * 8) - 3);
            }

            if (n > 20)
            {
                singles[^1] = float.NaN;
                singles[n / 2] = float.Epsilon;
                singles[n / 3] = -float.Epsilon;
                singles[Math.Min(n - 2, 16384)] = float.NegativeInfinity;
            }

            state[$"f32_{n}"] = singles;
            // Any bit pattern: NaN, ±∞, subnormals among them.
            state[$"f64_{n}"] = Random<double>(random, n, 8);
            state[$"f32bits_{n}"] = Random<float>(random, n, 4);
        }

        // Past one chunk of 4 MiB, ending mid-slice.
        state["f32_big"] = Random<float>(random, (Lz4Frame.BlockSize / 4 * 2) + 3333, 4);
        for (var j = 0; j < 300; j++)
        {
            var a = new float[1 + random.Next(0, 40_000)];
            for (var i = 0; i < a.Length; i++)
            {
                a[i] = (float)(random.NextDouble() - 0.25);
            }

            state[$"many{j:D3}"] = a;
        }

        // Compressible: not stored, read on the other path.
        state["zeros"] = new double[600_000];
        return state;
    }

    /// <summary>The figures as the code before slicing took them: each chunk decoded alone, whole, a block at a time.</summary>
    private List<TensorStatistics> Reference()
    {
        using var reader = StepReader.Open(new StepFolders(_ck), Path.Combine(_ck, "1"), 1, expectedManifestHash: null);
        var results = new List<TensorStatistics>();
        var values = new double[ElementWidening.BlockLength];
        var scratch = new double[ElementWidening.BlockLength];
        foreach (var item in TensorStatisticsCalculator.TensorItems(reader, null))
        {
            var layout = reader.Manifest.Tensors[item.TensorIndex];
            var widening = new ElementWidening(layout.DType);
            var total = default(ChunkStatistics);
            for (var c = 0; c < layout.Chunks.Length; c++)
            {
                var raw = new byte[layout.Chunks[c].RawLength];
                reader.DecodeChunkInto(item.TensorIndex, c, raw);
                var chunk = default(ChunkStatistics);
                var size = widening.ElementSize;
                var elements = raw.Length / size;
                for (var first = 0; first < elements; first += ElementWidening.BlockLength)
                {
                    var n = Math.Min(ElementWidening.BlockLength, elements - first);
                    if (widening.IsSingle)
                    {
                        chunk.AddSingles(MemoryMarshal.Cast<byte, float>(raw.AsSpan(first * size, n * size)), values.AsSpan(0, n), scratch);
                    }
                    else
                    {
                        widening.Widen(raw.AsSpan(first * size, n * size), values.AsSpan(0, n));
                        chunk.AddBlock(values.AsSpan(0, n), scratch);
                    }
                }

                total.Merge(chunk);
            }

            results.Add(total.ToResult(1, item.Name, layout.DType, layout.Shape));
        }

        return results;
    }

    private static string Line(TensorStatistics s)
    {
        static string B(double? v) => v is { } d ? BitConverter.DoubleToInt64Bits(d).ToString("X16", CultureInfo.InvariantCulture) : "null";
        return string.Create(CultureInfo.InvariantCulture,
            $"{s.Item} {s.DType} {s.Count} {s.NaNCount} {s.PositiveInfinityCount} {s.NegativeInfinityCount} {s.ZeroCount} {B(s.Min)} {B(s.Max)} {B(s.Mean)} {B(s.StandardDeviation)} {B(s.L2Norm)}");
    }

    private static string Dump(IEnumerable<TensorStatistics> stats)
    {
        var text = new StringBuilder();
        foreach (var s in stats)
        {
            text.AppendLine(Line(s));
        }

        return text.ToString();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Every_dtype_at_block_slice_and_chunk_edges_has_the_same_figures_bit_for_bit_as_whole_chunks(bool wide)
    {
        SimdPaths.Allow512 = wide;
        _handler.Save(_ck, State(), step: 1);

        Assert.Equal(Dump(Reference()), Dump(_handler.GetStatistics(_ck, 1)));
    }

    private StepReader Open() => StepReader.Open(new StepFolders(_ck), Path.Combine(_ck, "1"), 1, expectedManifestHash: null);

    [Fact]
    public void Most_of_the_edge_tensors_are_read_as_stored_groups_so_the_sliced_path_is_what_the_figures_come_from()
    {
        _handler.Save(_ck, State(), step: 1);
        using var reader = Open();
        var stored = reader.Manifest.Tensors.Count(t => t.Chunks.Length > 0 && t.Filter == "none" && t.Chunks.All(c => StepReader.IsStoredCandidate(c, 0)));
        Assert.True(stored > reader.Manifest.Tensors.Count / 2, $"{stored} of {reader.Manifest.Tensors.Count}");
    }

    private void XorByte(long at, byte mask)
    {
        using var file = File.Open(Path.Combine(_ck, "1", StepFormat.DataFile), FileMode.Open);
        file.Position = at;
        var old = file.ReadByte();
        file.Position = at;
        file.WriteByte((byte)(old ^ mask));
    }

    /// <summary>Saves noise tensors (stored chunks) of these element counts; returns the stored chunk of the middle one.</summary>
    private ChunkLayout SaveNoise(params int[] lengths)
    {
        var random = new Random(31);
        var state = new Dictionary<string, object?>();
        for (var i = 0; i < lengths.Length; i++)
        {
            state[$"n{i}"] = Random<float>(random, lengths[i], 4);
        }

        _handler.Save(_ck, state, step: 1);
        using var reader = Open();
        var chunk = reader.Manifest.Tensors[lengths.Length / 2].Chunks[^1];
        Assert.True(StepReader.IsStoredCandidate(chunk, 0));
        return chunk;
    }

    [Theory]
    [InlineData(0)] // first byte of the chunk
    [InlineData(1)] // last byte of the chunk (in its last slice)
    [InlineData(2)] // the last byte of a full slice
    public void A_damaged_byte_anywhere_in_a_grouped_chunk_yields_no_figures_and_names_the_item(int where)
    {
        var chunk = SaveNoise(70_000, 100_003, 16_385);
        var payload = chunk.Offset + Lz4Frame.StoredPrefixLength;
        XorByte(where switch { 0 => payload, 1 => payload + chunk.RawLength - 1, _ => payload + HashedSliceStatistics.SliceBytes - 1 }, 0x80);

        IReadOnlyList<TensorStatistics>? stats = null;
        var e = Assert.Throws<CorruptCheckpointException>(() => stats = _handler.GetStatistics(_ck, 1));
        Assert.Equal("n1", e.Item);
        Assert.Null(stats);
        // A later call fails the same way: nothing of the first was kept.
        Assert.Throws<CorruptCheckpointException>(() => _handler.GetStatistics(_ck, 1, ["n*"]));
    }

    [Fact]
    public void A_damaged_frame_header_of_a_grouped_chunk_yields_no_figures()
    {
        var chunk = SaveNoise(70_000, 100_003, 16_385);
        XorByte(chunk.Offset + 4, 0x40); // the frame descriptor's flags
        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.GetStatistics(_ck, 1));
        Assert.Equal("n1", e.Item);
    }

    [Fact]
    public void A_data_file_cut_inside_the_last_grouped_chunk_yields_no_figures()
    {
        var chunk = SaveNoise(70_000, 100_003);
        using (var file = File.Open(Path.Combine(_ck, "1", StepFormat.DataFile), FileMode.Open))
        {
            file.SetLength(chunk.Offset + chunk.StoredLength - 7);
        }

        Assert.ThrowsAny<Exception>(() => _handler.GetStatistics(_ck, 1));
    }

    [Fact]
    public void Statistics_on_several_threads_at_once_equal_a_lone_call()
    {
        _handler.Save(_ck, State(), step: 1);
        var alone = Dump(_handler.GetStatistics(_ck, 1));
        var results = new string[4];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => results[i] = Dump(_handler.GetStatistics(_ck, 1)));
        Assert.All(results, r => Assert.Equal(alone, r));
    }

    [Fact]
    public void Restore_after_sliced_statistics_gives_back_the_same_bytes()
    {
        var state = State();
        _handler.Save(_ck, state, step: 1);
        _ = _handler.GetStatistics(_ck, 1);
        var back = (IDictionary<string, object?>)_handler.Restore(_ck, 1)!;
        foreach (var (name, value) in state)
        {
            Assert.Equal(Bytes((Array)value!), Bytes((Array)back[name]!));
        }
    }

    private static byte[] Bytes(Array array) =>
        MemoryMarshal.CreateReadOnlySpan(ref MemoryMarshal.GetArrayDataReference(array), array.Length * Marshal.SizeOf(array.GetType().GetElementType() == typeof(bool) ? typeof(byte) : array.GetType().GetElementType()! == typeof(char) ? typeof(ushort) : array.GetType().GetElementType()!)).ToArray();

    [Fact]
    public void Statistics_cancelled_midway_throw_and_leave_nothing_for_the_next_call()
    {
        _handler.Save(_ck, State(), step: 1);
        var alone = Dump(_handler.GetStatistics(_ck, 1));
        var cancelled = 0;
        // Delay 0 cancels before the call, so at least one call is refused on every machine; the timed ones
        // land midway only where the call is slow enough (an idle machine can finish it inside 64 ms).
        foreach (var delay in new[] { 0, 1, 4, 16, 64 })
        {
            using var source = delay == 0 ? new CancellationTokenSource() : new CancellationTokenSource(TimeSpan.FromMilliseconds(delay));
            if (delay == 0)
            {
                source.Cancel();
            }

            try
            {
                Assert.Equal(alone, Dump(_handler.GetStatistics(_ck, 1, cancellationToken: source.Token)));
            }
            catch (OperationCanceledException)
            {
                cancelled++;
            }

            Assert.Equal(alone, Dump(_handler.GetStatistics(_ck, 1)));
        }

        Assert.True(cancelled > 0, "no call was cancelled");
    }
}
