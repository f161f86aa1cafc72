using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// A local step's stored chunks are read a piece of each chunk of a group at a time and hashed piece by piece
/// (<see cref="IStepData.ReadPieceBytes"/>), so the hash finds the bytes still in cache. Whatever the piece
/// size against the chunk sizes, the restored bytes are exact and a changed byte anywhere, the last piece of
/// a chunk included, fails the read naming the item.
/// </summary>
public sealed class PieceReadTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;
    private readonly byte[] _odd = Noise((9 << 20) + 13);   // chunks of 4 MiB, 4 MiB and 1 MiB + 13 bytes
    private readonly byte[] _small = Noise(3 << 20);        // one chunk, shorter than its group's others
    private readonly byte[] _tiny = Noise(21);              // a chunk shorter than a stripe of the hash

    public PieceReadTests()
    {
        _ck = Path.GetFullPath(_dir.Sub("checkpoints"));
        _handler.Save(_ck, new Dictionary<string, object?> { ["odd"] = _odd, ["small"] = _small, ["tiny"] = _tiny }, step: 1);
    }

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    // 16 and 4096 divide every chunk but the odd tails; 1000 leaves a partial stripe at every piece's end;
    // 3 MiB + 16 is longer than some chunks and shorter than others.
    public static TheoryData<int> PieceSizes => new() { 16, 1000, 4096, 256 << 10, (3 << 20) + 16 };

    [Theory]
    [MemberData(nameof(PieceSizes))]
    public void Chunks_read_in_pieces_of_any_size_restore_exactly(int piece)
    {
        using var data = Data(piece);
        using var reader = Open(data);

        Assert.Equal(_odd, Load(reader, "odd"));
        Assert.Equal(_small, Load(reader, "small"));
        Assert.Equal(_tiny, Load(reader, "tiny"));

        // The bytes really were read in pieces: no read of chunk data was longer than one piece.
        Assert.InRange(data.LongestRead, 1, piece);
    }

    [Fact]
    public void All_tensors_decoded_together_in_groups_of_chunks_of_different_lengths_restore_exactly()
    {
        using var data = Data(4096);
        using var reader = Open(data);
        var pending = new List<TensorDestination>();
        var values = reader.Manifest.Items.Where(i => i.TensorIndex >= 0)
            .ToDictionary(i => i.Name, i => (byte[])reader.AllocateTensor(i.TensorIndex, typeof(byte[]), i.Name, pending));

        reader.DecodeAll(pending, null);

        Assert.Equal(_odd, values["odd"]);
        Assert.Equal(_small, values["small"]);
        Assert.Equal(_tiny, values["tiny"]);
    }

    [Theory]
    [MemberData(nameof(PieceSizes))]
    public void A_changed_byte_in_the_last_piece_of_a_chunk_fails_the_read_naming_the_item(int piece)
    {
        using var data = Data(piece);
        // The last byte of the odd tensor's last chunk: the end of its last piece, whatever the piece size.
        var chunk = Chunks(data, "odd")[^1];
        data.Bytes[chunk.Offset + Lz4Frame.StoredPrefixLength + chunk.RawLength - 1] ^= 0x10;
        using var reader = Open(data);

        var e = Assert.Throws<InvalidDataException>(() => Load(reader, "odd"));

        Assert.Contains("item 'odd'", e.Message, StringComparison.Ordinal);
        Assert.Contains("checksum mismatch", e.Message, StringComparison.Ordinal);
        Assert.Equal(_small, Load(reader, "small"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_changed_byte_at_a_piece_boundary_fails_the_read(int side)
    {
        const int piece = 4096;
        using var data = Data(piece);
        var chunk = Chunks(data, "odd")[1];
        data.Bytes[chunk.Offset + Lz4Frame.StoredPrefixLength + (5 * piece) - 1 + side] ^= 0x01;
        using var reader = Open(data);

        var e = Assert.Throws<InvalidDataException>(() => Load(reader, "odd"));

        Assert.Contains("item 'odd'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_source_that_reads_whole_chunks_reads_each_stored_frame_in_one_read()
    {
        using var data = Data(0);
        using var reader = Open(data);

        Assert.Equal(_odd, Load(reader, "odd"));

        Assert.Equal(4 << 20, data.LongestRead);
    }

    private InMemoryStepData Data(int piece) =>
        new(File.ReadAllBytes(Path.Combine(_ck, "1", StepFormat.DataFile)), piece);

    private StepReader Open(InMemoryStepData data) =>
        StepReader.Open(File.ReadAllBytes(Path.Combine(_ck, "1", StepFormat.ManifestFile)), data, 1, null);

    private List<ChunkLayout> Chunks(InMemoryStepData data, string item)
    {
        using var reader = Open(data);
        var index = reader.Manifest.Items.Single(i => i.Name == item).TensorIndex;
        return reader.Manifest.Tensors[index].Chunks.ToList();
    }

    private static byte[] Load(StepReader reader, string item) =>
        (byte[])reader.LoadTensor(reader.Manifest.Items.Single(i => i.Name == item).TensorIndex, typeof(byte[]), item, null);

    private static byte[] Noise(int bytes)
    {
        var data = new byte[bytes];
        new Random(bytes).NextBytes(data);
        return data;
    }

    /// <summary>A step's data in memory, read as a local file is (four stored chunks a group), in pieces of a chosen size; shared by readers, so disposing does nothing.</summary>
    private sealed class InMemoryStepData(byte[] bytes, int piece) : IStepData
    {
        private int _longestRead;

        public byte[] Bytes { get; } = bytes;

        /// <summary>The longest read of chunk data (a read of a frame's prefix or trailer length is not counted).</summary>
        public int LongestRead => _longestRead;

        public long Length => Bytes.Length;

        public int ReadParallelism => 2;

        public int StoredChunksPerRead => 4;

        public int ReadPieceBytes => piece;

        public void ReadExactly(Span<byte> target, long offset)
        {
            if (offset + target.Length > Bytes.Length)
            {
                throw new InvalidDataException($"{StepFormat.DataFile} ends before the chunk at offset {offset}");
            }

            Bytes.AsSpan(checked((int)offset), target.Length).CopyTo(target);
            if (target.Length is not Lz4Frame.StoredPrefixLength and not Lz4Frame.StoredTrailerLength)
            {
                int seen;
                do
                {
                    seen = _longestRead;
                }
                while (target.Length > seen && Interlocked.CompareExchange(ref _longestRead, target.Length, seen) != seen);
            }
        }

        public void Dispose()
        {
        }
    }
}
