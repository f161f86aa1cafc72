using Azure.Core;
using Azure.Core.Pipeline;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// Attack on the sweep marker read during the upload: the HEAD is answered before a save's blobs are up, the sweep is
/// decided after its commit record. Another host that swept in between (while the first save's upload ran, which takes
/// as long as the state is large) must keep the first save from sweeping again: writers sweep at most about once per
/// grace period per store, not once per save whose upload spans another host's sweep.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobSweepMarkerStaleReadAttackTests
{
    // Host A's blobs must stay younger than this through host B's whole save and sweep, or B rightly sweeps them and
    // A's save fails: at 4 s a loaded machine (a CI run on two cores) could take longer. What the tests check does not
    // depend on its length: whether A sweeps again is decided by the marker's version (If-Match), not by time.
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(20);

    private static bool IsMarker(string request, string method) =>
        request.StartsWith(method + " ", StringComparison.Ordinal) && request.Split('?')[0].EndsWith("/last-sweep", StringComparison.Ordinal);

    private static bool IsSweepListing(string request) =>
        request.StartsWith("GET ", StringComparison.Ordinal) && request.Contains("comp=list", StringComparison.Ordinal)
        && request.Contains("prefix=", StringComparison.Ordinal) && request.Contains("data", StringComparison.Ordinal);

    /// <summary>Blocks the first request that matches until released; says when it got there.</summary>
    private sealed class GatePolicy(Func<HttpMessage, bool> match) : HttpPipelinePolicy
    {
        private int _hit;
        public ManualResetEventSlim Reached { get; } = new();
        public ManualResetEventSlim Release { get; } = new();

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Wait(message);
            ProcessNext(message, pipeline);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Wait(message);
            await ProcessNextAsync(message, pipeline);
        }

        private void Wait(HttpMessage message)
        {
            if (match(message) && Interlocked.Increment(ref _hit) == 1)
            {
                Reached.Set();
                Assert.True(Release.Wait(TimeSpan.FromSeconds(60)), "the gate was never released");
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_save_whose_upload_spans_another_hosts_sweep_does_not_sweep_again(bool sweptBefore)
    {
        var location = AzuriteFixture.NewLocation();
        if (sweptBefore)
        {
            // The store was swept once, longer ago than the grace period: the next saves find a sweep due.
            using (var first = BlobTest.Handler(new BlobSettings { SweepGrace = Grace }))
            {
                first.Save(location, BlobTest.State(0), step: 0);
            }

            await Task.Delay(Grace + TimeSpan.FromSeconds(1.5));
        }
        else
        {
            // A store never swept (no marker): another host's first sweep must count as well.
            BlobTest.Container(location).CreateIfNotExists();
        }

        // Host A: its marker HEAD is answered, then its upload stalls (its manifest's Put Blob waits at the gate).
        var logA = new RequestLog();
        var gate = new GatePolicy(m => m.Request.Method == RequestMethod.Put && m.Request.Uri.Path.EndsWith("/manifest.json.lz4", StringComparison.Ordinal));
        var headA = new ManualResetEventSlim();
        var headSeen = new HeadSeenPolicy(headA);
        using var hostA = BlobTest.Handler(new BlobSettings { SweepGrace = Grace, TestPolicy = new Policies(logA, gate, headSeen) });
        var saveA = Task.Run(() => hostA.Save(location, BlobTest.State(1), step: 1));
        Assert.True(gate.Reached.Wait(TimeSpan.FromSeconds(60)), "host A's manifest upload never started");
        Assert.True(headA.Wait(TimeSpan.FromSeconds(60)), "host A never read the sweep marker");

        // Host B saves meanwhile: the sweep is due, so it sweeps and marks it.
        var logB = new RequestLog();
        using (var hostB = BlobTest.Handler(new BlobSettings { SweepGrace = Grace, TestPolicy = logB }))
        {
            hostB.Save(location, BlobTest.State(2), step: 2);
        }

        Assert.Contains(logB.Requests, r => IsMarker(r, "PUT"));
        var marker = BlobTest.Container(location).GetBlobClient(BlobLocation.Parse(location).Prefix + "last-sweep");
        var markedByB = marker.GetProperties().Value.ETag;

        // Host A goes on and commits well within the grace period of host B's sweep: it must not sweep again.
        gate.Release.Set();
        Assert.Equal(1, (await saveA).Step);
        Assert.DoesNotContain(logA.Requests, IsSweepListing);
        Assert.Equal(markedByB, marker.GetProperties().Value.ETag);

        using var reader = BlobTest.Handler();
        Assert.Equal(sweptBefore ? new long[] { 0, 1, 2 } : new long[] { 1, 2 }, reader.GetCheckpointSteps(location));
        Assert.Null(StateComparer.FirstDifference(BlobTest.State(1), reader.Restore(location, 1)));
    }

    [Fact]
    public async Task A_save_cancelled_while_the_marker_read_is_in_flight_leaves_no_request_running()
    {
        // Found by the attack on remote13: the marker's HEAD was sent without the save's token; a save cancelled mid-upload
        // returned while it ran on (through every retry on a network gone), its answer thrown away.
        var location = AzuriteFixture.NewLocation();
        var slowHead = new SlowMarkerHeadPolicy(TimeSpan.FromSeconds(30));
        using var cts = new CancellationTokenSource();
        var stopAtData = new CancelAtPolicy(m => m.Request.Method == RequestMethod.Put && m.Request.Uri.Path.EndsWith("/tensors.lz4", StringComparison.Ordinal), cts);
        using var host = BlobTest.Handler(new BlobSettings { SweepGrace = Grace, TestPolicy = new Policies(slowHead, stopAtData), MaxRetries = 0 });
        var state = new Dictionary<string, object?> { ["w"] = new byte[3 << 20] };
        new Random(1).NextBytes((byte[])state["w"]!);

        Assert.ThrowsAny<OperationCanceledException>(() => host.Save(location, state, step: 1, cancellationToken: cts.Token));
        var returned = DateTime.UtcNow;

        Assert.True(await Task.WhenAny(slowHead.Finished.Task, Task.Delay(TimeSpan.FromSeconds(10))) == slowHead.Finished.Task,
            "the marker's HEAD was still running 10 s after the cancelled save returned");
        Assert.True(await slowHead.Finished.Task < returned.AddSeconds(10));
        using var reader = BlobTest.Handler();
        Assert.Empty(reader.GetCheckpointSteps(location));
    }

    [Fact]
    public async Task A_save_that_fails_while_the_marker_read_is_in_flight_leaves_no_request_running()
    {
        // Found by the final review of session 13: only a cancelled save ended the marker's HEAD; a save whose upload
        // failed (or whose commit was refused) threw while the HEAD ran on through its retries, its answer thrown away.
        var location = AzuriteFixture.NewLocation();
        var slowHead = new SlowMarkerHeadPolicy(TimeSpan.FromSeconds(30));
        var failData = new FaultPolicy(m => m.Request.Method == RequestMethod.Put && m.Request.Uri.Path.EndsWith("/tensors.lz4", StringComparison.Ordinal), times: 1000);
        using var host = BlobTest.Handler(new BlobSettings { SweepGrace = Grace, TestPolicy = new Policies(slowHead, failData), MaxRetries = 0 });
        var state = new Dictionary<string, object?> { ["w"] = new byte[3 << 20] };
        new Random(2).NextBytes((byte[])state["w"]!);

        Assert.ThrowsAny<Exception>(() => host.Save(location, state, step: 1));
        var returned = DateTime.UtcNow;

        Assert.True(await Task.WhenAny(slowHead.Finished.Task, Task.Delay(TimeSpan.FromSeconds(10))) == slowHead.Finished.Task,
            "the marker's HEAD was still running 10 s after the failed save returned");
        Assert.True(await slowHead.Finished.Task < returned.AddSeconds(10));
        using var reader = BlobTest.Handler();
        Assert.Empty(reader.GetCheckpointSteps(location));
    }

    /// <summary>Holds each HEAD of the sweep marker for a while (or until its request is cancelled); says when it ended.</summary>
    private sealed class SlowMarkerHeadPolicy(TimeSpan delay) : HttpPipelinePolicy
    {
        public TaskCompletionSource<DateTime> Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => ProcessNext(message, pipeline);

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (message.Request.Method == RequestMethod.Head && message.Request.Uri.Path.EndsWith("/last-sweep", StringComparison.Ordinal))
            {
                try
                {
                    await Task.Delay(delay, message.CancellationToken);
                }
                finally
                {
                    Finished.TrySetResult(DateTime.UtcNow);
                }
            }

            await ProcessNextAsync(message, pipeline);
        }
    }

    /// <summary>Cancels the save when the first matching request is sent.</summary>
    private sealed class CancelAtPolicy(Func<HttpMessage, bool> match, CancellationTokenSource cts) : HttpPipelinePolicy
    {
        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Hit(message);
            ProcessNext(message, pipeline);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Hit(message);
            await ProcessNextAsync(message, pipeline);
        }

        private void Hit(HttpMessage message)
        {
            if (match(message))
            {
                cts.Cancel();
            }
        }
    }

    /// <summary>Sets an event once a HEAD of the sweep marker was answered.</summary>
    private sealed class HeadSeenPolicy(ManualResetEventSlim seen) : HttpPipelinePolicy
    {
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
            if (message.Request.Method == RequestMethod.Head && message.Request.Uri.Path.EndsWith("/last-sweep", StringComparison.Ordinal))
            {
                seen.Set();
            }
        }
    }
}
