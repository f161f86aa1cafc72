using System.Buffers.Binary;
using DataraxCkpt.Format;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Attack deadframe24 (2be6d83, the raw-only frame of a host without the block parse): one Append spanning two 4 MiB
/// block edges, and single bytes appended across an edge; every block is raw, exactly 4 MiB but the last, the
/// content size and checksum are the content's, and it decodes.
/// </summary>
public sealed class DeadFrame24RawOnlyEdgeAttackTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void A_raw_only_frame_cut_at_block_edges_in_any_way_decodes_with_every_block_raw(int how)
    {
        var length = (2 * Lz4Frame.BlockSize) + 1;
        var content = new byte[length];
        new Random(how).NextBytes(content.AsSpan(0, 1000));
        content.AsSpan(Lz4Frame.BlockSize - 3, 7).Fill(0x5A);
        content[^1] = 0x77;
        byte[] bytes;
        using (var frame = new Lz4StreamedFrame(compress: false))
        {
            switch (how)
            {
                case 0:
                    frame.Append(content);
                    break;
                case 1:
                    frame.Append(content.AsSpan(0, Lz4Frame.BlockSize - 2));
                    for (var i = Lz4Frame.BlockSize - 2; i < Lz4Frame.BlockSize + 2; i++)
                    {
                        frame.Append(content.AsSpan(i, 1));
                    }

                    frame.Append(content.AsSpan(Lz4Frame.BlockSize + 2));
                    break;
                default:
                    frame.Append(content.AsSpan(0, 1));
                    frame.Append(ReadOnlySpan<byte>.Empty);
                    frame.Append(content.AsSpan(1, length - 2));
                    frame.Append(content.AsSpan(length - 1));
                    break;
            }

            frame.Finish();
            frame.Finish();
            using var stream = new MemoryStream();
            var (written, hash) = frame.CopyTo(stream);
            bytes = stream.ToArray();
            Assert.Equal(bytes.Length, written);
            Assert.Equal(K4os.Hash.xxHash.XXH64.DigestOf(bytes), hash);
        }

        Assert.Equal((ulong)length, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(6)));
        var pos = Lz4Frame.HeaderLength;
        var sizes = new List<uint>();
        while (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos)) is var word && word != 0)
        {
            Assert.NotEqual(0u, word & Lz4Frame.RawBlockBit);
            sizes.Add(word & ~Lz4Frame.RawBlockBit);
            pos += 4 + (int)(word & ~Lz4Frame.RawBlockBit);
        }

        Assert.Equal([(uint)Lz4Frame.BlockSize, (uint)Lz4Frame.BlockSize, 1u], sizes);
        Assert.Equal(bytes.Length, pos + 8);
        Assert.Equal(XxHash32.DigestOf(content), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 4)));
        var decoded = new byte[length];
        Lz4Frame.Decode(bytes, decoded);
        Assert.True(content.AsSpan().SequenceEqual(decoded));
    }
}
