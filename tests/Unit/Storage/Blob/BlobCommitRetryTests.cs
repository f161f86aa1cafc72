using Azure.Core;
using Azure.Core.Pipeline;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// The commit record's write reaches the store but its answer is lost (a dropped connection after the
/// request went through): the SDK sends it again, and the conditional write then fails against the very
/// record this save wrote. The save must recognise its own record, not report a conflict and delete the
/// data its committed record points to.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobCommitRetryTests
{
    /// <summary>Lets a matching request reach the store, then drops its response, a given number of times.</summary>
    private sealed class LostResponsePolicy : HttpPipelinePolicy
    {
        private readonly Func<HttpMessage, bool> _match;
        private int _remaining;

        public LostResponsePolicy(Func<HttpMessage, bool> match, int times)
        {
            _match = match;
            _remaining = times;
        }

        public int Lost { get; private set; }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            ProcessNext(message, pipeline);
            Drop(message);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            Drop(message);
        }

        private void Drop(HttpMessage message)
        {
            if (message.Response.Status is >= 200 and < 300 && _match(message) && Interlocked.Decrement(ref _remaining) >= 0)
            {
                Lost++;
                throw new IOException("injected lost response (test)");
            }
        }
    }

    /// <summary>Lets the first matching request through and drops its answer, then fails every later one before it is sent (the network went down).</summary>
    private sealed class LostThenDownPolicy(Func<HttpMessage, bool> match) : HttpPipelinePolicy
    {
        private int _seen;

        public int Seen => Volatile.Read(ref _seen);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var first = Before(message);
            ProcessNext(message, pipeline);
            After(first);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var first = Before(message);
            await ProcessNextAsync(message, pipeline);
            After(first);
        }

        private bool Before(HttpMessage message)
        {
            if (!match(message))
            {
                return false;
            }

            if (Interlocked.Increment(ref _seen) == 1)
            {
                return true;
            }

            throw new IOException("injected network outage (test)");
        }

        private static void After(bool first)
        {
            if (first)
            {
                throw new IOException("injected lost response (test)");
            }
        }
    }

    private static bool IsRecordWrite(HttpMessage m, long step) =>
        m.Request.Method == RequestMethod.Put && m.Request.Uri.Path.EndsWith($"/commits/{step:D20}", StringComparison.Ordinal);

    [Fact]
    public void A_save_whose_commit_record_answer_is_lost_and_retried_keeps_its_step_and_data()
    {
        var location = AzuriteFixture.NewLocation();
        var lost = new LostResponsePolicy(m => IsRecordWrite(m, 1), times: 1);
        var state = BlobTest.State(1);
        using (var handler = BlobTest.Handler(new BlobSettings { TestPolicy = lost, RetryDelay = TimeSpan.FromMilliseconds(10) }))
        {
            handler.Save(location, state, step: 1);
        }

        Assert.Equal(1, lost.Lost);
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 1 }, reader.GetCheckpointSteps(location));
        Assert.Null(StateComparer.FirstDifference(state, reader.Restore(location, 1)));
    }

    [Fact]
    public void An_overwrite_whose_commit_record_answer_is_lost_and_retried_keeps_the_new_version_and_its_data()
    {
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(1), step: 1);
        }

        var lost = new LostResponsePolicy(m => IsRecordWrite(m, 1), times: 1);
        var state = BlobTest.State(2);
        using (var handler = BlobTest.Handler(new BlobSettings { TestPolicy = lost, RetryDelay = TimeSpan.FromMilliseconds(10) }))
        {
            handler.Save(location, state, step: 1, overwrite: true);
        }

        Assert.Equal(1, lost.Lost);
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 1 }, reader.GetCheckpointSteps(location));
        Assert.Null(StateComparer.FirstDifference(state, reader.Restore(location, 1)));
    }

    [Fact]
    public void A_save_whose_commit_record_went_through_but_whose_retries_all_fail_never_deletes_the_data_of_that_committed_record()
    {
        // Found by the attack on the remote backend: the record's first write reached the store, its answer
        // was lost and every retry failed in transport (no 409/412 to recognise): the save failed and deleted
        // its data blobs, leaving a listed step whose data is gone.
        var location = AzuriteFixture.NewLocation();
        var policy = new LostThenDownPolicy(m => IsRecordWrite(m, 1));
        var state = BlobTest.State(1);
        using (var handler = BlobTest.Handler(new BlobSettings { TestPolicy = policy, MaxRetries = 2, RetryDelay = TimeSpan.FromMilliseconds(10) }))
        {
            try
            {
                handler.Save(location, state, step: 1);
            }
            catch (Exception)
            {
                // Failing is fine (the outcome is unknown to the saver); losing the committed step's data is not.
            }
        }

        Assert.True(policy.Seen >= 2);
        using var reader = BlobTest.Handler();
        var steps = reader.GetCheckpointSteps(location);
        if (steps.Contains(1))
        {
            Assert.Null(StateComparer.FirstDifference(state, reader.Restore(location, 1)));
            Assert.True(reader.Verify(location, 1).Ok);
        }
    }

    /// <summary>Lets matching requests reach the store, then reports a client timeout instead of the answer.</summary>
    private sealed class TimeoutAfterWritePolicy(Func<HttpMessage, bool> match) : HttpPipelinePolicy
    {
        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            ProcessNext(message, pipeline);
            if (match(message))
            {
                throw new TaskCanceledException("The operation was cancelled because it exceeded the client's timeout (simulated).");
            }
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            if (match(message))
            {
                throw new TaskCanceledException("The operation was cancelled because it exceeded the client's timeout (simulated).");
            }
        }
    }

    [Fact]
    public void A_save_whose_commit_record_was_written_but_whose_answer_timed_out_never_deletes_the_data_of_that_committed_record()
    {
        // Found by the last attack of session 7: a client timeout is an OperationCanceledException, which the
        // save took for "the store answered, no record" and deleted its data under a record that was there.
        var location = AzuriteFixture.NewLocation();
        var state = BlobTest.State(1);
        using (var handler = BlobTest.Handler(new BlobSettings { TestPolicy = new TimeoutAfterWritePolicy(m => IsRecordWrite(m, 1)), MaxRetries = 0 }))
        {
            try
            {
                handler.Save(location, state, step: 1);
            }
            catch (Exception)
            {
                // Failing is fine (the outcome is unknown to the saver); losing the committed step's data is not.
            }
        }

        using var reader = BlobTest.Handler();
        Assert.Contains(1L, reader.GetCheckpointSteps(location));
        Assert.Null(StateComparer.FirstDifference(state, reader.Restore(location, 1)));
    }

    [Fact]
    public void An_overwrite_whose_record_replacement_went_through_but_whose_answer_timed_out_deletes_the_replaced_version_s_blobs()
    {
        // The save found its own record after the unknown outcome and reported the step committed, but left the
        // replaced version's data and manifest to the leftover sweep (an hour later by default).
        var location = AzuriteFixture.NewLocation();
        static string FolderOf(CheckpointInfo info) => info.Path[(info.Path.IndexOf("/data/", StringComparison.Ordinal) + 1)..] + "/";
        string oldFolder;
        using (var first = BlobTest.Handler())
        {
            oldFolder = FolderOf(first.Save(location, BlobTest.State(1), step: 1));
        }

        Assert.Contains(BlobTest.BlobNames(location), n => n.Contains(oldFolder, StringComparison.Ordinal));
        var state = BlobTest.State(2);
        CheckpointInfo saved;
        using (var handler = BlobTest.Handler(new BlobSettings { TestPolicy = new TimeoutAfterWritePolicy(m => IsRecordWrite(m, 1)), MaxRetries = 0 }))
        {
            saved = handler.Save(location, state, step: 1, overwrite: true);
        }

        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 1 }, reader.GetCheckpointSteps(location));
        Assert.Null(StateComparer.FirstDifference(state, reader.Restore(location, 1)));
        var names = BlobTest.BlobNames(location);
        Assert.DoesNotContain(names, n => n.Contains(oldFolder, StringComparison.Ordinal));
        Assert.Equal(2, names.Count(n => n.Contains(FolderOf(saved), StringComparison.Ordinal)));
    }

    [Fact]
    public void A_remove_whose_delete_answer_is_lost_and_retried_reports_the_step_removed_and_leaves_no_blobs()
    {
        // Found by the attack on the remote backend: the SDK's retry of the delete found no record (404), so the
        // remove that had removed the step reported it "not found" and left its data blobs behind.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(1), step: 1);
            first.Save(location, BlobTest.State(2), step: 2);
        }

        var lost = new LostResponsePolicy(m => m.Request.Method == RequestMethod.Delete && m.Request.Uri.Path.EndsWith($"/commits/{1:D20}", StringComparison.Ordinal), times: 1);
        using (var handler = BlobTest.Handler(new BlobSettings { TestPolicy = lost, RetryDelay = TimeSpan.FromMilliseconds(10) }))
        {
            Assert.Equal(1, handler.Remove(location, 1).Step);
        }

        Assert.Equal(1, lost.Lost);
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 2 }, reader.GetCheckpointSteps(location));
        Assert.DoesNotContain(BlobTest.BlobNames(location), n => n.Contains($"/{1:D20}", StringComparison.Ordinal));
    }
}
