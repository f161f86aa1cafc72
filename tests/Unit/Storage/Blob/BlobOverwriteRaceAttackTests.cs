using Azure.Core;
using Azure.Core.Pipeline;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// An overwrite's commit record write reaches the store but its answer is lost; before the SDK's retry another
/// host overwrites the step (and deletes the blobs of the version it replaced: this save's). The retry fails its
/// condition, the save sees another host's record and must not write its record again over data already deleted.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobOverwriteRaceAttackTests
{
    private static bool IsRecordWrite(HttpMessage m, long step) =>
        m.Request.Method == RequestMethod.Put && m.Request.Uri.Path.EndsWith($"/commits/{step:D20}", StringComparison.Ordinal);

    /// <summary>Lets the first matching request through, runs <c>meanwhile</c>, then drops the answer.</summary>
    private sealed class LostThenMeanwhilePolicy(Func<HttpMessage, bool> match, Action meanwhile) : HttpPipelinePolicy
    {
        private int _seen;

        public int Seen => Volatile.Read(ref _seen);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            ProcessNext(message, pipeline);
            After(message);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            After(message);
        }

        private void After(HttpMessage message)
        {
            if (match(message) && Interlocked.Increment(ref _seen) == 1 && message.Response.Status is >= 200 and < 300)
            {
                meanwhile();
                throw new IOException("injected lost response (test)");
            }
        }
    }

    [Fact]
    public void An_overwrite_whose_landed_record_was_replaced_by_another_host_before_its_retry_never_lists_a_step_whose_data_is_gone()
    {
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(1), step: 1);
        }

        var other = BlobTest.State(3);
        var policy = new LostThenMeanwhilePolicy(m => IsRecordWrite(m, 1), () =>
        {
            using var host2 = BlobTest.Handler();
            host2.Save(location, other, step: 1, overwrite: true);
        });
        var state = BlobTest.State(2);
        using (var handler = BlobTest.Handler(new BlobSettings { TestPolicy = policy, RetryDelay = TimeSpan.FromMilliseconds(10) }))
        {
            try
            {
                handler.Save(location, state, step: 1, overwrite: true);
            }
            catch (Exception)
            {
                // Failing is fine (another host's overwrite won); listing a step whose data is gone is not.
            }
        }

        Assert.True(policy.Seen >= 2);
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 1 }, reader.GetCheckpointSteps(location));
        var restored = reader.Restore(location, 1);
        Assert.True(StateComparer.FirstDifference(state, restored) is null || StateComparer.FirstDifference(other, restored) is null);
        Assert.True(reader.Verify(location, 1).Ok);
    }

    /// <summary>Fails the first matching request before it is sent (runs <c>meanwhile</c> first): it cannot have landed.</summary>
    private sealed class DownBeforeSendPolicy(Func<HttpMessage, bool> match, Action meanwhile) : HttpPipelinePolicy
    {
        private int _seen;

        public int Seen => Volatile.Read(ref _seen);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Before(message);
            ProcessNext(message, pipeline);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Before(message);
            await ProcessNextAsync(message, pipeline);
        }

        private void Before(HttpMessage message)
        {
            if (match(message) && Interlocked.Increment(ref _seen) == 1)
            {
                meanwhile();
                throw new IOException("injected transport fault before sending (test)");
            }
        }
    }

    [Fact]
    public void An_overwrite_retried_after_a_transport_fault_while_another_host_pinned_the_step_still_replaces_it_keeping_the_pin()
    {
        // The retry's condition fails on the pin (same version, new ETag): this save's record never landed, so it
        // reads the step again and replaces it, as without the fault.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(1), step: 1);
        }

        var policy = new DownBeforeSendPolicy(m => IsRecordWrite(m, 1), () =>
        {
            using var host2 = BlobTest.Handler();
            host2.SetPinned(location, 1, true);
        });
        var state = BlobTest.State(2);
        using (var handler = BlobTest.Handler(new BlobSettings { TestPolicy = policy, RetryDelay = TimeSpan.FromMilliseconds(10) }))
        {
            handler.Save(location, state, step: 1, overwrite: true);
        }

        Assert.True(policy.Seen >= 2);
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 1 }, reader.GetCheckpointSteps(location));
        Assert.Null(StateComparer.FirstDifference(state, reader.Restore(location, 1)));
        Assert.True(reader.GetCheckpoint(location, 1).Pinned);
    }
}
