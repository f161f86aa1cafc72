using System.Buffers.Binary;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Attack deadframe24: Lz4StreamedFrame drops the window to <see cref="Lz4StreamedFrame.FirstNeeded"/>, and the parse
/// takes a match as far back as 65,535 bytes (LZ4's largest offset). Content built so the first part's parse stops on a
/// match ending where the part ends (next = anchor = part end - 5), the 4 bytes there last seen (and hashed, as the
/// position right after a match) exactly 65,535 bytes back, and the second part large enough that the 256 KiB window
/// array drops: the frame's block must be the one the parse makes over the whole block in memory with the same part
/// ends. A window one byte too short (FirstNeeded at next - Window + 2) loses that match (its first byte is outside
/// the window) and writes another block.
/// </summary>
public sealed unsafe class DeadFrame24WindowEdgeAttackTests
{
    private static readonly byte[] Unique = [0xAB, 0xCD, 0xEF, 0x12];

    private static (byte[] Content, int FirstPart, int MatchAt) Content(int matchFrom, int secondPart)
    {
        var matchAt = matchFrom + 65_535;
        var firstPart = matchAt + 5;
        var content = new byte[firstPart + secondPart];
        Unique.CopyTo(content, matchFrom);
        Unique.CopyTo(content, matchAt);
        return (content, firstPart, matchAt);
    }

    private static byte[] Drain(Lz4Pieces pieces)
    {
        using var stream = new MemoryStream();
        pieces.CopyTo(stream);
        return stream.ToArray();
    }

    // The parse over the whole block held in memory (nothing dropped), called at the same part ends as the frame does.
    private static byte[] Reference(byte[] content, int firstPart, out int nextAfterFirst, out int anchorAfterFirst)
    {
        using var pieces = new Lz4Pieces();
        var table = new uint[Lz4BlockEncoder.StreamedTableEntries];
        var next = 0;
        var anchor = 0;
        fixed (byte* block = content)
        fixed (uint* t = table)
        {
            Lz4BlockEncoder.Continue(block, block, firstPart, final: false, t, ref next, ref anchor, pieces);
            nextAfterFirst = next;
            anchorAfterFirst = anchor;
            Lz4BlockEncoder.Continue(block, block, content.Length, final: false, t, ref next, ref anchor, pieces);
            Lz4BlockEncoder.Continue(block, block, content.Length, final: true, t, ref next, ref anchor, pieces);
        }

        return Drain(pieces);
    }

    [Theory]
    [InlineData(100, 300_000)]
    [InlineData(1_000, 250_000)]
    [InlineData(5_000, 1_000_000)]
    public void A_match_exactly_65535_back_from_where_a_part_ends_survives_the_window_drop(int matchFrom, int secondPart)
    {
        var (content, firstPart, matchAt) = Content(matchFrom, secondPart);

        var expected = Reference(content, firstPart, out var next, out var anchor);
        Assert.Equal(matchAt, next);
        Assert.Equal(matchAt, anchor);

        byte[] frame;
        using (var streamed = new Lz4StreamedFrame())
        {
            streamed.Append(content.AsSpan(0, firstPart));
            streamed.Append(content.AsSpan(firstPart));
            streamed.Finish();
            using var output = new MemoryStream();
            streamed.CopyTo(output);
            frame = output.ToArray();
        }

        var word = BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(Lz4Frame.HeaderLength));
        Assert.Equal(0u, word & Lz4Frame.RawBlockBit);
        var block = frame.AsSpan(Lz4Frame.HeaderLength + 4, (int)word).ToArray();
        Assert.True(content.AsSpan().SequenceEqual(K4osReference.Decode(block, content.Length)), "the frame's block does not decode to the content");
        Assert.True(expected.AsSpan().SequenceEqual(block), "the frame's block is not the parse over the whole block: a match 65,535 bytes back was lost to the window");

        var raw = new byte[content.Length];
        Lz4Frame.Decode(frame, raw);
        Assert.True(content.AsSpan().SequenceEqual(raw));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(10, 65_545)]
    [InlineData(70_000, 70_000)]
    [InlineData(1_000_000, 1_000_000)]
    [InlineData(1_000_000, 2_000_000)]
    public void FirstNeeded_keeps_the_byte_a_match_at_the_largest_offset_starts_at_and_the_pending_literals(int anchor, int next)
    {
        var first = Lz4StreamedFrame.FirstNeeded(anchor, next);
        Assert.True(first <= anchor, "pending literals dropped");
        Assert.True(first <= Math.Max(0, next - 65_535), "the first byte of a match 65,535 back from next dropped");
        Assert.True(first >= 0);
    }
}
