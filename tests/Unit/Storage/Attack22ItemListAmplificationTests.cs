using System.Buffers.Binary;
using DataraxCkpt.Storage;
using K4os.Hash.xxHash;
using Xunit.Abstractions;
using static DataraxCkpt.Storage.ItemListBlobs;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Check and Decode agree only where Decode has the memory it asks for: a small list could make Decode allocate 8 bytes
/// (a string reference, a long) per payload byte, up to 8 GB for a 4 MB list (R at most 10^9 and 256 × its block),
/// while Check allocates nothing; on a reader with less memory the repair's check passed the list and every reader
/// threw OutOfMemoryException (not damage) on it. Both now refuse a table of more than two texts per item and a shape
/// of a rank above the format's 32 before allocating either (attack of session 22).
/// </summary>
public sealed class Attack22ItemListAmplificationTests(ITestOutputHelper output)
{
    [Fact]
    public void A_40_KB_list_that_would_make_decode_allocate_per_payload_byte_is_refused_by_check_and_decode_alike()
    {
        const int payloadBytes = 10_000_000;

        // A text table of ~10^7 empty texts and no items; and one item whose shape has rank ~10^7.
        var table = new List<byte>();
        Varint(table, payloadBytes - 4);
        table.AddRange(new byte[payloadBytes - 4]);
        var shape = new List<byte>();
        Varint(shape, 1);
        Varint(shape, 1);
        shape.Add((byte)'s');
        shape.AddRange(new byte[] { 0, 0x02, (byte)'a', 0, 0 });
        Varint(shape, payloadBytes - 30 + 1);
        shape.AddRange(new byte[payloadBytes - 30]);
        shape.AddRange(new byte[] { 1, 0 });
        foreach (var (what, payload, count, refusal) in new[]
        {
            ("a table of 10^7 texts", table.ToArray(), 0, "text table of 9999996 texts for 0 items"),
            ("a shape of rank 10^7", shape.ToArray(), 1, "shape of rank 9999970, above the limit of 32"),
        })
        {
            var blob = Layout2((ulong)count, payload);
            var checkRefusal = Assert.Throws<FormatException>(() => ItemListCodec.Check(3, blob, count));
            Assert.Contains(refusal, checkRefusal.Message, StringComparison.Ordinal);
            _ = Record.Exception(() => ItemListCodec.Decode(3, blob, count));
            var before = GC.GetAllocatedBytesForCurrentThread();
            var decodeRefusal = Record.Exception(() => ItemListCodec.Decode(3, blob, count));
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            output.WriteLine($"{what}: a list of {blob.Length:N0} bytes, payload {payload.Length:N0}; decode allocated {allocated:N0} bytes and said: {decodeRefusal?.Message}");
            Assert.IsType<FormatException>(decodeRefusal);
            Assert.Equal(checkRefusal.Message, decodeRefusal.Message);
            Assert.True(allocated <= payloadBytes + (1 << 20), $"{what}: a list of {blob.Length:N0} bytes made decode allocate {allocated:N0} bytes before it refused the list");
        }
    }
}
