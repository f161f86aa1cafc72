using System.Buffers.Binary;

namespace DataraxCkpt.Format;

internal static partial class Lz4Frame
{
    /// <summary>
    /// Writes the frame <see cref="Encode"/> makes of <paramref name="raw"/> to <paramref name="file"/> (seekable and
    /// readable, buffered or not; nothing of the frame is left in its buffer on return) without holding any block's
    /// output: each block is compressed by <see cref="Lz4BlockEncoder"/> into 64 KiB pieces that go to the file as they
    /// fill, its size word written as a placeholder and patched once the block is done; a block that does not compress
    /// is rewound and written raw from <paramref name="raw"/>. The frame is the same bytes <see cref="EncodeTo"/>
    /// writes (the tests compare them); what changes is that the largest buffer is 64 KiB instead of a block's
    /// worst-case output (round 50 of docs/performance-notes.md). Returns the frame's length and the XXH64 of its bytes
    /// as written (the index's manifest hash). The frame's content checksum (an XXH32 of all of
    /// <paramref name="raw"/>) is taken on a pool thread while the blocks are compressed (round 64); the call returns
    /// only once that read of <paramref name="raw"/> is over, so its owner may reuse the memory then.
    /// </summary>
    public static (long Length, ulong FileHash) EncodeToFile(ReadOnlyMemory<byte> raw, FileStream file)
    {
        if (!Lz4BlockEncoder.Supported)
        {
            throw new PlatformNotSupportedException("the pieced LZ4 encoder runs on little-endian hosts; write the frame with EncodeTo");
        }

        // Below a piece the hash is a few microseconds, less than a task's start.
        var checksum = raw.Length >= Lz4Pieces.PieceSize ? PoolOrWaiter.Run(() => XxHash32.DigestOf(raw.Span)) : null;
        try
        {
            return EncodePieces(raw.Span, file, checksum);
        }
        finally
        {
            // A failed encode still waits: the checksum reads the caller's buffer, which goes back to a pool after.
            PoolOrWaiter.WaitIgnoringFailure(checksum);
        }
    }

    private static (long Length, ulong FileHash) EncodePieces(ReadOnlySpan<byte> raw, FileStream file, Task<uint>? checksum)
    {
        using var pieces = new Lz4Pieces(file);
        WriteHeader(pieces.Take(HeaderLength), raw.Length);
        Span<byte> word = stackalloc byte[4];
        for (var start = 0; start < raw.Length; start += BlockSize)
        {
            var block = raw.Slice(start, Math.Min(BlockSize, raw.Length - start));
            var at = pieces.Position;
            pieces.Take(4).Clear();
            var encoded = Lz4BlockEncoder.Encode(block, pieces);
            if (encoded < 0)
            {
                // Incompressible: what the encoder appended (shorter than the block) is overwritten by the block itself.
                pieces.RewindTo(at + 4);
                pieces.Write(block);
                BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)block.Length | RawBlockBit);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)encoded);
            }

            pieces.Patch(at, word);
        }

        var trailer = pieces.Take(8);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], checksum is null ? XxHash32.DigestOf(raw) : checksum.GetAwaiter().GetResult());
        var length = pieces.Position;
        return (length, pieces.Finish());
    }
}
