using System.Buffers.Binary;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// Large unfiltered chunks are taken by one task up to four at a time, and those stored raw get their checksums
/// computed side by side: every stored frame's checksum is still the xxHash32 of its own content (checked here
/// with the reference implementation, not the engine's), whatever the group's size, the chunks' lengths, the
/// tensors a group spans, or compressed chunks among the stored ones.
/// </summary>
public sealed class StoredGroupChecksumTests : IDisposable
{
    private const int Chunk = 4 << 20;

    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Theory]
    [InlineData(1, 0)] // one chunk: a group of one
    [InlineData(4, 0)] // one whole group
    [InlineData(5, 0)] // a group and a group of one
    [InlineData(7, (1 << 20) + 12)] // a group, then three whole chunks and a short last chunk of odd length
    [InlineData(9, 20)] // two groups, a chunk, and a last chunk small enough to be packed with others
    public void Every_stored_frame_of_a_group_carries_the_reference_checksum_of_its_content(int wholeChunks, int tail)
    {
        var bytes = (wholeChunks * Chunk) + tail;
        var noise = Noise(bytes, seed: wholeChunks);
        var ck = _dir.Sub($"g{wholeChunks}-{tail}");
        _handler.Save(ck, new Dictionary<string, object?> { ["n"] = noise }, step: 1);

        var data = File.ReadAllBytes(Path.Combine(ck, "1", "tensors.lz4"));
        var raw = new byte[bytes];
        Buffer.BlockCopy(noise, 0, raw, 0, bytes);
        var frames = StoredFrames(data, raw, wholeChunks + (tail >= 1 << 20 ? 1 : 0));
        Assert.Equal(wholeChunks + (tail >= 1 << 20 ? 1 : 0), frames);
        Assert.Equal(noise, (int[])((Dictionary<string, object?>)_handler.Restore(ck)!)["n"]!);
    }

    [Fact]
    public void A_group_spanning_tensors_and_holding_a_compressed_chunk_restores_exactly()
    {
        // Chunks in order: a (4, 2 MiB), b (4 MiB noise, 4 MiB zeros, 4 MiB noise), c (3 MiB + 8): the groups are
        // [a0 a1 b0 b1] and [b2 c0], with b1 compressed between stored chunks.
        var b = Noise(3 * Chunk, seed: 2);
        Array.Clear(b, Chunk / 4, Chunk / 4);
        var state = new Dictionary<string, object?>
        {
            ["a"] = Noise(6 << 20, seed: 1),
            ["b"] = b,
            ["c"] = Noise((3 << 20) + 8, seed: 3),
        };
        var ck = _dir.Sub("mixed");
        _handler.Save(ck, state, step: 1);

        var stored = Lz4Frame.StoredFrameLength(Chunk) * 3 + Lz4Frame.StoredFrameLength(2 << 20) + Lz4Frame.StoredFrameLength((3 << 20) + 8);
        var dataLength = new FileInfo(Path.Combine(ck, "1", "tensors.lz4")).Length;
        Assert.InRange(dataLength, stored + 1, stored + (64 << 10)); // the zeros chunk is compressed, the rest stored
        var restored = (Dictionary<string, object?>)_handler.Restore(ck)!;
        foreach (var name in state.Keys)
        {
            Assert.Equal((int[])state[name]!, (int[])restored[name]!);
        }

        Assert.Empty(_handler.Verify(ck, 1).Problems);
    }

    /// <summary>
    /// Walks the data file's leading stored frames (chunks of <see cref="Chunk"/> bytes, the last maybe shorter) and
    /// checks each one's content against the tensor's bytes and its checksum against the reference xxHash32.
    /// </summary>
    private static int StoredFrames(byte[] data, byte[] raw, int expected)
    {
        var at = 0;
        var frames = 0;
        for (var offset = 0; frames < expected; offset += Chunk, frames++)
        {
            var length = Math.Min(Chunk, raw.Length - offset);
            var frameLength = Lz4Frame.StoredFrameLength(length);
            Assert.True(Lz4Frame.IsStoredFrame(data.AsSpan(at), frameLength, length), $"frame {frames} is not a stored frame");
            var content = data.AsSpan(at + Lz4Frame.StoredPrefixLength, length);
            Assert.True(content.SequenceEqual(raw.AsSpan(offset, length)), $"frame {frames} holds other bytes");
            Assert.Equal(XXH32.DigestOf(raw, offset, length), BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at + frameLength - 4, 4)));
            at += frameLength;
        }

        return frames;
    }

    private static int[] Noise(int bytes, int seed)
    {
        var raw = new byte[bytes];
        new Random(seed).NextBytes(raw);
        var values = new int[bytes / 4];
        Buffer.BlockCopy(raw, 0, values, 0, bytes);
        return values;
    }
}
