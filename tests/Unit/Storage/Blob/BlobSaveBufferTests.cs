using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// A remote save uploads the writer's own frame buffers as slices of its blocks (no copy into a block buffer), and a
/// buffer goes back to the writer's pool only after every block holding it is sent: the data blob is byte for byte a
/// local save's data file whatever the block size, saves one after another never see a buffer reused early, and a
/// block that cannot be uploaded still fails the save before anything is committed.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobSaveBufferTests
{
    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Stored, compressed, shuffled and packed small chunks, in tensors whose frames straddle block ends.</summary>
    private static Dictionary<string, object?> Mixed(int seed) => new()
    {
        ["raw"] = RandomBytes((9 << 20) + 77, seed),
        ["zeros"] = new float[1_500_000],
        ["smooth"] = Enumerable.Range(0, 700_000).Select(i => Math.Sin(i * 1e-4 + seed)).ToArray(),
        ["small1"] = RandomBytes(3_000, seed + 1),
        ["small2"] = Enumerable.Range(0, 900).Select(i => (float)i).ToArray(),
        ["raw2"] = RandomBytes(600_001, seed + 2),
        ["step"] = (long)seed,
    };

    [Theory]
    [InlineData(1 << 20)]
    [InlineData(3 << 20)]
    [InlineData(8 << 20)]
    public void The_data_blob_is_byte_for_byte_a_local_saves_data_file_at_any_block_size(int blockSize)
    {
        using var local = new TempDirectory();
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler(new BlobSettings { BlockSize = blockSize });
        var state = Mixed(1);
        handler.Save(local.Path, state, step: 1);
        handler.Save(location, state, step: 1);

        var expected = File.ReadAllBytes(Directory.GetFiles(local.Path, "tensors.lz4", SearchOption.AllDirectories).Single());
        var container = BlobTest.Container(location);
        var blob = BlobTest.BlobNames(location).Single(n => n.EndsWith("/tensors.lz4", StringComparison.Ordinal));
        Assert.True(expected.AsSpan().SequenceEqual(container.GetBlobClient(blob).DownloadContent().Value.Content.ToArray()), "the data blob differs from the local data file");
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 1)));
    }

    [Fact]
    public void Saves_one_after_another_never_upload_a_frame_buffer_the_next_chunk_reuses()
    {
        var location = AzuriteFixture.NewLocation();
        // Small blocks and few in flight: frame buffers stay lent across many block uploads while the writer goes on.
        using var handler = BlobTest.Handler(new BlobSettings { BlockSize = 1 << 20, Concurrency = 2 });
        var states = Enumerable.Range(0, 4).Select(Mixed).ToList();
        for (var s = 0; s < states.Count; s++)
        {
            handler.Save(location, states[s], step: s);
        }

        for (var s = 0; s < states.Count; s++)
        {
            Assert.Null(StateComparer.FirstDifference(states[s], handler.Restore(location, s)));
            Assert.True(handler.Verify(location, s).Ok);
        }
    }

    [Fact]
    public void A_block_that_cannot_be_uploaded_fails_the_save_before_any_commit_and_the_next_save_is_whole()
    {
        var location = AzuriteFixture.NewLocation();
        using (var good = BlobTest.Handler())
        {
            good.Save(location, BlobTest.State(1), step: 1);
        }

        var before = BlobTest.BlobNames(location);
        var fault = new FaultPolicy(m => m.Request.Method.ToString() == "PUT" && m.Request.Uri.Query.Contains("comp=block", StringComparison.Ordinal)
            && !m.Request.Uri.Query.Contains("comp=blocklist", StringComparison.Ordinal), times: 1000);
        using (var failing = BlobTest.Handler(new BlobSettings { TestPolicy = fault, MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(10), BlockSize = 1 << 20 }))
        {
            Assert.ThrowsAny<Exception>(() => failing.Save(location, Mixed(2), step: 2));
            Assert.True(fault.Injected >= 2);
        }

        Assert.Equal(before, BlobTest.BlobNames(location));
        using var handler = BlobTest.Handler(new BlobSettings { BlockSize = 1 << 20 });
        Assert.Equal(new long[] { 1 }, handler.GetCheckpointSteps(location));
        var state = Mixed(3);
        handler.Save(location, state, step: 2);
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 2)));
    }
}
