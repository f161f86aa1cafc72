using System.Buffers.Binary;
using K4os.Compression.LZ4;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Storage;

/// <summary>
/// Test support: item-list blobs made byte by byte (docs/format.md §3.1), for tests that feed the reader and the
/// repair's check lists no writer makes: hostile counts and lengths, mutated payloads sealed with a valid checksum.
/// </summary>
internal static class ItemListBlobs
{
    /// <summary>Appends <paramref name="v"/> as a varint; with <paramref name="redundant"/> above 0, with that many extra continuation bytes (a value the format reads the same).</summary>
    public static void Varint(List<byte> to, ulong v, int redundant = 0)
    {
        while (v >= 0x80)
        {
            to.Add((byte)(v | 0x80));
            v >>= 7;
        }

        if (redundant > 0)
        {
            to.Add((byte)(v | 0x80));
            for (var i = 1; i < redundant; i++)
            {
                to.Add(0x80);
            }

            to.Add(0);
            return;
        }

        to.Add((byte)v);
    }

    /// <summary>The body followed by its XXH64, as the index stores a list.</summary>
    public static byte[] Sealed(IEnumerable<byte> body)
    {
        var bytes = body.ToArray();
        var blob = new byte[bytes.Length + 8];
        bytes.CopyTo(blob, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(blob.AsSpan(bytes.Length), XXH64.DigestOf(bytes));
        return blob;
    }

    /// <summary>A layout-1 list of <paramref name="count"/> items around <paramref name="payload"/> (text table and items).</summary>
    public static byte[] Layout1(ulong count, byte[] payload)
    {
        var body = new List<byte> { ItemListCodec.RowLayout };
        Varint(body, count);
        body.AddRange(payload);
        return Sealed(body);
    }

    /// <summary>A layout-2 list of <paramref name="payload"/> compressed as one block, its header claiming <paramref name="count"/> items and <paramref name="claimed"/> payload bytes (the real length when null).</summary>
    public static byte[] Layout2(ulong count, byte[] payload, ulong? claimed = null, LZ4Level level = LZ4Level.L00_FAST)
    {
        var block = new byte[LZ4Codec.MaximumOutputSize(payload.Length)];
        var n = LZ4Codec.Encode(payload, block, level);
        return Layout2Raw(count, claimed ?? (ulong)payload.Length, block.AsSpan(0, n).ToArray());
    }

    /// <summary>A layout-2 list around an LZ4 block as given (which may not decompress to what the header claims).</summary>
    public static byte[] Layout2Raw(ulong count, ulong claimed, byte[] block)
    {
        var body = new List<byte> { ItemListCodec.Layout };
        Varint(body, count);
        Varint(body, claimed);
        body.AddRange(block);
        return Sealed(body);
    }
}
