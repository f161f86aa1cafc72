using DataraxCkpt.Format;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// Scenario (g)'s state shape, normal float32 with a full mantissa: its chunks are stored raw, taken up to four at a
/// time by one task and checksummed side by side, then handed to the upload as slices of its blocks. The data blob is
/// byte for byte a local save's data file at block sizes that cut frames anywhere, the step restores bit-exact and
/// verifies, and a block that fails mid-upload leaves no step and no blob behind.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobStoredGroupTests
{
    /// <summary>Tensors of odd lengths (groups end inside tensors and span them; short last chunks).</summary>
    private static Dictionary<string, object?> Normal(int seed) => new()
    {
        ["w0"] = NormalFloats((3 << 20) + 5, seed),
        ["w1"] = NormalFloats((1 << 20) + (1 << 18) + 3, seed + 1),
        ["w2"] = NormalFloats((2 << 20) + 333, seed + 2),
        ["bias"] = NormalFloats(77, seed + 3),
    };

    private static float[] NormalFloats(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }

        return values;
    }

    [Theory]
    [InlineData(8 << 20)]
    [InlineData((5 << 20) + 3)]
    [InlineData(1 << 20)]
    public void Stored_chunks_hashed_together_upload_as_the_local_data_file_and_restore_bit_exact(int blockSize)
    {
        using var local = new TempDirectory();
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler(new BlobSettings { BlockSize = blockSize, Concurrency = 3 });
        var state = Normal(blockSize);
        handler.Save(local.Path, state, step: 1);
        handler.Save(location, state, step: 1);

        var expected = File.ReadAllBytes(Directory.GetFiles(local.Path, "tensors.lz4", SearchOption.AllDirectories).Single());
        // Chunks: w0 4, 4, 4 MiB and 20 bytes; w1 4 MiB and 1 MiB + 12 bytes; w2 4, 4 MiB and 1332 bytes; bias 308
        // bytes. Groups: [w0 0-2], [w1 0-1, w2 0-1]. Every large chunk is a stored frame (a compressed one is shorter).
        Assert.True(expected.Length >= Lz4Frame.StoredFrameLength(4 << 20) * 5 + Lz4Frame.StoredFrameLength((1 << 20) + 12), "the normal floats were not stored raw");
        var container = BlobTest.Container(location);
        var blob = BlobTest.BlobNames(location).Single(n => n.EndsWith("/tensors.lz4", StringComparison.Ordinal));
        Assert.True(expected.AsSpan().SequenceEqual(container.GetBlobClient(blob).DownloadContent().Value.Content.ToArray()), "the data blob differs from the local data file");
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 1)));
        Assert.True(handler.Verify(location, 1).Ok);
    }

    [Fact]
    public void A_block_failing_after_others_were_sent_leaves_no_step_and_no_blob_and_the_next_save_is_whole()
    {
        var location = AzuriteFixture.NewLocation();
        using (var good = BlobTest.Handler())
        {
            good.Save(location, BlobTest.State(1), step: 1);
        }

        var before = BlobTest.BlobNames(location);
        var blocks = 0;
        var fault = new FaultPolicy(m => m.Request.Method.ToString() == "PUT" && m.Request.Uri.Query.Contains("comp=block", StringComparison.Ordinal)
            && !m.Request.Uri.Query.Contains("comp=blocklist", StringComparison.Ordinal) && Interlocked.Increment(ref blocks) > 4, times: 1000);
        using (var failing = BlobTest.Handler(new BlobSettings { TestPolicy = fault, MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(10), BlockSize = 1 << 20, Concurrency = 2 }))
        {
            Assert.ThrowsAny<Exception>(() => failing.Save(location, Normal(2), step: 2));
            Assert.True(fault.Injected >= 1);
        }

        Assert.Equal(before, BlobTest.BlobNames(location));
        using var handler = BlobTest.Handler(new BlobSettings { BlockSize = 1 << 20 });
        Assert.Equal(new long[] { 1 }, handler.GetCheckpointSteps(location));
        var state = Normal(3);
        handler.Save(location, state, step: 2);
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 2)));
        Assert.True(handler.Verify(location, 2).Ok);
    }
}
