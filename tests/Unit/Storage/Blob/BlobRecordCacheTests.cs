using System.Buffers.Binary;
using DataraxCkpt.Storage.Blob;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>records.bin is the user's file: its record count is input, checked against the bytes that are there.</summary>
public sealed class BlobRecordCacheTests
{
    [Fact]
    public void A_tiny_cache_file_claiming_millions_of_records_is_refused_without_allocating_for_them()
    {
        // An empty cache file with its count raised and its checksum made to match (XXH64 is no secret).
        var bytes = BlobRecordCache.Encode([]);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), int.MaxValue);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8), XXH64.DigestOf(bytes.AsSpan(0, bytes.Length - 8)));
        BlobRecordCache.Decode(bytes);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var decoded = BlobRecordCache.Decode(bytes);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Null(decoded);
        Assert.True(allocated < 64 * 1024, $"decoding a {bytes.Length}-byte file allocated {allocated} bytes");
    }
}
