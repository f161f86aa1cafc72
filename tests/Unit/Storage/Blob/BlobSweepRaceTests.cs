using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// The leftover sweep of one host against a save of another that stalls past the grace period between its data
/// blobs and its commit record (a suspended process, a paused VM, a slow manifest upload), forced step by step
/// against Azurite with a short grace period: the sweep may take the blobs of a save that never commits, but a save
/// must never publish a step whose blobs a sweep took.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobSweepRaceTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);

    /// <summary>Longer than <see cref="Grace"/>, by enough that a blob committed before it began is past the grace period after it.</summary>
    private static readonly TimeSpan Stall = Grace + TimeSpan.FromMilliseconds(700);

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static bool IsSaveBlob(HttpMessage m, RequestMethod method) =>
        m.Request.Method == method && m.Request.Uri.Path.Contains("/data/", StringComparison.Ordinal)
        && (m.Request.Uri.Path.EndsWith("/tensors.lz4", StringComparison.Ordinal) || m.Request.Uri.Path.EndsWith("/manifest.json.lz4", StringComparison.Ordinal));

    private static bool IsManifestUpload(HttpMessage m) =>
        m.Request.Method == RequestMethod.Put && m.Request.Uri.Path.EndsWith("/manifest.json.lz4", StringComparison.Ordinal);

    private static bool IsRecordWrite(HttpMessage m, long step) =>
        m.Request.Method == RequestMethod.Put && m.Request.Uri.Path.EndsWith($"/commits/{step:D20}", StringComparison.Ordinal);

    private static bool IsMetadataWrite(HttpMessage m) =>
        m.Request.Method == RequestMethod.Put && m.Request.Uri.Query.Contains("comp=metadata", StringComparison.Ordinal);

    /// <summary>Runs <c>before</c> ahead of the first matching request, <c>after</c> once its answer came (each at most once).</summary>
    private sealed class HookPolicy(Func<HttpMessage, bool> match, Action? before = null, Action? after = null) : HttpPipelinePolicy
    {
        private int _before;
        private int _after;

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Before(message);
            ProcessNext(message, pipeline);
            After(message);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Before(message);
            await ProcessNextAsync(message, pipeline);
            After(message);
        }

        private void Before(HttpMessage message)
        {
            if (before is not null && match(message) && Interlocked.Increment(ref _before) == 1)
            {
                before();
            }
        }

        private void After(HttpMessage message)
        {
            if (after is not null && match(message) && Interlocked.Increment(ref _after) == 1)
            {
                after();
            }
        }
    }

    private static BlobSettings Host(HttpPipelinePolicy? policy = null, int maxRetries = 5) =>
        new() { SweepGrace = Grace, TestPolicy = policy, MaxRetries = maxRetries, RetryDelay = TimeSpan.FromMilliseconds(10) };

    private static List<string> SaveBlobs(string location, long step) =>
        BlobTest.BlobNames(location).Where(n => n.Contains($"/data/{step:D20}-", StringComparison.Ordinal)).ToList();

    private static void AssertListedAndWhole(string location, long step, Dictionary<string, object?> expected)
    {
        using var reader = BlobTest.Handler();
        Assert.Contains(step, reader.GetCheckpointSteps(location));
        Assert.Null(StateComparer.FirstDifference(expected, reader.Restore(location, step)));
        Assert.True(reader.Verify(location, step).Ok);
    }

    [Fact]
    public void A_save_stalled_past_the_grace_period_whose_blobs_another_host_swept_fails_and_publishes_nothing()
    {
        // Risk 1 of the sweep round: the save stalls after its manifest went up; host 2 sweeps its blobs (no record
        // names them, all older than the grace period); the save then wrote its record and reported success: a
        // listed step whose data was gone.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(0), step: 0);
        }

        var swept = 0;
        var stall = new HookPolicy(IsManifestUpload, after: () =>
        {
            Thread.Sleep(Stall);
            using var host2 = BlobTest.Handler(Host());
            swept = host2.RepairIndex(location).LeftoversRemoved.Count;
        });
        using (var saver = BlobTest.Handler(Host(stall)))
        {
            var e = Assert.ThrowsAny<Exception>(() => saver.Save(location, BlobTest.State(1), step: 1));
            Assert.Contains("swept", e.Message, StringComparison.Ordinal);
        }

        Assert.Equal(1, swept);
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 0 }, reader.GetCheckpointSteps(location));
        Assert.Empty(SaveBlobs(location, 1));
    }

    /// <summary>
    /// A host's clocks when the whole machine is suspended (laptop sleep, a paused VM): its monotonic clock (what
    /// <see cref="System.Diagnostics.Stopwatch"/> reads: CLOCK_MONOTONIC on Linux, which stops in suspend) does not
    /// count the time asleep, its wall clock does.
    /// </summary>
    private sealed class SuspendingClock : TimeProvider
    {
        private long _asleep;

        public override long GetTimestamp() => base.GetTimestamp() - Interlocked.Read(ref _asleep);

        /// <summary>Runs <c>meanwhile</c> as if the machine slept through it.</summary>
        public void Sleep(Action meanwhile)
        {
            var start = base.GetTimestamp();
            meanwhile();
            Interlocked.Add(ref _asleep, base.GetTimestamp() - start);
        }
    }

    [Fact]
    public void A_save_whose_machine_slept_past_the_grace_period_while_another_host_swept_its_blobs_fails_and_publishes_nothing()
    {
        // Found by the attack on sweep: the save measured its blobs' age on the monotonic clock only, which does not
        // advance while the machine is suspended. Asleep past the grace period after its manifest went up, it woke
        // "seconds" later by that clock, sent no refresh, wrote its record over blobs host 2 had swept and reported
        // success: a listed step without data.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(0), step: 0);
        }

        var clock = new SuspendingClock();
        var swept = 0;
        var sleep = new HookPolicy(IsManifestUpload, after: () => clock.Sleep(() =>
        {
            Thread.Sleep(Stall);
            using var host2 = BlobTest.Handler(Host());
            swept = host2.RepairIndex(location).LeftoversRemoved.Count;
        }));
        using (var saver = BlobTest.Handler(Host(sleep) with { Clock = clock }))
        {
            var e = Assert.ThrowsAny<Exception>(() => saver.Save(location, BlobTest.State(1), step: 1));
            Assert.Contains("swept", e.Message, StringComparison.Ordinal);
        }

        Assert.Equal(1, swept);
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 0 }, reader.GetCheckpointSteps(location));
        Assert.Empty(SaveBlobs(location, 1));
    }

    /// <summary>A host whose wall clock runs ahead of the store's.</summary>
    private sealed class LeadingClock(TimeSpan lead) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + lead;
    }

    [Fact]
    public async Task A_sweep_by_a_host_whose_clock_runs_ahead_keeps_the_fresh_blobs_of_a_save_about_to_commit()
    {
        // Found by the attack on sweep: the sweep judged the store's last-modified times by its own clock. A host an
        // hour ahead (grace 2 s here) took the seconds-old blobs of a fast save between its manifest and its record
        // (no refresh: the save was young), and the save then published a step without data and reported success.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(0), step: 0);
        }

        using var atRecord = new ManualResetEventSlim();
        using var go = new ManualResetEventSlim();
        var saverPolicy = new HookPolicy(m => IsRecordWrite(m, 1), before: () =>
        {
            atRecord.Set();
            Assert.True(go.Wait(Patience));
        });
        var state = BlobTest.State(1);
        // The save's blobs must still be young by the store's clock when the sweep lists them. With the class's 2 s
        // grace they were not always: between their upload and the sweep's listing lie the hand-over to this thread,
        // a new handler and the sweep's first requests, which a loaded machine (a CI run on two cores) can stretch
        // past 2 s, and the sweep then rightly took them. A minute cannot pass there; the host's lead of an hour
        // still puts the blobs far past it by the host's own clock, which is what a sweep must not judge by.
        var fresh = TimeSpan.FromMinutes(1);
        using var saver = BlobTest.Handler(Host(saverPolicy) with { SweepGrace = fresh });
        var save = Task.Run(() => saver.Save(location, state, step: 1));
        Assert.True(atRecord.Wait(Patience));
        try
        {
            using var host2 = BlobTest.Handler(Host() with { Clock = new LeadingClock(TimeSpan.FromHours(1)), SweepGrace = fresh });
            Assert.Empty(host2.RepairIndex(location).LeftoversRemoved);
        }
        finally
        {
            go.Set();
        }

        Assert.Equal(1, (await save).Step);
        AssertListedAndWhole(location, 1, state);
    }

    [Fact]
    public async Task A_sweep_that_listed_a_stalled_saves_blobs_before_the_save_refreshed_them_deletes_nothing_and_the_save_commits_whole()
    {
        // Sweep list -> save refresh -> sweep delete -> save record: the delete is conditional on the ETag listed, so
        // the refreshed blobs stay and the step the save publishes is whole.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(0), step: 0);
        }

        using var stalled = new ManualResetEventSlim();
        using var go = new ManualResetEventSlim();
        using var atRecord = new ManualResetEventSlim();
        var saverPolicy = new Policies(
            new HookPolicy(IsManifestUpload, after: () =>
            {
                stalled.Set();
                Assert.True(go.Wait(Patience));
            }),
            new HookPolicy(m => IsRecordWrite(m, 1), before: atRecord.Set));
        var state = BlobTest.State(1);
        using var saver = BlobTest.Handler(Host(saverPolicy));
        var save = Task.Run(() => saver.Save(location, state, step: 1));
        Assert.True(stalled.Wait(Patience));
        Thread.Sleep(Stall);

        // Host 2 has listed the stalled save's blobs (old, no record) when its first delete is about to go: the save
        // resumes and reaches its record write, after refreshing its blobs if it does; then the delete goes.
        var sweeperPolicy = new HookPolicy(m => IsSaveBlob(m, RequestMethod.Delete), before: () =>
        {
            go.Set();
            Assert.True(atRecord.Wait(Patience));
        });
        using (var host2 = BlobTest.Handler(Host(sweeperPolicy)))
        {
            Assert.Empty(host2.RepairIndex(location).LeftoversRemoved);
        }

        Assert.Equal(1, (await save).Step);
        AssertListedAndWhole(location, 1, state);
        Assert.Equal(2, SaveBlobs(location, 1).Count);
    }

    [Fact]
    public void A_save_slower_than_a_quarter_of_the_grace_period_refreshes_its_two_blobs_once_before_its_record()
    {
        var location = AzuriteFixture.NewLocation();
        var log = new RequestLog();
        DateTimeOffset stalledAt = default;
        var policy = new Policies(log, new HookPolicy(IsManifestUpload, after: () =>
        {
            stalledAt = DateTimeOffset.UtcNow;
            Thread.Sleep(Grace / 2);
        }));
        var state = BlobTest.State(1);
        using (var saver = BlobTest.Handler(Host(policy)))
        {
            saver.Save(location, state, step: 1);
        }

        Assert.Equal(2, log.Count(r => r.StartsWith("PUT ", StringComparison.Ordinal) && r.Contains("comp=metadata", StringComparison.Ordinal)));
        // The refresh gave both blobs a last-modified time after the stall began: a sweep measures their age from it.
        var container = BlobTest.Container(location);
        foreach (var name in SaveBlobs(location, 1))
        {
            Assert.True(container.GetBlobClient(name).GetProperties().Value.LastModified >= stalledAt.AddSeconds(-1));
        }

        AssertListedAndWhole(location, 1, state);
    }

    [Fact]
    public void A_refresh_failing_through_every_retry_fails_the_save_naming_the_step_and_location_and_publishes_nothing()
    {
        // It surfaced as the SDK's bare AggregateException ("Retry failed after 3 tries"), naming neither.
        var location = AzuriteFixture.NewLocation();
        var faults = new FaultPolicy(IsMetadataWrite, times: 1000);
        var policy = new Policies(new HookPolicy(IsManifestUpload, after: () => Thread.Sleep(Grace / 2)), faults);
        using (var saver = BlobTest.Handler(Host(policy, maxRetries: 2)))
        {
            var e = Assert.Throws<IOException>(() => saver.Save(location, BlobTest.State(1), step: 1));
            Assert.StartsWith($"Could not commit step 1 in '{location}': refreshing the save's ", e.Message, StringComparison.Ordinal);
            Assert.Contains("injected transport fault (test)", e.Message, StringComparison.Ordinal);
            Assert.Contains("save again", e.Message, StringComparison.Ordinal);
            var tries = Assert.IsType<AggregateException>(e.InnerException);
            Assert.Equal(3, tries.InnerExceptions.Count);
            Assert.Equal(3, faults.Injected);
        }

        using var reader = BlobTest.Handler();
        Assert.Empty(reader.GetCheckpointSteps(location));
    }

    [Fact]
    public void A_fast_save_sends_no_refresh()
    {
        var location = AzuriteFixture.NewLocation();
        var log = new RequestLog();
        using (var saver = BlobTest.Handler(new BlobSettings { TestPolicy = log }))
        {
            saver.Save(location, BlobTest.State(1), step: 1);
            saver.Save(location, BlobTest.State(2), step: 2);
        }

        Assert.Equal(0, log.Count(r => r.StartsWith("PUT ", StringComparison.Ordinal) && r.Contains("comp=metadata", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_sweep_that_fails_after_deleting_part_of_a_leftover_neither_fails_the_committed_save_nor_lists_the_leftover_and_a_later_sweep_takes_the_rest()
    {
        // Risk 2: a sweep that deleted one blob of a leftover folder and failed at the next (the network gone through
        // every retry) leaves a folder no record names: nothing a listing shows. It ran after a committed save, whose
        // success it must not turn into a failure.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(0), step: 0);
        }

        // A leftover: the record create of step 1 failed after it may have left (outcome unknown): blobs left for the sweep.
        using (var failed = BlobTest.Handler(Host(new FaultPolicy(m => IsRecordWrite(m, 1), 1), maxRetries: 0)))
        {
            Assert.ThrowsAny<Exception>(() => failed.Save(location, BlobTest.State(1), step: 1));
        }

        Assert.Equal(2, SaveBlobs(location, 1).Count);
        Thread.Sleep(Stall);
        var deletes = 0;
        var sweepFault = new FaultPolicy(m => IsSaveBlob(m, RequestMethod.Delete) && Interlocked.Increment(ref deletes) >= 2, 100);
        var state = BlobTest.State(2);
        using (var host2 = BlobTest.Handler(Host(sweepFault, maxRetries: 0)))
        {
            Assert.Equal(2, host2.Save(location, state, step: 2).Step);
        }

        Assert.True(sweepFault.Injected >= 1);
        Assert.Single(SaveBlobs(location, 1));
        using (var reader = BlobTest.Handler())
        {
            Assert.Equal(new long[] { 0, 2 }, reader.GetCheckpointSteps(location));
        }

        AssertListedAndWhole(location, 2, state);
        using (var later = BlobTest.Handler(Host()))
        {
            Assert.Single(later.RepairIndex(location).LeftoversRemoved);
        }

        Assert.Empty(SaveBlobs(location, 1));
        AssertListedAndWhole(location, 2, state);
    }

    [Fact]
    public void A_save_whose_sweep_marker_cannot_be_reached_through_every_retry_still_reports_its_committed_step()
    {
        var location = AzuriteFixture.NewLocation();
        var state = BlobTest.State(1);
        var fault = new FaultPolicy(m => m.Request.Uri.Path.EndsWith("/last-sweep", StringComparison.Ordinal), 100);
        using (var saver = BlobTest.Handler(Host(fault, maxRetries: 0)))
        {
            Assert.Equal(1, saver.Save(location, state, step: 1).Step);
        }

        Assert.True(fault.Injected >= 1);
        AssertListedAndWhole(location, 1, state);
    }

    [Fact]
    public void A_sweep_keeps_a_leftover_blob_changed_after_it_was_listed()
    {
        // The sweep deletes only the version of a blob it listed (If-Match on its ETag): one written since, by the
        // save refreshing it, is not the old leftover it judged.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(0), step: 0);
        }

        using (var failed = BlobTest.Handler(Host(new FaultPolicy(m => IsRecordWrite(m, 1), 1), maxRetries: 0)))
        {
            Assert.ThrowsAny<Exception>(() => failed.Save(location, BlobTest.State(1), step: 1));
        }

        Thread.Sleep(Stall);
        var container = BlobTest.Container(location);
        var blobs = SaveBlobs(location, 1);
        var touch = new HookPolicy(m => IsSaveBlob(m, RequestMethod.Delete), before: () =>
        {
            foreach (var name in blobs)
            {
                container.GetBlobClient(name).SetMetadata(new Dictionary<string, string> { ["refreshed"] = "test" });
            }
        });
        using (var host2 = BlobTest.Handler(Host(touch)))
        {
            Assert.Empty(host2.RepairIndex(location).LeftoversRemoved);
        }

        Assert.Equal(blobs, SaveBlobs(location, 1));
    }
}
