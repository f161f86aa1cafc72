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

    private static int[] Noise(int bytes)
    {
        var raw = new byte[bytes];
        new Random(11).NextBytes(raw);
        var values = new int[bytes / 4];
        Buffer.BlockCopy(raw, 0, values, 0, bytes);
        return values;
    }
}
