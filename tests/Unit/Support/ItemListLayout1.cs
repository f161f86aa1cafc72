using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Storage;

/// <summary>
/// Test support: writes an item list in layout 1 (docs/format.md §3.1), the layout an engine of index schema 2 writes and this
/// engine still reads: names whole, nothing compressed. This engine stores layout 2; layout 1 is written only to
/// make the lists such an engine leaves (its directories, which this engine must keep reading), so the reading
/// of them is tested against the layout's own bytes.
/// </summary>
internal static class ItemListLayout1
{
    /// <summary>The blob of <paramref name="items"/> in layout 1: layout, count, text table, items, checksum.</summary>
    public static byte[] Encode(IReadOnlyList<CheckpointItemInfo> items)
    {
        var texts = new List<string>();
        var textIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        int Text(string text)
        {
            if (!textIndex.TryGetValue(text, out var index))
            {
                index = texts.Count;
                textIndex.Add(text, index);
                texts.Add(text);
            }

            return index;
        }

        using var itemBytes = new MemoryStream();
        Span<byte> varint = stackalloc byte[10];
        void Put(Stream to, ulong value, Span<byte> scratch) => to.Write(scratch[..ItemListCodec.Writer.PutVarint(scratch, value)]);
        foreach (var item in items)
        {
            var utf8 = new byte[Encoding.UTF8.GetMaxByteCount(item.Name.Length)];
            if (Utf8.FromUtf16(item.Name, utf8, out _, out var written, replaceInvalidSequences: false) == System.Buffers.OperationStatus.Done)
            {
                Put(itemBytes, (ulong)written << 1, varint);
                itemBytes.Write(utf8, 0, written);
            }
            else
            {
                Put(itemBytes, ((ulong)item.Name.Length << 1) | 1, varint);
                foreach (var c in item.Name)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(varint, c);
                    itemBytes.Write(varint[..2]);
                }
            }

            Put(itemBytes, (ulong)Text(item.Kind), varint);
            Put(itemBytes, item.DType is null ? 0UL : (ulong)Text(item.DType) + 1, varint);
            if (item.Shape is null)
            {
                Put(itemBytes, 0, varint);
            }
            else
            {
                Put(itemBytes, (ulong)item.Shape.Count + 1, varint);
                foreach (var d in item.Shape)
                {
                    Put(itemBytes, (ulong)d, varint);
                }
            }

            Put(itemBytes, (ulong)item.Size, varint);
            Put(itemBytes, (ulong)item.StoredSize, varint);
        }

        using var blob = new MemoryStream();
        blob.WriteByte(ItemListCodec.RowLayout);
        Put(blob, (ulong)items.Count, varint);
        Put(blob, (ulong)texts.Count, varint);
        foreach (var text in texts)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            Put(blob, (ulong)bytes.Length, varint);
            blob.Write(bytes);
        }

        itemBytes.Position = 0;
        itemBytes.CopyTo(blob);
        Span<byte> checksum = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(checksum, XXH64.DigestOf(blob.GetBuffer().AsSpan(0, (int)blob.Length)));
        blob.Write(checksum);
        return blob.ToArray();
    }
}
