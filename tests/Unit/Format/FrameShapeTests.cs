using System.Buffers.Binary;
using DataraxCkpt.Format;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The reader accepts one LZ4 frame shape only (docs/format.md §2.1): independent 4 MiB blocks, every block but
/// the last exactly 4 MiB. Other shapes the LZ4 frame format allows (the <c>lz4 -B4</c> tool's 64 KiB blocks,
/// linked blocks, a short block before the last) are refused, by this engine and by every earlier one (the check
/// is unchanged since the first format commit). So the writer cannot choose smaller manifest blocks to hold less
/// of the manifest in memory: such a step would be unreadable to every released engine, which must still read a
/// newer step's header (§4).
/// </summary>
public sealed class FrameShapeTests
{
    private const byte IndependentWithSizeAndChecksum = 0x6C;
    private const byte LinkedWithSizeAndChecksum = 0x4C;

    [Theory]
    [InlineData(IndependentWithSizeAndChecksum, 0x40)] // 64 KiB blocks, what lz4 -B4 writes
    [InlineData(IndependentWithSizeAndChecksum, 0x50)] // 256 KiB
    [InlineData(IndependentWithSizeAndChecksum, 0x60)] // 1 MiB
    [InlineData(LinkedWithSizeAndChecksum, 0x70)]      // linked 4 MiB blocks
    public void A_valid_lz4_frame_of_another_block_shape_is_refused(byte flags, byte blockDescriptor)
    {
        var raw = Content(200_000);
        var frame = StoredBlocksFrame(raw, flags, blockDescriptor, blockSize: 64 * 1024);

        var e = Assert.Throws<InvalidDataException>(() => Lz4Frame.Decode(frame, new byte[raw.Length]));
        Assert.Contains("descriptor", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_frame_of_this_engine_s_descriptor_whose_first_block_is_short_is_refused()
    {
        // Same descriptor as the writer's, but blocks of 64 KiB: only the block words differ from a valid frame.
        var raw = Content(200_000);
        var frame = StoredBlocksFrame(raw, IndependentWithSizeAndChecksum, 0x70, blockSize: 64 * 1024);

        Assert.Throws<InvalidDataException>(() => Lz4Frame.Decode(frame, new byte[raw.Length]));
    }

    [Fact]
    public void The_same_content_in_the_writer_s_shape_reads_back()
    {
        // The control for the tests above: the frame builder makes a valid frame when the shape is the writer's.
        var raw = Content(200_000);
        var frame = StoredBlocksFrame(raw, IndependentWithSizeAndChecksum, 0x70, blockSize: Lz4Frame.BlockSize);
        var decoded = new byte[raw.Length];

        Lz4Frame.Decode(frame, decoded);

        Assert.Equal(raw, decoded);
    }

    private static byte[] Content(int length)
    {
        var raw = new byte[length];
        new Random(17).NextBytes(raw);
        return raw;
    }

    /// <summary>A frame holding <paramref name="raw"/> as stored blocks of <paramref name="blockSize"/> bytes.</summary>
    private static byte[] StoredBlocksFrame(byte[] raw, byte flags, byte blockDescriptor, int blockSize)
    {
        var blocks = (raw.Length + blockSize - 1) / blockSize;
        var frame = new byte[15 + (blocks * 4) + raw.Length + 8];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, 0x184D2204);
        frame[4] = flags;
        frame[5] = blockDescriptor;
        BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(6), (ulong)raw.Length);
        frame[14] = (byte)((K4os.Hash.xxHash.XXH32.DigestOf(frame.AsSpan(4, 10)) >> 8) & 0xFF);
        var pos = 15;
        for (var start = 0; start < raw.Length; start += blockSize)
        {
            var length = Math.Min(blockSize, raw.Length - start);
            BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(pos), (uint)length | 0x80000000);
            raw.AsSpan(start, length).CopyTo(frame.AsSpan(pos + 4));
            pos += 4 + length;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(pos), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(pos + 4), K4os.Hash.xxHash.XXH32.DigestOf(raw));
        return frame;
    }
}
