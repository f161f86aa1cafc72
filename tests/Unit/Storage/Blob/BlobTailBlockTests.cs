using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using DataraxCkpt.Format;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// A data blob of whole stored chunks is a few bytes longer than whole blocks (each frame's prefix and trailer): that
/// tail goes up in the last full block, not as a Put Block of its own, while a tail of more than an eighth of a block
/// is still a block of its own. The blob is byte for byte the local data file either way, and restores bit-exact.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobTailBlockTests
{
    private const int Block = 1 << 20;

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static bool IsDataPutBlock(string request) =>
        request.StartsWith("PUT ", StringComparison.Ordinal) && request.Contains("/tensors.lz4?", StringComparison.Ordinal)
        && request.Contains("comp=block&", StringComparison.Ordinal);

    /// <summary>Saves <paramref name="state"/> locally and remotely; returns the data blob's committed block sizes and the Put Blocks sent for it.</summary>
    private static (long[] Blocks, int PutBlocks) SaveBoth(Dictionary<string, object?> state, int blockSize, string location, out byte[] localData)
    {
        using var local = new TempDirectory();
        var log = new RequestLog();
        using var handler = BlobTest.Handler(new BlobSettings { BlockSize = blockSize, Concurrency = 3, TestPolicy = log });
        handler.Save(local.Path, state, step: 1);
        handler.Save(location, state, step: 1);
        localData = File.ReadAllBytes(Directory.GetFiles(local.Path, "tensors.lz4", SearchOption.AllDirectories).Single());

        var container = BlobTest.Container(location);
        var name = BlobTest.BlobNames(location).Single(n => n.EndsWith("/tensors.lz4", StringComparison.Ordinal));
        Assert.True(localData.AsSpan().SequenceEqual(container.GetBlobClient(name).DownloadContent().Value.Content.ToArray()), "the data blob differs from the local data file");
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 1)));
        Assert.True(handler.Verify(location, 1).Ok);
        var blocks = container.GetBlockBlobClient(name).GetBlockList(BlockListTypes.Committed).Value.CommittedBlocks.Select(b => b.SizeLong).ToArray();
        return (blocks, log.Count(IsDataPutBlock));
    }

    [Fact]
    public void A_tail_of_frame_overhead_goes_up_in_the_last_full_block_not_as_a_request_of_its_own()
    {
        // One 4 MiB chunk stored raw: 4 MiB and its frame's prefix and trailer, four 1 MiB blocks and a few bytes.
        var (blocks, putBlocks) = SaveBoth(new Dictionary<string, object?> { ["w"] = RandomBytes(4 << 20, 1) }, Block, AzuriteFixture.NewLocation(), out var data);

        Assert.Equal(Lz4Frame.StoredFrameLength(4 << 20), data.Length);
        Assert.Equal(4, putBlocks);
        Assert.Equal(new long[] { Block, Block, Block, Block + (data.Length - (4 << 20)) }, blocks);
    }

    [Fact]
    public void A_tail_longer_than_an_eighth_of_a_block_is_a_block_of_its_own()
    {
        // A 4 MiB chunk and one of 200 KiB (more than 128 KiB: an eighth of a block), both stored raw.
        var (blocks, putBlocks) = SaveBoth(new Dictionary<string, object?> { ["w"] = RandomBytes((4 << 20) + (200 << 10), 2) }, Block, AzuriteFixture.NewLocation(), out var data);

        Assert.Equal(5, putBlocks);
        Assert.Equal(new long[] { Block, Block, Block, Block, data.Length - (4L << 20) }, blocks);
        Assert.True(blocks[^1] > Block / 8);
    }

    [Fact]
    public void A_file_of_one_block_and_a_small_tail_is_one_put_blob()
    {
        var location = AzuriteFixture.NewLocation();
        // The 4 MiB chunk's frame with 4 MiB blocks: one block and its frame's prefix and trailer.
        var (blocks, putBlocks) = SaveBoth(new Dictionary<string, object?> { ["w"] = RandomBytes(4 << 20, 3) }, 4 << 20, location, out _);

        Assert.Equal(0, putBlocks);
        // Put Blob leaves no block list.
        Assert.Empty(blocks);
    }

    [Fact]
    public void A_put_block_of_the_block_holding_the_tail_that_keeps_failing_fails_the_save_and_leaves_nothing()
    {
        var location = AzuriteFixture.NewLocation();
        using (var good = BlobTest.Handler())
        {
            good.Save(location, BlobTest.State(1), step: 1);
        }

        var before = BlobTest.BlobNames(location);
        // The fourth block is the last: it holds the tail (block ids are base64 of the block's number: 3 is "AwAAAAAAAAA=").
        var fault = new FaultPolicy(m => IsDataPutBlock($"{m.Request.Method} {m.Request.Uri.Path}{m.Request.Uri.Query}")
            && m.Request.Uri.Query.Contains("blockid=AwAAAAAAAAA%3D", StringComparison.Ordinal), times: 1000);
        using (var failing = BlobTest.Handler(new BlobSettings { TestPolicy = fault, MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(10), BlockSize = Block }))
        {
            Assert.ThrowsAny<Exception>(() => failing.Save(location, new Dictionary<string, object?> { ["w"] = RandomBytes(4 << 20, 4) }, step: 2));
            Assert.Equal(2, fault.Injected);
        }

        Assert.Equal(before, BlobTest.BlobNames(location));
        using var handler = BlobTest.Handler();
        Assert.Equal(new long[] { 1 }, handler.GetCheckpointSteps(location));
    }
}
