using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// A remote restore reads stored chunks that lie end to end in the data blob by one ranged GET per range of up to
/// the block size of chunk bytes, straight into the destination arrays: bit-exact across chunk, tensor and range
/// boundaries, mixed with compressed chunks, every chunk still checked (a damaged byte anywhere in a range is
/// reported naming its own item, never returned), and with fewer requests than one GET per chunk.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobCoalescedRestoreTests
{
    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static int DataGets(RequestLog log) =>
        log.Count(r => r.StartsWith("GET ", StringComparison.Ordinal) && r.Contains("/tensors.lz4", StringComparison.Ordinal));

    private static string DataBlob(string location, long step) =>
        BlobTest.BlobNames(location).Single(n => n.Contains($"/data/{step:D20}-", StringComparison.Ordinal) && n.EndsWith("/tensors.lz4", StringComparison.Ordinal));

    /// <summary>Flips one byte of the data blob, <paramref name="into"/> bytes after where <paramref name="marker"/> (stored raw) begins.</summary>
    private static void Corrupt(string location, long step, byte[] marker, int into)
    {
        var blob = BlobTest.Container(location).GetBlobClient(DataBlob(location, step));
        var bytes = blob.DownloadContent().Value.Content.ToArray();
        var at = bytes.AsSpan().IndexOf(marker.AsSpan(0, 64));
        Assert.True(at >= 0, "the marker's bytes are stored raw in the data blob");
        bytes[at + into] ^= 0x10;
        blob.Upload(BinaryData.FromBytes(bytes), overwrite: true);
    }

    [Fact]
    public void A_restore_of_stored_chunks_is_bit_exact_across_chunk_tensor_and_range_boundaries()
    {
        var location = AzuriteFixture.NewLocation();
        var log = new RequestLog();
        using var handler = BlobTest.Handler(new BlobSettings { TestPolicy = log });
        // Odd lengths: ranges of 8 MiB of chunk bytes end inside tensors and across their ends, and short last chunks
        // sit between full ones.
        var state = new Dictionary<string, object?>
        {
            ["a"] = RandomBytes((9 << 20) + 333, 1),
            ["b"] = RandomBytes((3 << 20) + 7, 2),
            ["c"] = RandomBytes(12 << 20, 3),
            ["d"] = RandomBytes(100_001, 4),
        };
        handler.Save(location, state, step: 1);

        log.Requests.Clear();
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 1)));
        // 8 chunks: a (4 + 4 + 1 MiB), b (3 MiB), c (4 + 4 + 4 MiB), d (100 KB) read two to a range, not one GET each.
        Assert.Equal(4, DataGets(log));
        Assert.True(handler.Verify(location, 1).Ok);
    }

    [Fact]
    public void A_restore_of_compressed_shuffled_and_stored_tensors_side_by_side_is_bit_exact()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler(new BlobSettings { BlockSize = 1 << 20 });
        var state = new Dictionary<string, object?>
        {
            ["raw1"] = RandomBytes(300_000, 5),
            ["zeros"] = new float[700_000],
            ["raw2"] = RandomBytes(300_000, 6),
            ["smooth"] = Enumerable.Range(0, 600_000).Select(i => Math.Sin(i * 1e-4)).ToArray(),
            ["raw3"] = RandomBytes((5 << 20) + 11, 7),
            ["ints"] = Enumerable.Range(0, 50_000).ToArray(),
            ["raw4"] = RandomBytes(200_000, 8),
            ["raw5"] = RandomBytes(200_000, 9),
            ["step"] = 42L,
        };
        handler.Save(location, state, step: 1);
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 1)));
    }

    [Theory]
    [InlineData(8 << 20, "big", (4 << 20) + 12_345)]
    [InlineData(1 << 20, "m3", 5_000)]
    public void A_damaged_byte_inside_a_coalesced_range_is_detected_naming_its_item_and_never_returned(int blockSize, string damaged, int into)
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler(new BlobSettings { BlockSize = blockSize });
        // "big": three 4 MiB chunks, the first two in one 8 MiB range; m1..m3: 200 KB stored chunks, m2 and m3 in
        // one 1 MiB range. The damage is in the second chunk of a range.
        var state = new Dictionary<string, object?>
        {
            ["big"] = RandomBytes(12 << 20, 10),
            ["m1"] = RandomBytes(200_000, 11),
            ["m2"] = RandomBytes(200_000, 12),
            ["m3"] = RandomBytes(200_000, 13),
        };
        handler.Save(location, state, step: 1);
        var marker = (byte[])state[damaged]!;
        Corrupt(location, 1, damaged == "big" ? marker.AsSpan(4 << 20).ToArray() : marker, into - (damaged == "big" ? 4 << 20 : 0));

        object? restored = null;
        var e = Assert.Throws<CorruptCheckpointException>(() => restored = handler.Restore(location, 1));
        Assert.Null(restored);
        Assert.Equal(damaged, e.Item);
        var verified = handler.Verify(location, 1);
        Assert.False(verified.Ok);
        Assert.Equal(new[] { damaged }, verified.Problems.Select(p => p.Item).Distinct());
    }

    [Fact]
    public void A_restore_sends_one_ranged_get_per_block_of_stored_chunks_not_one_per_chunk()
    {
        var location = AzuriteFixture.NewLocation();
        var log = new RequestLog();
        using var handler = BlobTest.Handler(new BlobSettings { TestPolicy = log });
        // 64 MiB stored raw: sixteen 4 MiB chunks, as the SDK reads the same bytes in 8 ranges of 8 MiB.
        var state = new Dictionary<string, object?> { ["w1"] = RandomBytes(32 << 20, 14), ["w2"] = RandomBytes(32 << 20, 15) };
        handler.Save(location, state, step: 1);

        log.Requests.Clear();
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 1)));
        Console.WriteLine($"restore of 64 MiB stored raw: {log.Requests.Count} requests, {DataGets(log)} ranged GETs of the data blob");
        Assert.Equal(8, DataGets(log));

        // Smaller ranges, smaller chunks: four 200 KB tensors go two to a 1 MiB range (a group per GET).
        var small = new Dictionary<string, object?>
        {
            ["s1"] = RandomBytes(200_000, 16),
            ["s2"] = RandomBytes(200_000, 17),
            ["s3"] = RandomBytes(200_000, 18),
            ["s4"] = RandomBytes(200_000, 19),
        };
        using var ranged = BlobTest.Handler(new BlobSettings { TestPolicy = log, BlockSize = 1 << 20 });
        ranged.Save(location, small, step: 2);
        log.Requests.Clear();
        Assert.Null(StateComparer.FirstDifference(small, ranged.Restore(location, 2)));
        Assert.Equal(2, DataGets(log));
    }
}
