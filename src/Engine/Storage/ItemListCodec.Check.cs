using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace DataraxCkpt.Storage;

internal static partial class ItemListCodec
{
    /// <summary>The first size of the buffer a check keeps the previous front-coded name in (grown as needed).</summary>
    private const int FirstNameBuffer = 256;

    /// <summary>
    /// The repair's integrity check of one step's list: refuses, with <see cref="FormatException"/>, exactly the lists
    /// <see cref="Decode"/> refuses, and accepts every list it decodes, without making its items. Not only checksum and
    /// count: a list that passes its checksum but that every reader refuses (a front-coded name sharing more than the
    /// name before it, names past the format's limit) must be damage here too, since the repair rebuilds only what this
    /// check calls damage.
    /// </summary>
    /// <remarks>
    /// It walks the list as <see cref="ReadItems"/> does, with the same reads and the same bounds, and where that builds
    /// a string, an array or an item it only validates the bytes in place (UTF-8, the names' characters counted for the
    /// format's limit). The decompressed payload and the previous front-coded name live in pooled buffers, so a repair
    /// checking thousands of steps allocates nothing per step (a whole decode made about 2 MB of items and strings for a
    /// list of 12,000 config leaves; docs/performance-notes.md, round 59). ItemListCheckTests holds the two to the same
    /// answer on every mutation of real and hostile lists.
    /// </remarks>
    public static void Check(long step, ReadOnlySpan<byte> blob, int expectedCount)
    {
        var body = VerifiedBody(step, blob);
        var pos = 1;
        if (body[0] == RowLayout)
        {
            var count = (int)ReadCount(step, body, ref pos, expectedCount, SmallestItem);
            CheckItems(step, body, pos, count, frontCoded: false);
            return;
        }

        var length = PayloadLength(step, body, ref pos, expectedCount);
        var payload = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            Decompress(step, body[pos..], payload.AsSpan(0, length));
            CheckItems(step, payload.AsSpan(0, length), 0, expectedCount, frontCoded: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(payload);
        }
    }

    /// <summary><see cref="ReadItems"/>'s walk, every refusal kept, nothing made.</summary>
    private static void CheckItems(long step, ReadOnlySpan<byte> data, int pos, int count, bool frontCoded)
    {
        var texts = ReadTableCount(data, ref pos, count, step);
        for (var t = 0; t < texts; t++)
        {
            CheckUtf8(data, ref pos, Length(ReadVarint(data, ref pos, step), data.Length - pos, step), step);
        }

        // The whole of a front-coded name must be UTF-8, and a shared run may end inside a character, so its bytes are
        // assembled as the decode assembles them (the validity of the previous name says nothing of its first S bytes).
        var previous = frontCoded ? ArrayPool<byte>.Shared.Rent(FirstNameBuffer) : [];
        try
        {
            var previousLength = 0;
            long nameChars = 0;
            for (var i = 0; i < count; i++)
            {
                var shared = frontCoded ? Length(ReadVarint(data, ref pos, step), previousLength, step) : 0;
                var header = ReadVarint(data, ref pos, step);
                if ((header & 1) == 0)
                {
                    var suffix = Length(header >> 1, data.Length - pos, step);
                    if (frontCoded)
                    {
                        if (shared + suffix > previous.Length)
                        {
                            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(previous.Length * 2, shared + suffix));
                            previous.AsSpan(0, shared).CopyTo(grown);
                            ArrayPool<byte>.Shared.Return(previous);
                            previous = grown;
                        }

                        data.Slice(pos, suffix).CopyTo(previous.AsSpan(shared));
                        pos += suffix;
                        previousLength = shared + suffix;
                        var whole = previous.AsSpan(0, previousLength);

                        // As the decode: characters counted (an invalid sequence as its replacements) and the limit
                        // checked first, then the text refused if it is not UTF-8; either way the list is refused. Most
                        // names are ASCII, which is UTF-8 of a character a byte: one pass answers both.
                        var ascii = Ascii.IsValid(whole);
                        nameChars += ascii ? whole.Length : Encoding.UTF8.GetCharCount(whole);
                        if (nameChars > Values.StateDecoder.MaxItemNameChars)
                        {
                            throw NamesTooLong(step);
                        }

                        if (!ascii)
                        {
                            var at = 0;
                            CheckUtf8(whole, ref at, previousLength, step);
                        }
                    }
                    else
                    {
                        CheckUtf8(data, ref pos, suffix, step);
                    }
                }
                else
                {
                    if (shared != 0)
                    {
                        throw FrontCodedUtf16(step);
                    }

                    // Any code units at all: this form exists for names UTF-8 cannot carry.
                    pos += Length(header >> 1, (data.Length - pos) / 2, step) * 2;
                    previousLength = 0;
                }

                var kindCode = ReadVarint(data, ref pos, step);
                if (kindCode >= (ulong)texts)
                {
                    throw KindOutOfRange(step, kindCode, texts);
                }

                _ = Length(ReadVarint(data, ref pos, step), texts, step);
                var shapeCode = ReadShapeCode(data, ref pos, step);
                for (var d = 1; d < shapeCode; d++)
                {
                    _ = ReadVarint(data, ref pos, step);
                }

                _ = ReadVarint(data, ref pos, step);
                _ = ReadVarint(data, ref pos, step);
            }
        }
        finally
        {
            if (frontCoded)
            {
                ArrayPool<byte>.Shared.Return(previous);
            }
        }

        if (pos != data.Length)
        {
            throw TrailingBytes(step, data.Length - pos);
        }
    }

    /// <summary><see cref="ReadUtf8"/> without the string: the bytes refused unless UTF-8, then passed.</summary>
    private static void CheckUtf8(ReadOnlySpan<byte> body, ref int pos, int length, long step)
    {
        if (!Utf8.IsValid(body.Slice(pos, length)))
        {
            throw NotUtf8(step);
        }

        pos += length;
    }
}
