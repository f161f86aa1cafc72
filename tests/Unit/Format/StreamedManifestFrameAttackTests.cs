using DataraxCkpt.Format;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The attack on the block-by-block manifest frame: blocks that do not compress at all (stored raw, the
/// largest a block can be in the one rented buffer, the header in front of the first) and a mix of raw and
/// compressed blocks give the whole-frame encoder's bytes, and a write failing after the first block
/// surfaces as the write's own error.
/// </summary>
public sealed class StreamedManifestFrameAttackTests
{
    private static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Theory]
    [InlineData(Lz4Frame.BlockSize, 0)]
    [InlineData(Lz4Frame.BlockSize + 5, 0)]
    [InlineData((2 * Lz4Frame.BlockSize) + 3, 0)]
    [InlineData((2 * Lz4Frame.BlockSize) + 3, Lz4Frame.BlockSize)]
    public void Incompressible_blocks_stream_as_the_whole_frame(int length, int zeroedPrefix)
    {
        var raw = Random(length, length);
        raw.AsSpan(0, zeroedPrefix).Clear();
        var whole = new byte[Lz4Frame.MaxFrameLength(raw.Length)];
        var wholeLength = Lz4Frame.Encode(raw, whole);
        using var streamed = new MemoryStream();
        var hash = new XXH64();

        Assert.Equal(wholeLength, Lz4Frame.EncodeTo(raw, streamed, hash));
        Assert.True(whole.AsSpan(0, wholeLength).SequenceEqual(streamed.ToArray()));
        Assert.Equal(XXH64.DigestOf(streamed.ToArray()), hash.Digest());
    }

    private sealed class FailingStream : MemoryStream
    {
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Length > 0)
            {
                throw new IOException("No space left on device (test)");
            }

            base.Write(buffer);
        }
    }

    [Fact]
    public void A_write_failing_after_the_first_block_raises_the_write_error()
    {
        var raw = Random((2 * Lz4Frame.BlockSize) + 1, 9);
        using var failing = new FailingStream();
        var e = Assert.Throws<IOException>(() => Lz4Frame.EncodeTo(raw, failing, new XXH64()));
        Assert.Contains("No space left", e.Message, StringComparison.Ordinal);
        Assert.True(failing.Length > 0 && failing.Length < Lz4Frame.MaxFrameLength(raw.Length));
    }
}
