using DataraxCkpt.Format;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The in-memory pieces a streamed frame is built in: bytes rewound past what already went to a piece are dropped and
/// written over, patches land in the buffer, in one piece or across two, and <see cref="Lz4Pieces.CopyTo"/> writes the
/// frame in order with the XXH64 of exactly those bytes. Content and parse alone rarely rewind across pieces (only a
/// block kept raw does), so the pieces are driven directly.
/// </summary>
public sealed class Lz4PiecesTests
{
    [Fact]
    public void Bytes_rewound_past_a_piece_are_overwritten_and_patches_land_in_pieces_and_in_the_buffer()
    {
        using var pieces = new Lz4Pieces();
        pieces.Write(Enumerable.Repeat((byte)1, 100_000).ToArray());
        pieces.RewindTo(10);
        pieces.Write(Enumerable.Repeat((byte)2, 100_000).ToArray());
        pieces.Take(6).Fill(3);
        pieces.Patch(0, [9, 9, 9, 9]);
        pieces.Patch(100_006, [7, 7]);
        pieces.Patch(100_012, [5]);
        using var stream = new MemoryStream();

        var (length, hash) = pieces.CopyTo(stream);

        byte[] expected = [9, 9, 9, 9, 1, 1, 1, 1, 1, 1, .. Enumerable.Repeat((byte)2, 99_996), 7, 7, 2, 2, 3, 3, 5, 3, 3, 3];
        Assert.Equal(expected, stream.ToArray());
        Assert.Equal(expected.Length, length);
        Assert.Equal(XXH64.DigestOf(expected), hash);
    }

    [Fact]
    public void A_patch_across_two_pieces_of_uneven_length_lands_in_both()
    {
        using var pieces = new Lz4Pieces();
        // A piece ends where a take did not fit behind the buffer's bytes, here at 65,000.
        pieces.Take(65_000).Fill(1);
        pieces.Take(1_000).Fill(2);
        pieces.Flush();
        pieces.Patch(64_998, [8, 8, 8, 8]);
        using var stream = new MemoryStream();

        pieces.CopyTo(stream);

        byte[] expected = [.. Enumerable.Repeat((byte)1, 64_998), 8, 8, 8, 8, .. Enumerable.Repeat((byte)2, 998)];
        Assert.Equal(expected, stream.ToArray());
    }
}
