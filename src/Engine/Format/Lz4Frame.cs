using System.Buffers.Binary;
using K4os.Compression.LZ4;

namespace DataraxCkpt.Format;

/// <summary>
/// Writes and reads standard LZ4 frames (the format of the <c>lz4</c> command-line tool): magic,
/// frame descriptor with independent 4 MiB blocks, the content size and a content checksum
/// (xxHash32 of the raw bytes), blocks stored raw when they do not compress, and the end mark.
/// The reader is strict and bounded: it never writes past the destination it is given and checks
/// every length against the bytes it has before using it.
/// </summary>
internal static class Lz4Frame
{
    /// <summary>Largest raw block; also the largest tensor chunk.</summary>
    public const int BlockSize = 4 << 20;

    private const uint Magic = 0x184D2204;
    private const byte Flags = 0x40 | 0x20 | 0x08 | 0x04; // version 01, independent blocks, content size, content checksum
    private const byte BlockDescriptor = 7 << 4;          // 4 MiB blocks
    internal const int HeaderLength = 4 + 2 + 8 + 1;
    internal const uint RawBlockBit = 0x80000000;

    /// <summary>
    /// Bytes of a frame that are not block data: header (15), one block word (4), end mark (4) and
    /// content checksum (4). A frame holding at least one byte is at least one byte longer.
    /// </summary>
    public const int MinFrameOverhead = HeaderLength + 4 + 4 + 4;

    /// <summary>Bytes a frame of <paramref name="rawLength"/> bytes may take at most.</summary>
    public static int MaxFrameLength(int rawLength)
    {
        var blocks = Math.Max(1, (rawLength + BlockSize - 1) / BlockSize);
        return HeaderLength + blocks * (4 + LZ4Codec.MaximumOutputSize(Math.Min(rawLength, BlockSize))) + 4 + 4;
    }

    /// <summary>
    /// Most raw bytes a frame of <paramref name="frameLength"/> bytes can hold: 255 times its block bytes,
    /// which are at most the frame less <see cref="MinFrameOverhead"/>. No LZ4 block decodes to 255 times
    /// its own length (each run of 255 output bytes costs at least one input byte, plus a token and an
    /// offset per match), so a claim above this is refused before anything is allocated for it.
    /// </summary>
    public static ulong MaxContentLength(long frameLength) =>
        frameLength <= MinFrameOverhead ? 0 : 255UL * (ulong)(frameLength - MinFrameOverhead);

    /// <summary>Encodes <paramref name="raw"/> as one frame into <paramref name="frame"/>; returns its length.</summary>
    public static int Encode(ReadOnlySpan<byte> raw, Span<byte> frame, LZ4Level level = LZ4Level.L00_FAST)
    {
        var pos = WriteHeader(frame, raw.Length);
        for (var start = 0; start < raw.Length; start += BlockSize)
        {
            pos = WriteBlock(raw.Slice(start, Math.Min(BlockSize, raw.Length - start)), frame, pos, level);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(frame[pos..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[(pos + 4)..], XxHash32.DigestOf(raw));
        return pos + 8;
    }

    /// <summary>Writes the frame header for <paramref name="rawLength"/> content bytes; returns its length.</summary>
    internal static int WriteHeader(Span<byte> frame, int rawLength)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(frame, Magic);
        frame[4] = Flags;
        frame[5] = BlockDescriptor;
        BinaryPrimitives.WriteUInt64LittleEndian(frame[6..], (ulong)rawLength);
        frame[14] = HeaderChecksum(frame[4..14]);
        return HeaderLength;
    }

    /// <summary>Writes one block (its size word and bytes) at <paramref name="pos"/>; returns the position after it.</summary>
    private static int WriteBlock(ReadOnlySpan<byte> block, Span<byte> frame, int pos, LZ4Level level)
    {
        var body = frame[(pos + 4)..];
        var encoded = LZ4Codec.Encode(block, body, level);
        if (encoded <= 0 || encoded >= block.Length)
        {
            // Incompressible data is stored as it is, which the format allows per block.
            block.CopyTo(body);
            BinaryPrimitives.WriteUInt32LittleEndian(frame[pos..], (uint)block.Length | RawBlockBit);
            return pos + 4 + block.Length;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(frame[pos..], (uint)encoded);
        return pos + 4 + encoded;
    }

    /// <summary>Where a one-block frame's block data starts: after the header and the block word.</summary>
    public const int SingleBlockOffset = HeaderLength + 4;

    /// <summary>
    /// Completes a frame of one block whose LZ4 encoding of <paramref name="content"/> (1 byte to 4 MiB) the
    /// caller already put at <see cref="SingleBlockOffset"/> in <paramref name="frame"/>: writes the header,
    /// the block word, the end mark and the checksum, and returns the frame's length. When
    /// <paramref name="encoded"/> is not a gain (0 or less, or not shorter than the content) the content is
    /// copied there as a stored block. The result is byte for byte what <see cref="Encode"/> makes of the
    /// same content, which lets a writer try two encodings of a small chunk and keep one without encoding it
    /// a third time.
    /// </summary>
    public static int CompleteSingleBlock(Span<byte> frame, ReadOnlySpan<byte> content, int encoded)
    {
        if (content.Length == 0 || content.Length > BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(content), content.Length, "A one-block frame holds 1 byte to 4 MiB.");
        }

        BinaryPrimitives.WriteUInt32LittleEndian(frame, Magic);
        frame[4] = Flags;
        frame[5] = BlockDescriptor;
        BinaryPrimitives.WriteUInt64LittleEndian(frame[6..], (ulong)content.Length);
        frame[14] = HeaderChecksum(frame[4..14]);
        int pos;
        if (encoded <= 0 || encoded >= content.Length)
        {
            content.CopyTo(frame[SingleBlockOffset..]);
            BinaryPrimitives.WriteUInt32LittleEndian(frame[HeaderLength..], (uint)content.Length | RawBlockBit);
            pos = SingleBlockOffset + content.Length;
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(frame[HeaderLength..], (uint)encoded);
            pos = SingleBlockOffset + encoded;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(frame[pos..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[(pos + 4)..], XxHash32.DigestOf(content));
        return pos + 8;
    }

    /// <summary>Bytes before the data of a frame that holds its content as one stored (raw) block: header and block word.</summary>
    public const int StoredPrefixLength = HeaderLength + 4;

    /// <summary>Bytes after the data of such a frame: end mark and content checksum.</summary>
    public const int StoredTrailerLength = 8;

    /// <summary>Length of a frame that holds <paramref name="rawLength"/> (at most one block) stored raw.</summary>
    public static int StoredFrameLength(int rawLength) => StoredPrefixLength + rawLength + StoredTrailerLength;

    /// <summary>
    /// Writes the header and block word of a frame holding <paramref name="rawLength"/> bytes as one stored
    /// block: the frame <see cref="Encode"/> produces for bytes that do not compress, so the data can be
    /// written from where it lies instead of being copied into a frame buffer.
    /// </summary>
    public static void WriteStoredPrefix(Span<byte> prefix, int rawLength)
    {
        if ((uint)rawLength > BlockSize || rawLength == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rawLength), rawLength, "A stored frame holds one block of 1 byte to 4 MiB.");
        }

        BinaryPrimitives.WriteUInt32LittleEndian(prefix, Magic);
        prefix[4] = Flags;
        prefix[5] = BlockDescriptor;
        BinaryPrimitives.WriteUInt64LittleEndian(prefix[6..], (ulong)rawLength);
        prefix[14] = HeaderChecksum(prefix[4..14]);
        BinaryPrimitives.WriteUInt32LittleEndian(prefix[HeaderLength..], (uint)rawLength | RawBlockBit);
    }

    /// <summary>Writes the end mark and content checksum that close a stored frame.</summary>
    public static void WriteStoredTrailer(Span<byte> trailer, uint contentChecksum)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], contentChecksum);
    }

    /// <summary>
    /// True when <paramref name="prefix"/> starts a valid frame of <paramref name="frameLength"/> bytes that
    /// holds exactly <paramref name="rawLength"/> bytes as one stored block, whose data can then be read
    /// straight into its destination.
    /// </summary>
    public static bool IsStoredFrame(ReadOnlySpan<byte> prefix, int frameLength, int rawLength) =>
        rawLength > 0 && rawLength <= BlockSize && frameLength == StoredFrameLength(rawLength) && prefix.Length >= StoredPrefixLength
        && BinaryPrimitives.ReadUInt32LittleEndian(prefix) == Magic && prefix[4] == Flags && prefix[5] == BlockDescriptor
        && prefix[14] == HeaderChecksum(prefix[4..14]) && BinaryPrimitives.ReadUInt64LittleEndian(prefix[6..]) == (ulong)rawLength
        && BinaryPrimitives.ReadUInt32LittleEndian(prefix[HeaderLength..]) == ((uint)rawLength | RawBlockBit);

    /// <summary>Checks a stored frame's trailer against the data read into <paramref name="raw"/>.</summary>
    /// <exception cref="InvalidDataException">The end mark is missing or the checksum does not match.</exception>
    public static void CheckStoredTrailer(ReadOnlySpan<byte> trailer, ReadOnlySpan<byte> raw)
    {
        CheckStoredEndMark(trailer);
        CheckStoredChecksum(trailer, XxHash32.DigestOf(raw));
    }

    /// <summary>Checks that a stored frame's trailer starts with the end mark.</summary>
    /// <exception cref="InvalidDataException">It does not: the frame claims more blocks.</exception>
    public static void CheckStoredEndMark(ReadOnlySpan<byte> trailer)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(trailer) != 0)
        {
            throw new InvalidDataException("LZ4 frame has more blocks than its content size allows");
        }
    }

    /// <summary>Checks a stored frame's content checksum against <paramref name="digest"/>, the xxHash32 of the data read.</summary>
    /// <exception cref="InvalidDataException">They differ.</exception>
    public static void CheckStoredChecksum(ReadOnlySpan<byte> trailer, uint digest)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]) != digest)
        {
            throw new InvalidDataException("checksum mismatch: the stored bytes were altered");
        }
    }

    /// <summary>Reads the content size a frame declares, checking the header first.</summary>
    /// <exception cref="InvalidDataException">The header is not one this engine writes.</exception>
    public static long ReadContentSize(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < HeaderLength + 8)
        {
            throw new InvalidDataException($"LZ4 frame of {frame.Length} bytes is too short");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(frame) != Magic)
        {
            throw new InvalidDataException("LZ4 frame magic number is wrong");
        }

        if (frame[4] != Flags || frame[5] != BlockDescriptor)
        {
            throw new InvalidDataException($"LZ4 frame descriptor 0x{frame[4]:x2}{frame[5]:x2} is not the one this format uses");
        }

        if (frame[14] != HeaderChecksum(frame[4..14]))
        {
            throw new InvalidDataException("LZ4 frame header checksum does not match");
        }

        var size = BinaryPrimitives.ReadUInt64LittleEndian(frame[6..]);
        if (size > MaxContentLength(frame.Length))
        {
            // LZ4 cannot expand a block by 255 times or more; a larger claim is a lie about the input.
            throw new InvalidDataException($"LZ4 frame claims {size} bytes of content from {frame.Length} stored bytes, beyond LZ4's 255:1 limit");
        }

        return (long)size;
    }

    /// <summary>Decodes a whole frame into <paramref name="raw"/>, whose length must be the declared content size.</summary>
    /// <exception cref="InvalidDataException">Any length, block or checksum is wrong.</exception>
    public static void Decode(ReadOnlySpan<byte> frame, Span<byte> raw)
    {
        var declared = ReadContentSize(frame);
        if (declared != raw.Length)
        {
            throw new InvalidDataException($"LZ4 frame holds {declared} bytes where {raw.Length} were expected");
        }

        var pos = HeaderLength;
        var done = 0;
        while (true)
        {
            if (pos + 4 > frame.Length)
            {
                throw new InvalidDataException("LZ4 frame is truncated");
            }

            var word = BinaryPrimitives.ReadUInt32LittleEndian(frame[pos..]);
            pos += 4;
            if (word == 0)
            {
                break;
            }

            var length = (int)(word & ~RawBlockBit);
            if (length > BlockSize || length > frame.Length - pos)
            {
                throw new InvalidDataException("LZ4 block length runs past the frame");
            }

            var expected = Math.Min(BlockSize, raw.Length - done);
            if (expected <= 0)
            {
                throw new InvalidDataException("LZ4 frame has more blocks than its content size allows");
            }

            var block = frame.Slice(pos, length);
            var target = raw.Slice(done, expected);
            if ((word & RawBlockBit) != 0)
            {
                if (length != expected)
                {
                    throw new InvalidDataException("stored LZ4 block has the wrong length");
                }

                block.CopyTo(target);
            }
            else if (LZ4Codec.Decode(block, target) != expected)
            {
                throw new InvalidDataException("LZ4 block does not decode to its expected length");
            }

            done += expected;
            pos += length;
        }

        if (done != raw.Length)
        {
            throw new InvalidDataException($"LZ4 frame decoded to {done} of {raw.Length} bytes");
        }

        if (pos + 4 != frame.Length)
        {
            throw new InvalidDataException(pos + 4 > frame.Length ? "LZ4 frame checksum is missing" : "LZ4 frame has bytes after its end");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(frame[pos..]) != XxHash32.DigestOf(raw))
        {
            throw new InvalidDataException("checksum mismatch: the stored bytes were altered");
        }
    }

    private static byte HeaderChecksum(ReadOnlySpan<byte> descriptor) => (byte)((XxHash32.DigestOf(descriptor) >> 8) & 0xFF);
}
