using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// The data blob's block list is committed while the manifest uploads, and a one-block file is one Put Blob:
/// a failure of either still fails the save before its commit record and leaves no blob behind.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobUploadTests
{
    [Theory]
    [InlineData("comp=blocklist", "tensors.lz4")]
    [InlineData("", "manifest.json.lz4")]
    public void A_data_or_manifest_commit_that_keeps_failing_fails_the_save_before_its_record_and_leaves_nothing(string query, string blob)
    {
        var location = AzuriteFixture.NewLocation();
        using (var good = BlobTest.Handler())
        {
            good.Save(location, BlobTest.State(1), step: 1);
        }

        var before = BlobTest.BlobNames(location);
        var fault = new FaultPolicy(m => m.Request.Method.ToString() == "PUT" && m.Request.Uri.Path.EndsWith("/" + blob, StringComparison.Ordinal)
            && (query.Length == 0 ? !m.Request.Uri.Query.Contains("comp=", StringComparison.Ordinal) : m.Request.Uri.Query.Contains(query, StringComparison.Ordinal)), times: 1000);
        using (var failing = BlobTest.Handler(new BlobSettings { TestPolicy = fault, MaxRetries = 2, RetryDelay = TimeSpan.FromMilliseconds(10), BlockSize = 1 << 20 }))
        {
            // 4 MB of floats: four 1 MiB blocks and a block list for the data; the manifest fits in one Put Blob.
            Assert.ThrowsAny<Exception>(() => failing.Save(location, BlobTest.State(2, floats: 1_000_000), step: 2));
            Assert.Equal(3, fault.Injected);
        }

        Assert.Equal(before, BlobTest.BlobNames(location));
        using var handler = BlobTest.Handler();
        Assert.Equal(new long[] { 1 }, handler.GetCheckpointSteps(location));
        handler.Save(location, BlobTest.State(2, floats: 1_000_000), step: 2);
        Assert.Equal(new long[] { 1, 2 }, handler.GetCheckpointSteps(location));
    }

    [Fact]
    public void A_state_that_fits_in_one_block_is_saved_with_one_put_per_blob_and_restores_bit_exact()
    {
        var location = AzuriteFixture.NewLocation();
        var log = new RequestLog();
        using var handler = BlobTest.Handler(new BlobSettings { TestPolicy = log });
        var state = BlobTest.State(3);
        handler.Save(location, state, step: 1);

        Assert.DoesNotContain(log.Requests, r => r.Contains("comp=block", StringComparison.Ordinal));
        Assert.Single(log.Requests, r => r.StartsWith("PUT ", StringComparison.Ordinal) && r.Contains("/tensors.lz4", StringComparison.Ordinal));
        Assert.Single(log.Requests, r => r.StartsWith("PUT ", StringComparison.Ordinal) && r.Contains("/manifest.json.lz4", StringComparison.Ordinal));
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 1)));
        Assert.True(handler.Verify(location, 1).Ok);
    }
}

/// <summary>
/// A save that fails while its data blob's commit still runs in the background: whatever that commit then
/// throws, the save reports its own failure and deletes its blobs.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobBackgroundCommitFailureTests
{
    /// <summary>Throws the exception <c>fault</c> gives for a request (none: sent), every time.</summary>
    private sealed class ThrowingPolicy(Func<Azure.Core.HttpMessage, Exception?> fault) : Azure.Core.Pipeline.HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(Azure.Core.HttpMessage message)
        {
            if (fault(message) is { } e)
            {
                throw e;
            }
        }
    }

    [Fact]
    public void A_manifest_failure_while_the_data_commit_fails_otherwise_is_reported_and_leaves_no_blob()
    {
        var location = AzuriteFixture.NewLocation();
        using (var good = BlobTest.Handler())
        {
            good.Save(location, BlobTest.State(1), step: 1);
        }

        var before = BlobTest.BlobNames(location);
        // The data blob's block list fails with an exception no transfer failure looks like, after a moment (so
        // the writer is in the manifest by then); the manifest's second block waits (one block at a time) for
        // its first, which fails: the writer stops mid-manifest while the data commit still runs.
        var policy = new ThrowingPolicy(m =>
        {
            var path = m.Request.Uri.Path;
            var query = m.Request.Uri.Query;
            if (path.EndsWith("/tensors.lz4", StringComparison.Ordinal) && query.Contains("comp=blocklist", StringComparison.Ordinal))
            {
                Thread.Sleep(500);
                return new InvalidOperationException("data commit (test)");
            }

            return path.EndsWith("/manifest.json.lz4", StringComparison.Ordinal) && query.Contains("comp=block&", StringComparison.Ordinal)
                ? new IOException("manifest block (test)")
                : null;
        });
        using (var failing = BlobTest.Handler(new BlobSettings { TestPolicy = policy, MaxRetries = 0, BlockSize = 64, Concurrency = 1 }))
        {
            var e = Assert.ThrowsAny<Exception>(() => failing.Save(location, BlobTest.State(2), step: 2));
            Assert.IsNotType<InvalidOperationException>(e);
        }

        Assert.Equal(before, BlobTest.BlobNames(location));
    }
}
