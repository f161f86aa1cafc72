using DataraxCkpt.Format;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The attack on the manifest frame, against the streamed frame a save writes: content that does not compress at all
/// is stored raw block by block, which is exactly the frame <see cref="Lz4Frame.Encode"/> makes of it, and a write
/// failing after the first piece surfaces as the write's own error.
/// </summary>
public sealed class StreamedManifestFrameAttackTests
{
    private static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static Lz4StreamedFrame Streamed(byte[] raw)
    {
        var frame = new Lz4StreamedFrame();
        // The pieces a save's walk hands over.
        for (var at = 0; at < raw.Length; at += StreamedManifest.PieceSize)
        {
            frame.Append(raw.AsSpan(at, Math.Min(StreamedManifest.PieceSize, raw.Length - at)));
        }

        frame.Finish();
        return frame;
    }

    [Theory]
    [InlineData(Lz4Frame.BlockSize)]
    [InlineData(Lz4Frame.BlockSize + 5)]
    [InlineData((2 * Lz4Frame.BlockSize) + 3)]
    public void Incompressible_blocks_are_stored_raw_as_the_whole_frame_stores_them(int length)
    {
        var raw = Random(length, length);
        var whole = new byte[Lz4Frame.MaxFrameLength(raw.Length)];
        var wholeLength = Lz4Frame.Encode(raw, whole);
        using var frame = Streamed(raw);
        using var streamed = new MemoryStream();

        var (written, hash) = frame.CopyTo(streamed);

        Assert.Equal(wholeLength, written);
        Assert.True(whole.AsSpan(0, wholeLength).SequenceEqual(streamed.ToArray()));
        Assert.Equal(XXH64.DigestOf(streamed.ToArray()), hash);
    }

    private sealed class FailingStream : MemoryStream
    {
        public override void Write(byte[] buffer, int offset, int count)
        {
            if (Length > 0)
            {
                throw new IOException("No space left on device (test)");
            }

            base.Write(buffer, offset, count);
        }
    }

    [Fact]
    public void A_write_failing_after_the_first_piece_raises_the_write_error()
    {
        var raw = Random((2 * Lz4Frame.BlockSize) + 1, 9);
        using var frame = Streamed(raw);
        using var failing = new FailingStream();
        var e = Assert.Throws<IOException>(() => frame.CopyTo(failing));
        Assert.Contains("No space left", e.Message, StringComparison.Ordinal);
        Assert.True(failing.Length > 0 && failing.Length < Lz4Frame.MaxFrameLength(raw.Length));
    }
}
