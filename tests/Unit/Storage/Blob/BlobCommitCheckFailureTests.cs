using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// A commit record whose write fails in transport is an unknown outcome; the save then asks the store whether the record
/// is there. When that check fails any way, the save reports the unknown outcome with the commit's own error inside it
/// and leaves its blobs for the sweep: a failure of the check (a credential that cannot get a token, which is no
/// RequestFailedException) must not replace the commit's error.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobCommitCheckFailureTests
{
    [Fact]
    public void A_credential_failure_while_checking_a_lost_commit_reports_the_commit_as_unknown_with_its_own_error()
    {
        var location = AzuriteFixture.NewLocation();
        var committing = new int[1];
        static bool IsRecord(Azure.Core.HttpMessage m, string method) =>
            m.Request.Method.ToString() == method && m.Request.Uri.Path.Contains("/commits/", StringComparison.Ordinal);
        var lostCommit = new FaultPolicy(m =>
        {
            if (!IsRecord(m, "PUT"))
            {
                return false;
            }

            Volatile.Write(ref committing[0], 1);
            return true;
        }, times: 1000);
        // Only the check after the commit: the reservation's own HEAD of the record must still be answered.
        var failedCheck = new FaultPolicy(m => Volatile.Read(ref committing[0]) == 1 && IsRecord(m, "HEAD"), times: 1000,
            fault: () => new Azure.Identity.AuthenticationFailedException("injected token refresh failure (test)"));
        var messages = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var handler = BlobTest.Handler(new BlobSettings { TestPolicy = new Policies(lostCommit, failedCheck), MaxRetries = 0, RetryDelay = TimeSpan.FromMilliseconds(10) },
            new CheckpointOptions { Log = messages.Enqueue });

        var e = Assert.ThrowsAny<Exception>(() => handler.Save(location, BlobTest.State(1), step: 1));

        var unknown = Assert.IsType<IOException>(e);
        Assert.Contains("could not tell whether its commit record was written", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("injected transport fault", unknown.Message, StringComparison.Ordinal);
        Assert.NotNull(unknown.InnerException);
        Assert.IsNotType<Azure.Identity.AuthenticationFailedException>(unknown.InnerException);
        Assert.Contains(messages, m => m.Contains("Could not tell whether step 1", StringComparison.Ordinal) && m.Contains("injected token refresh failure", StringComparison.Ordinal));
        // Nothing is lost: the save's blobs stay for the sweep, which alone may tell that no record names them.
        Assert.Contains(BlobTest.Container(location).GetBlobs().Select(b => b.Name), n => n.Contains("data/00000000000000000001-", StringComparison.Ordinal));
        using var reader = BlobTest.Handler();
        Assert.Empty(reader.GetCheckpointSteps(location));
    }
}
