using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>Chunks that do not compress: written as stored frames from the tensor, read straight into the destination.</summary>
public sealed class StoredChunkTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public StoredChunkTests() => _ck = _dir.Sub("checkpoints");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Incompressible_chunks_are_stored_raw_and_restore_exactly()
    {
        var noise = Noise(5 << 20); // one full 4 MiB chunk and a 1 MiB one
        var info = _handler.Save(_ck, new Dictionary<string, object?> { ["n"] = noise }, step: 1);

        var restored = (int[])((Dictionary<string, object?>)_handler.Restore(_ck)!)["n"]!;

        var dataLength = new FileInfo(Path.Combine(_ck, "1", "tensors.lz4")).Length;
        Assert.Equal(Lz4Frame.StoredFrameLength(4 << 20) + Lz4Frame.StoredFrameLength(1 << 20), dataLength);
        Assert.True(info.StoredSize > dataLength);
        Assert.Equal(noise, restored);
    }

    [Fact]
    public void A_changed_byte_inside_a_stored_chunk_fails_the_restore_and_the_verification()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["n"] = Noise(5 << 20) }, step: 1);
        var data = Path.Combine(_ck, "1", "tensors.lz4");
        using (var file = new FileStream(data, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 3 << 20;
            var b = file.ReadByte();
            file.Position = 3 << 20;
            file.WriteByte((byte)(b ^ 0x40));
        }

        Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(_ck));
        Assert.NotEmpty(_handler.Verify(_ck, 1).Problems);
    }

    [Fact]
    public void Many_stored_chunks_of_several_tensors_restore_exactly_new_and_into_existing_arrays()
    {
        // Stored chunks are read and verified a few at a time; lengths differ, a compressible tensor sits between.
        var state = new Dictionary<string, object?>
        {
            ["a"] = Noise((9 << 20) + 12),
            ["z"] = new int[300_000],
            ["b"] = Noise(3 << 20),
            ["c"] = Noise((13 << 20) + 4),
        };
        _handler.Save(_ck, state, step: 1);

        var restored = (Dictionary<string, object?>)_handler.Restore(_ck)!;
        var template = new Dictionary<string, object?>
        {
            ["a"] = new int[((9 << 20) + 12) / 4],
            ["z"] = new int[300_000],
            ["b"] = new int[(3 << 20) / 4],
            ["c"] = new int[((13 << 20) + 4) / 4],
        };
        var into = _handler.RestoreInto(_ck, template);

        foreach (var name in state.Keys)
        {
            Assert.Equal((int[])state[name]!, (int[])restored[name]!);
            Assert.Equal((int[])state[name]!, (int[])into[name]!);
            Assert.Same(template[name], into[name]);
        }
    }

    public static TheoryData<int, int> DamagedPlaces => new()
    {
        // (chunk, byte offset inside the frame; negative counts from the frame's end)
        { 0, Lz4Frame.StoredPrefixLength },
        { 1, Lz4Frame.StoredPrefixLength + 1_000_000 },
        { 2, Lz4Frame.StoredFrameLength(4 << 20) - Lz4Frame.StoredTrailerLength - 1 },
        { 3, Lz4Frame.StoredPrefixLength + 17 },
        { 4, Lz4Frame.StoredPrefixLength + 3 },
        { 2, 5 },  // the frame descriptor: no stored frame any more
        { 3, Lz4Frame.StoredFrameLength(4 << 20) - Lz4Frame.StoredTrailerLength }, // the end mark
    };

    [Theory]
    [MemberData(nameof(DamagedPlaces))]
    public void A_damaged_stored_chunk_anywhere_among_its_neighbours_fails_the_restore_naming_the_item(int chunk, int inFrame)
    {
        // Five chunks: four read and verified together, then one more.
        _handler.Save(_ck, new Dictionary<string, object?> { ["n"] = Noise((16 << 20) + (1 << 20)) }, step: 1);
        var data = Path.Combine(_ck, "1", "tensors.lz4");
        Assert.Equal(4 * Lz4Frame.StoredFrameLength(4 << 20) + Lz4Frame.StoredFrameLength(1 << 20), new FileInfo(data).Length);
        using (var file = new FileStream(data, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = (long)chunk * Lz4Frame.StoredFrameLength(4 << 20) + inFrame;
            var b = file.ReadByte();
            file.Position--;
            file.WriteByte((byte)(b ^ 0x10));
        }

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(_ck));
        Assert.Equal("n", e.Item);
        var template = new Dictionary<string, object?> { ["n"] = new int[((16 << 20) + (1 << 20)) / 4] };
        Assert.Equal("n", Assert.Throws<CorruptCheckpointException>(() => _handler.RestoreInto(_ck, template)).Item);
        Assert.NotEmpty(_handler.Verify(_ck, 1).Problems);
    }

    private static int[] Noise(int bytes)
    {
        var raw = new byte[bytes];
        new Random(11).NextBytes(raw);
        var values = new int[bytes / 4];
        Buffer.BlockCopy(raw, 0, values, 0, bytes);
        return values;
    }
}
