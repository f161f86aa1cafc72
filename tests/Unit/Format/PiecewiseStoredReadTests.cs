using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// A local restore reads a group of stored chunks a piece at a time (<see cref="IStepData.StoredReadPiece"/>,
/// 256 KiB of each chunk) and hashes each piece right after its read, while it is in cache. These pin that the
/// pieces change nothing a user sees: chunks whose lengths are no multiple of the piece or of a hash stripe,
/// mixed in one group, restore bit-exact (into new and into existing arrays); a byte changed in any piece
/// (the first, either side of a piece boundary, the last partial piece, a chunk's last byte) fails the restore
/// naming the item it belongs to, not a neighbour in the group.
/// </summary>
public sealed class PiecewiseStoredReadTests : IDisposable
{
    private const int Piece = 256 << 10;
    private const int Chunk = Lz4Frame.BlockSize;

    // Item order in the data file is the state's key order: a (two full chunks and a tail of 100,003 bytes),
    // then b (one chunk of 3 × piece + 5 bytes): the group [a0, a1, a2, b0] mixes lengths and items.
    private const int ABytes = (2 * Chunk) + 100_003;
    private const int BBytes = (3 * Piece) + 5;

    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;
    private readonly byte[] _a = Noise(ABytes, 1);
    private readonly byte[] _b = Noise(BBytes, 2);

    public PiecewiseStoredReadTests()
    {
        _ck = _dir.Sub("ck");
        _handler.Save(_ck, new Dictionary<string, object?> { ["a"] = _a, ["b"] = _b }, step: 1);
        var frames = (2 * Lz4Frame.StoredFrameLength(Chunk)) + Lz4Frame.StoredFrameLength(100_003) + Lz4Frame.StoredFrameLength(BBytes);
        Assert.Equal(frames, new FileInfo(DataFile).Length); // every chunk stored raw, in this order
    }

    private string DataFile => Path.Combine(_ck, "1", StepFormat.DataFile);

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private static byte[] Noise(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>File offset of byte <paramref name="at"/> of the raw bytes of chunk <paramref name="chunk"/> (0-2: a's, 3: b's).</summary>
    private static long DataOffset(int chunk, int at) =>
        (chunk <= 2 ? chunk * (long)Lz4Frame.StoredFrameLength(Chunk)
            : (2L * Lz4Frame.StoredFrameLength(Chunk)) + Lz4Frame.StoredFrameLength(100_003))
        + Lz4Frame.StoredPrefixLength + at;

    [Fact]
    public void Chunks_of_lengths_off_the_piece_and_stripe_in_one_group_restore_bit_exact_into_new_and_existing_arrays()
    {
        var restored = (Dictionary<string, object?>)_handler.Restore(_ck)!;
        Assert.Equal(_a, (byte[])restored["a"]!);
        Assert.Equal(_b, (byte[])restored["b"]!);

        var a = new byte[ABytes];
        var b = new byte[BBytes];
        Array.Fill(a, (byte)0xEE);
        Array.Fill(b, (byte)0xEE);
        var template = new Dictionary<string, object?> { ["a"] = a, ["b"] = b };
        _handler.RestoreInto(_ck, template);
        Assert.Same(a, template["a"]);
        Assert.Equal(_a, a);
        Assert.Equal(_b, b);
    }

    public static TheoryData<int, int, string> ChangedBytes => new()
    {
        { 0, 0, "a" },                 // the first byte of the first piece of the group's first chunk
        { 1, Piece - 1, "a" },         // the last byte of a piece
        { 1, Piece, "a" },             // the first byte of the next piece
        { 0, Chunk - 1, "a" },         // a full chunk's last byte (its last piece)
        { 2, 100_002, "a" },           // the last byte of a tail chunk shorter than a piece and no whole stripes
        { 3, 3 * Piece, "b" },         // the 5-byte last piece of the group's last chunk, another item
        { 3, (2 * Piece) + 17, "b" },  // inside a middle piece of that chunk
    };

    [Theory]
    [MemberData(nameof(ChangedBytes))]
    public void A_byte_changed_in_any_piece_of_a_stored_chunk_fails_the_restore_naming_its_item(int chunk, int at, string item)
    {
        using (var file = new FileStream(DataFile, FileMode.Open, FileAccess.ReadWrite))
        {
            var offset = DataOffset(chunk, at);
            file.Position = offset;
            var value = file.ReadByte();
            file.Position = offset;
            file.WriteByte((byte)(value ^ 0x40));
        }

        Assert.Equal(item, Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(_ck)).Item);
        var template = new Dictionary<string, object?> { ["a"] = new byte[ABytes], ["b"] = new byte[BBytes] };
        Assert.Equal(item, Assert.Throws<CorruptCheckpointException>(() => _handler.RestoreInto(_ck, template)).Item);
        Assert.Contains(_handler.Verify(_ck, 1).Problems, p => p.Item == item);
    }
}
