using System.Buffers.Binary;
using DataraxCkpt.Storage;
using DataraxCkpt.Values;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// The item list blob of an index of schema version 2 (docs/format.md §3.1): every field reads back
/// exactly, and a cut, garbled or inconsistent blob is a <see cref="FormatException"/> (which the index
/// reports as damage), never another exception and never other items.
/// </summary>
public sealed class ItemListCodecTests
{
    private static readonly StoredItem[] Sample =
    [
        new("params/linear/kernel", "tensor", "f32", [3, 4], 48, 0),
        new("params/linear/bias", "tensor", "f32", [4], 16, 1),
        new("empty", "tensor", "f64", [0, 3], 0, 2),
        new("rank0", "tensor", "i64", [], 8, 3),
        new("lr", "scalar", "f64", null, 8, -1),
        new("note", "string", "str", null, 11, -1),
        new("nothing", "null", null, null, 0, -1),
        new("ünïcödé/名前/🙂", "key", "u32", [2], 8, -1),
        new("lone\ud800surrogate", "scalar", "i32", null, 4, -1),
        new(string.Empty, "scalar", "bool", null, 1, -1),
        new("huge", "tensor", "u8", [long.MaxValue, 1], long.MaxValue, 4),
    ];

    private static long StoredSizeOf(StoredItem item) => item.TensorIndex >= 0 ? 1000L * (item.TensorIndex + 1) : 0;

    private static byte[] SampleBlob() => ItemListCodec.Encode(Sample, StoredSizeOf);

    [Fact]
    public void Every_field_of_every_item_reads_back_exactly_in_order()
    {
        var items = ItemListCodec.Decode(9, SampleBlob(), Sample.Length);

        Assert.Equal(Sample.Length, items.Count);
        for (var i = 0; i < Sample.Length; i++)
        {
            var (want, got) = (Sample[i], items[i]);
            Assert.Equal(9, got.Step);
            Assert.Equal(want.Name, got.Name);
            Assert.Equal(want.Kind, got.Kind);
            Assert.Equal(want.DType, got.DType);
            Assert.Equal(want.Shape, got.Shape);
            Assert.Equal(want.Size, got.Size);
            Assert.Equal(StoredSizeOf(want), got.StoredSize);
        }

        Assert.Equal([0L, 3L], items[2].Shape);
        Assert.NotNull(items[3].Shape);
        Assert.Empty(items[3].Shape!);
        Assert.Null(items[4].Shape);
    }

    [Fact]
    public void An_empty_list_reads_back_empty_and_a_list_of_100000_leaves_stays_compact()
    {
        Assert.Empty(ItemListCodec.Decode(1, ItemListCodec.Encode([], StoredSizeOf), 0));

        var many = Enumerable.Range(0, 100_000).Select(i => new StoredItem("k" + i, "scalar", "i32", null, 4, -1)).ToArray();
        var blob = ItemListCodec.Encode(many, StoredSizeOf);
        // Name (1 + 6 bytes) and five one-byte fields: kind and dtype are indexes into a table of texts.
        Assert.True(blob.Length < 100_000 * 12, $"{blob.Length} bytes");
        var items = ItemListCodec.Decode(1, blob, many.Length);
        Assert.Equal("k99999", items[^1].Name);
        Assert.Equal(("scalar", "i32", 4L), (items[50_000].Kind, items[50_000].DType, items[50_000].Size));
    }

    [Fact]
    public void Every_truncation_is_a_format_error()
    {
        var blob = SampleBlob();
        for (var length = 0; length < blob.Length; length++)
        {
            AssertDamaged(blob.AsSpan(0, length).ToArray(), Sample.Length);
        }
    }

    [Fact]
    public void Every_single_byte_change_is_a_format_error()
    {
        var blob = SampleBlob();
        for (var i = 0; i < blob.Length; i++)
        {
            foreach (var flip in new byte[] { 0x01, 0x80, 0xFF })
            {
                var bad = (byte[])blob.Clone();
                bad[i] ^= flip;
                AssertDamaged(bad, Sample.Length);
            }
        }
    }

    [Fact]
    public void Random_garbage_and_a_blob_with_trailing_bytes_are_format_errors()
    {
        var random = new Random(15);
        for (var n = 0; n < 2_000; n++)
        {
            var garbage = new byte[random.Next(0, 200)];
            random.NextBytes(garbage);
            AssertDamaged(garbage, random.Next(0, 5));
        }

        AssertDamaged([.. SampleBlob(), 0], Sample.Length);
    }

    [Fact]
    public void A_count_other_than_the_steps_item_count_is_a_format_error()
    {
        var e = AssertDamaged(SampleBlob(), Sample.Length - 1);
        Assert.Contains($"holds {Sample.Length} items", e.Message, StringComparison.Ordinal);
        ItemListCodec.Check(1, SampleBlob(), Sample.Length);
        Assert.Throws<FormatException>(() => ItemListCodec.Check(1, SampleBlob(), Sample.Length + 1));
    }

    /// <summary>Blobs whose checksum is right but whose structure is not: what a writer bug would produce.</summary>
    public static TheoryData<string, byte[], int> Malformed_with_a_valid_checksum() => new()
    {
        { "unknown layout", [3, 0, 0], 0 },
        { "count larger than the bytes could hold", [1, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0], int.MaxValue },
        { "text table longer than the blob", [1, 0, 0x7F], 0 },
        { "text that is not UTF-8", [1, 1, 1, 1, 0xC3, 0, 0, 0, 0, 0, 0], 1 },
        { "kind index past the table", [1, 1, 1, 1, (byte)'k', 2, (byte)'a', 1, 0, 0, 0, 0], 1 },
        { "dtype index past the table", [1, 1, 1, 1, (byte)'k', 2, (byte)'a', 0, 2, 0, 0, 0], 1 },
        { "name longer than the blob", [1, 1, 1, 1, (byte)'k', 0x7E, (byte)'a', 0, 0, 0, 0, 0], 1 },
        { "rank longer than the blob", [1, 1, 1, 1, (byte)'k', 2, (byte)'a', 0, 0, 0x7F, 0, 0], 1 },
        { "integer longer than 64 bits", [1, 1, 1, 1, (byte)'k', 2, (byte)'a', 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0], 1 },
        { "item cut before its stored size", [1, 1, 1, 1, (byte)'k', 2, (byte)'a', 0, 0, 0, 4], 1 },
        { "byte after the last item", [1, 1, 1, 1, (byte)'k', 2, (byte)'a', 0, 0, 0, 4, 0, 0], 1 },
    };

    [Theory]
    [MemberData(nameof(Malformed_with_a_valid_checksum))]
    public void A_malformed_blob_with_a_valid_checksum_is_a_format_error(string what, byte[] body, int expectedCount)
    {
        _ = what;
        AssertDamaged(WithChecksum(body), expectedCount);
    }

    [Fact]
    public void The_minimal_blob_of_the_malformed_cases_is_itself_valid()
    {
        // Guards the theory above: its cases fail for the reason they name, not because the base blob is wrong.
        var items = ItemListCodec.Decode(1, WithChecksum([1, 1, 1, 1, (byte)'k', 2, (byte)'a', 0, 0, 0, 4, 0]), 1);
        var item = Assert.Single(items);
        Assert.Equal(("a", "k", (string?)null, 4L, 0L), (item.Name, item.Kind, item.DType, item.Size, item.StoredSize));
        Assert.Null(item.Shape);
    }

    private static byte[] WithChecksum(byte[] body)
    {
        var blob = new byte[body.Length + 8];
        body.CopyTo(blob, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(blob.AsSpan(body.Length), XXH64.DigestOf(body));
        return blob;
    }

    private static FormatException AssertDamaged(byte[] blob, int expectedCount)
    {
        try
        {
            var items = ItemListCodec.Decode(1, blob, expectedCount);
            Assert.Fail($"a damaged blob of {blob.Length} bytes decoded to {items.Count} items");
            throw new InvalidOperationException("unreachable");
        }
        catch (FormatException e)
        {
            return e;
        }
    }
}
