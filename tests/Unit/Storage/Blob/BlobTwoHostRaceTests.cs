using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs.Models;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// Two hosts on one store, with a request of one host lost or delayed at a chosen moment (deterministic
/// interleavings against Azurite). A remove's retried delete must only ever delete the version it set out to
/// delete, and a save's record write that lands after the saver gave up must never list a step whose data
/// the saver deleted.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobTwoHostRaceTests
{
    private static bool IsRecord(HttpMessage m, RequestMethod method, long step) =>
        m.Request.Method == method && m.Request.Uri.Path.EndsWith($"/commits/{step:D20}", StringComparison.Ordinal);

    /// <summary>
    /// What the SDK's transport (SocketsHttpHandler) throws when an established connection fails after the request
    /// left, its route gone (EHOSTUNREACH/ENETUNREACH reported by the kernel once the retransmissions time out):
    /// "An error occurred while sending the request", over the stream's IOException, over the socket's error.
    /// </summary>
    private static Func<Exception> RouteLostAfterSend(System.Net.Sockets.SocketError error) => () =>
        new RequestFailedException("An error occurred while sending the request. (injected, test)",
            new System.Net.Http.HttpRequestException(System.Net.Http.HttpRequestError.Unknown, "An error occurred while sending the request.",
                new IOException("Unable to read data from the transport connection: No route to host.", new System.Net.Sockets.SocketException((int)error))));

    /// <summary>Lets the first matching request reach the store, runs <c>meanwhile</c>, then drops the answer.</summary>
    private sealed class LandedThenMeanwhileLostPolicy(Func<HttpMessage, bool> match, Action meanwhile, Func<Exception>? lost = null) : HttpPipelinePolicy
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
                throw lost?.Invoke() ?? new IOException("injected lost response (test)");
            }
        }
    }

    /// <summary>
    /// Holds back the first matching commit-record write (it is on its way, not yet at the store), runs
    /// <c>meanwhile</c>, and reports the client's timeout. <see cref="Land"/> later delivers the very write held
    /// back (the same metadata, content and condition) as the store would receive a delayed request.
    /// </summary>
    private sealed class DelayedRecordWritePolicy(Func<HttpMessage, bool> match, Action? meanwhile = null, Func<Exception>? lost = null) : HttpPipelinePolicy
    {
        private int _seen;
        private Dictionary<string, string>? _metadata;
        private BlobRequestConditions? _conditions;
        private byte[]? _content;
        private Uri? _uri;

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Hold(message);
            ProcessNext(message, pipeline);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Hold(message);
            await ProcessNextAsync(message, pipeline);
        }

        private void Hold(HttpMessage message)
        {
            if (!match(message) || Interlocked.Increment(ref _seen) != 1)
            {
                return;
            }

            _uri = message.Request.Uri.ToUri();
            _metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            _conditions = new BlobRequestConditions();
            foreach (var header in message.Request.Headers)
            {
                if (header.Name.StartsWith("x-ms-meta-", StringComparison.OrdinalIgnoreCase))
                {
                    _metadata[header.Name["x-ms-meta-".Length..]] = header.Value;
                }
                else if (header.Name.Equals("If-None-Match", StringComparison.OrdinalIgnoreCase))
                {
                    _conditions.IfNoneMatch = new ETag(header.Value);
                }
                else if (header.Name.Equals("If-Match", StringComparison.OrdinalIgnoreCase))
                {
                    _conditions.IfMatch = new ETag(header.Value);
                }
            }

            using var body = new MemoryStream();
            message.Request.Content?.WriteTo(body, CancellationToken.None);
            _content = body.ToArray();
            meanwhile?.Invoke();
            throw lost?.Invoke() ?? new TaskCanceledException("The operation was cancelled because it exceeded the client's timeout (simulated; the request is still on its way).");
        }

        /// <summary>Delivers the held write now; true when the store applied it, false when it failed its condition.</summary>
        public bool Land(string location)
        {
            Assert.NotNull(_uri);
            var path = Uri.UnescapeDataString(_uri!.AbsolutePath);
            var container = BlobTest.Container(location);
            var name = path[(path.IndexOf(container.Name + "/", StringComparison.Ordinal) + container.Name.Length + 1)..];
            try
            {
                container.GetBlobClient(name).Upload(new BinaryData(_content!), new BlobUploadOptions { Metadata = _metadata, Conditions = _conditions });
                return true;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412)
            {
                return false;
            }
        }

        public bool IfMatch => _conditions?.IfMatch is not null;
    }

    private static BlobSettings Faulty(HttpPipelinePolicy policy, int maxRetries = 5) =>
        new() { TestPolicy = policy, MaxRetries = maxRetries, RetryDelay = TimeSpan.FromMilliseconds(10) };

    private static List<string> SaveFolders(string location, long step) =>
        BlobTest.BlobNames(location).Where(n => n.Contains($"/data/{step:D20}-", StringComparison.Ordinal))
            .Select(n => n[..n.LastIndexOf('/')]).Distinct().ToList();

    private static void AssertListedAndWhole(string location, long step, Dictionary<string, object?> expected)
    {
        using var reader = BlobTest.Handler();
        Assert.Contains(step, reader.GetCheckpointSteps(location));
        Assert.Null(StateComparer.FirstDifference(expected, reader.Restore(location, step)));
        Assert.True(reader.Verify(location, step).Ok);
    }

    [Fact]
    public void A_remove_whose_delete_landed_but_whose_answer_was_lost_never_deletes_the_step_another_host_saved_before_the_retry()
    {
        // Found by the attack on the remote backend (session 8): the retry's If-Match failed on the new record, and
        // the remove "decided again" on what was there now: the other host's newer save, which it deleted.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(1), step: 1);
        }

        var oldFolders = SaveFolders(location, 1);
        var newer = BlobTest.State(2);
        var policy = new LandedThenMeanwhileLostPolicy(m => IsRecord(m, RequestMethod.Delete, 1), () =>
        {
            using var host2 = BlobTest.Handler();
            host2.Save(location, newer, step: 1);
        });
        using (var remover = BlobTest.Handler(Faulty(policy)))
        {
            Assert.Equal(1, remover.Remove(location, 1).Step);
        }

        Assert.True(policy.Seen >= 2);
        AssertListedAndWhole(location, 1, newer);
        // The removed version's blobs went with it; the newer save's stayed.
        var folders = SaveFolders(location, 1);
        Assert.Single(folders);
        Assert.DoesNotContain(oldFolders[0], folders);
    }

    [Fact]
    public void A_save_whose_record_create_lands_after_its_unknown_outcome_check_lists_a_step_whose_data_is_there()
    {
        var location = AzuriteFixture.NewLocation();
        var policy = new DelayedRecordWritePolicy(m => IsRecord(m, RequestMethod.Put, 1));
        var state = BlobTest.State(1);
        using (var saver = BlobTest.Handler(Faulty(policy, maxRetries: 0)))
        {
            Assert.ThrowsAny<Exception>(() => saver.Save(location, state, step: 1));
        }

        // The check found no record; the create is still on its way and lands now.
        Assert.True(policy.Land(location));
        AssertListedAndWhole(location, 1, state);
    }

    [Fact]
    public void A_save_whose_record_create_lands_after_another_host_saved_and_removed_the_step_lists_a_step_whose_data_is_there()
    {
        // Host 1's create is delayed; host 2 saves the step meanwhile, so host 1's check finds another's record.
        // Host 2 then removes the step, and host 1's create lands on the empty slot.
        var location = AzuriteFixture.NewLocation();
        var policy = new DelayedRecordWritePolicy(m => IsRecord(m, RequestMethod.Put, 1), () =>
        {
            using var host2 = BlobTest.Handler();
            host2.Save(location, BlobTest.State(2), step: 1);
        });
        var state = BlobTest.State(1);
        using (var saver = BlobTest.Handler(Faulty(policy, maxRetries: 0)))
        {
            Assert.ThrowsAny<Exception>(() => saver.Save(location, state, step: 1));
        }

        using (var host2 = BlobTest.Handler())
        {
            host2.Remove(location, 1);
        }

        Assert.True(policy.Land(location));
        AssertListedAndWhole(location, 1, state);
    }

    [Fact]
    public void An_overwrite_whose_record_replacement_is_delayed_past_its_check_is_fenced_so_the_late_write_fails_and_the_old_version_stays()
    {
        var location = AzuriteFixture.NewLocation();
        var old = BlobTest.State(1);
        using (var first = BlobTest.Handler())
        {
            first.Save(location, old, step: 1);
        }

        var oldFolders = SaveFolders(location, 1);
        var policy = new DelayedRecordWritePolicy(m => IsRecord(m, RequestMethod.Put, 1));
        using (var saver = BlobTest.Handler(Faulty(policy, maxRetries: 0)))
        {
            Assert.ThrowsAny<Exception>(() => saver.Save(location, BlobTest.State(2), step: 1, overwrite: true));
        }

        Assert.True(policy.IfMatch);
        // The record was given a new version after the check, so the late If-Match write can never apply, and the
        // failed save's blobs could be deleted at once.
        Assert.False(policy.Land(location));
        AssertListedAndWhole(location, 1, old);
        Assert.Equal(oldFolders, SaveFolders(location, 1));
    }

    [Fact]
    public void A_save_whose_record_create_never_lands_leaves_its_blobs_to_the_sweep_which_takes_them_after_the_grace_period()
    {
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(1), step: 1);
        }

        var policy = new DelayedRecordWritePolicy(m => IsRecord(m, RequestMethod.Put, 2));
        using (var saver = BlobTest.Handler(Faulty(policy, maxRetries: 0)))
        {
            Assert.ThrowsAny<Exception>(() => saver.Save(location, BlobTest.State(2), step: 2));
        }

        Assert.Single(SaveFolders(location, 2));
        using (var patient = BlobTest.Handler(new BlobSettings { SweepGrace = TimeSpan.FromHours(1) }))
        {
            Assert.Empty(patient.RepairIndex(location).LeftoversRemoved);
        }

        using (var later = BlobTest.Handler(new BlobSettings { SweepGrace = TimeSpan.Zero }))
        {
            Assert.Single(later.RepairIndex(location).LeftoversRemoved);
            Assert.Equal(new long[] { 1 }, later.GetCheckpointSteps(location));
        }

        Assert.Empty(SaveFolders(location, 2));
    }

    [Fact]
    public void A_save_whose_record_create_lands_after_the_sweep_took_its_blobs_lists_a_step_whose_restore_and_verify_report_the_missing_data()
    {
        // The gap that remains (docs/object-store.md, "Two hosts"), not narrowed by the sweep's If-Match: the save
        // that gave up refreshes nothing, so the ETags the sweep listed are current when it deletes. Detected, not silent.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(1), step: 1);
        }

        var policy = new DelayedRecordWritePolicy(m => IsRecord(m, RequestMethod.Put, 2));
        using (var saver = BlobTest.Handler(Faulty(policy, maxRetries: 0)))
        {
            Assert.ThrowsAny<Exception>(() => saver.Save(location, BlobTest.State(2), step: 2));
        }

        using (var later = BlobTest.Handler(new BlobSettings { SweepGrace = TimeSpan.Zero }))
        {
            Assert.Single(later.RepairIndex(location).LeftoversRemoved);
        }

        Assert.True(policy.Land(location));
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 1, 2 }, reader.GetCheckpointSteps(location));
        Assert.Throws<CorruptCheckpointException>(() => reader.Restore(location, 2));
        StepVerification? verified = null;
        var error = Record.Exception(() => verified = reader.Verify(location, 2));
        Assert.True(error is CorruptCheckpointException || verified is { Ok: false });
    }

    [Theory]
    [InlineData(System.Net.Sockets.SocketError.HostUnreachable)]
    [InlineData(System.Net.Sockets.SocketError.NetworkUnreachable)]
    public void A_remove_whose_landed_delete_lost_its_route_before_the_answer_never_deletes_the_step_another_host_saved_before_the_retry(
        System.Net.Sockets.SocketError error)
    {
        // Found by the attack on remote2h: an established connection that loses its route after the request left
        // fails with a SocketException of HostUnreachable/NetworkUnreachable under the stream's IOException. It was
        // taken for "never connected" (not counted as unknown), so the retry's refusal was re-decided and the
        // remove deleted the other host's newer save.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(1), step: 1);
        }

        var newer = BlobTest.State(2);
        var policy = new LandedThenMeanwhileLostPolicy(m => IsRecord(m, RequestMethod.Delete, 1), () =>
        {
            using var host2 = BlobTest.Handler();
            host2.Save(location, newer, step: 1);
        }, RouteLostAfterSend(error));
        using (var remover = BlobTest.Handler(Faulty(policy)))
        {
            Assert.Equal(1, remover.Remove(location, 1).Step);
        }

        AssertListedAndWhole(location, 1, newer);
    }

    [Fact]
    public void A_save_whose_record_create_lost_its_route_after_it_left_and_lands_late_lists_a_step_whose_data_is_there()
    {
        var location = AzuriteFixture.NewLocation();
        var policy = new DelayedRecordWritePolicy(m => IsRecord(m, RequestMethod.Put, 1), lost: RouteLostAfterSend(System.Net.Sockets.SocketError.HostUnreachable));
        var state = BlobTest.State(1);
        using (var saver = BlobTest.Handler(Faulty(policy, maxRetries: 0)))
        {
            Assert.ThrowsAny<Exception>(() => saver.Save(location, state, step: 1));
        }

        Assert.True(policy.Land(location));
        AssertListedAndWhole(location, 1, state);
    }

    [Fact]
    public void An_unpin_whose_write_landed_but_whose_answer_was_lost_never_unpins_the_step_another_host_saved_and_pinned_before_the_retry()
    {
        // Found by the attack on remote2h: the same race as the remove's. The unpin's first try landed (answer lost),
        // another host replaced the step and pinned its new version, the retry's If-Match failed and the unpin
        // decided again on what was there now: it unpinned the other host's version, which a prune then deleted.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(1), step: 1);
            first.SetPinned(location, 1, pinned: true);
            first.Save(location, BlobTest.State(2), step: 2);
        }

        var newer = BlobTest.State(3);
        var policy = new LandedThenMeanwhileLostPolicy(m => IsRecord(m, RequestMethod.Put, 1) && m.Request.Uri.Query.Contains("comp=metadata", StringComparison.Ordinal), () =>
        {
            using var host2 = BlobTest.Handler();
            host2.Save(location, newer, step: 1, overwrite: true);
            host2.SetPinned(location, 1, pinned: true);
        });
        using (var unpinner = BlobTest.Handler(Faulty(policy)))
        {
            Assert.False(unpinner.SetPinned(location, 1, pinned: false).Pinned);
        }

        Assert.True(policy.Seen >= 2);
        using (var pruner = BlobTest.Handler())
        {
            Assert.True(pruner.ListCheckpoints(location).Single(c => c.Step == 1).Pinned);
            pruner.Prune(location, new RetentionPolicy { Keep = 1 });
        }

        AssertListedAndWhole(location, 1, newer);
    }

    /// <summary>Delivers a held record write just before the <c>nth</c> request matching <c>trigger</c> after it was held.</summary>
    private sealed class LandBeforePolicy(DelayedRecordWritePolicy held, Func<HttpMessage, bool> trigger, int nth, string location) : HttpPipelinePolicy
    {
        private int _seen;

        public bool? Landed { get; private set; }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Before(message);
            held.Process(message, pipeline);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Before(message);
            await held.ProcessAsync(message, pipeline);
        }

        private void Before(HttpMessage message)
        {
            if (held.IfMatch && trigger(message) && ++_seen == nth)
            {
                Landed = held.Land(location);
            }
        }
    }

    [Fact]
    public void An_overwrite_whose_delayed_record_replacement_lands_just_before_the_fence_is_committed_with_its_data()
    {
        // docs/object-store.md, "Two hosts": the fenced save reads the record once more; its own (the late write
        // landed between the check and the fence), the step is committed and none of its blobs is deleted.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(1), step: 1);
        }

        var held = new DelayedRecordWritePolicy(m => IsRecord(m, RequestMethod.Put, 1));
        // After the held write: the first HEAD of the record is the unknown-outcome check, the second the fence's read.
        var policy = new LandBeforePolicy(held, m => IsRecord(m, RequestMethod.Head, 1), nth: 2, location);
        var newer = BlobTest.State(2);
        using (var saver = BlobTest.Handler(Faulty(policy, maxRetries: 0)))
        {
            Assert.ThrowsAny<Exception>(() => saver.Save(location, newer, step: 1, overwrite: true));
        }

        Assert.True(policy.Landed);
        AssertListedAndWhole(location, 1, newer);
    }
}
