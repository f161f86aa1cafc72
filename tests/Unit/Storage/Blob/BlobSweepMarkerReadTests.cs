using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// A save reads when the store was last swept while its blobs go up (one HEAD, as before, but no longer a round trip
/// after its commit record); the sweep itself still runs only after the record, and only when due.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobSweepMarkerReadTests
{
    [Fact]
    public void The_sweep_marker_is_read_once_before_the_commit_record_and_a_due_sweep_still_follows_the_record()
    {
        var location = AzuriteFixture.NewLocation();
        var log = new RequestLog();
        using var handler = BlobTest.Handler(new BlobSettings { TestPolicy = log, BlockSize = 1 << 20 });

        // A new store was never swept: the first save sweeps, after its record.
        handler.Save(location, BlobTest.State(1, floats: 600_000), step: 1);
        var first = log.Requests.ToList();
        var record = first.FindIndex(r => r.StartsWith("PUT ", StringComparison.Ordinal) && r.Contains("/commits/", StringComparison.Ordinal));
        Assert.Single(first, r => r.StartsWith("HEAD ", StringComparison.Ordinal) && r.EndsWith("/last-sweep", StringComparison.Ordinal));
        Assert.True(first.FindIndex(r => r.StartsWith("HEAD ", StringComparison.Ordinal) && r.EndsWith("/last-sweep", StringComparison.Ordinal)) < record);
        var marker = first.FindIndex(r => r.StartsWith("PUT ", StringComparison.Ordinal) && r.EndsWith("/last-sweep", StringComparison.Ordinal));
        Assert.True(marker > record, "the sweep ran before the save's commit record");
        Assert.Contains(first.Skip(marker), r => r.StartsWith("GET ", StringComparison.Ordinal) && r.Contains("comp=list", StringComparison.Ordinal));

        // Swept just now: the next save reads the marker (before its record) and does not sweep.
        log.Requests.Clear();
        handler.Save(location, BlobTest.State(2, floats: 600_000), step: 2);
        var second = log.Requests.ToList();
        var head = second.FindIndex(r => r.StartsWith("HEAD ", StringComparison.Ordinal) && r.EndsWith("/last-sweep", StringComparison.Ordinal));
        Assert.InRange(head, 0, second.FindIndex(r => r.StartsWith("PUT ", StringComparison.Ordinal) && r.Contains("/commits/", StringComparison.Ordinal)));
        Assert.DoesNotContain(second, r => r.StartsWith("PUT ", StringComparison.Ordinal) && r.EndsWith("/last-sweep", StringComparison.Ordinal));
        Assert.DoesNotContain(second, r => r.Contains("comp=list", StringComparison.Ordinal));
    }

    [Fact]
    public void A_marker_that_cannot_be_read_neither_fails_the_save_nor_sweeps()
    {
        var location = AzuriteFixture.NewLocation();
        var log = new RequestLog();
        var fault = new FaultPolicy(m => m.Request.Method.ToString() == "HEAD" && m.Request.Uri.Path.EndsWith("/last-sweep", StringComparison.Ordinal), times: 1000);
        var messages = new System.Collections.Concurrent.ConcurrentQueue<(string Line, int Thread)>();
        using var handler = BlobTest.Handler(new BlobSettings { TestPolicy = fault, MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(10) },
            new CheckpointOptions { Log = line => messages.Enqueue((line, Environment.CurrentManagedThreadId)) });

        var info = handler.Save(location, BlobTest.State(1), step: 1);

        Assert.Equal(1, info.Step);
        Assert.Equal(new long[] { 1 }, handler.GetCheckpointSteps(location));
        // On the saving thread, as every line of a synchronous save: logged from the pool thread that read the marker,
        // while the saving thread waited for it, a callback that waits for the saving thread hung the save (found by
        // the final review of session 13).
        var line = Assert.Single(messages, m => m.Line.Contains("last swept", StringComparison.Ordinal));
        Assert.Equal(Environment.CurrentManagedThreadId, line.Thread);
        Assert.DoesNotContain(BlobTest.Container(location).GetBlobs().Select(b => b.Name), n => n.EndsWith("/last-sweep", StringComparison.Ordinal));
    }

    [Fact]
    public void A_marker_read_whose_credential_fails_does_not_fail_a_committed_save()
    {
        // Found by the attack on the final review of session 13: the marker's HEAD "never throws", but it caught only
        // the SDK's transport and status errors; a credential that fails to refresh its token on that one request
        // (DefaultAzureCredential's AuthenticationFailedException, not a RequestFailedException) reached the saving
        // thread after the commit record: a committed step was reported as a failed save.
        var location = AzuriteFixture.NewLocation();
        var fault = new FaultPolicy(m => m.Request.Method.ToString() == "HEAD" && m.Request.Uri.Path.EndsWith("/last-sweep", StringComparison.Ordinal), times: 1000,
            fault: () => new Azure.Identity.AuthenticationFailedException("injected token refresh failure (test)"));
        var messages = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var handler = BlobTest.Handler(new BlobSettings { TestPolicy = fault, MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(10) },
            new CheckpointOptions { Log = messages.Enqueue });

        var info = handler.Save(location, BlobTest.State(1), step: 1);

        Assert.Equal(1, info.Step);
        Assert.Equal(new long[] { 1 }, handler.GetCheckpointSteps(location));
        Assert.Contains(messages, m => m.Contains("last swept", StringComparison.Ordinal) && m.Contains("injected token refresh failure", StringComparison.Ordinal));
    }
}
