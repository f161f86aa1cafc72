using System.Diagnostics;
using Azure.Storage.Blobs.Models;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>Corrupted blobs, transient faults, request counts and the local cache of a remote store.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobIntegrityTests
{
    private readonly AzuriteFixture _azurite;

    public BlobIntegrityTests(AzuriteFixture azurite) => _azurite = azurite;

    private static string DataBlob(string location, long step) =>
        BlobTest.BlobNames(location).Single(n => n.Contains($"/data/{step:D20}-", StringComparison.Ordinal) && n.EndsWith("/tensors.lz4", StringComparison.Ordinal));

    [Fact]
    public void A_corrupted_data_blob_is_detected_naming_the_item_and_never_returned()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        handler.Save(location, new Dictionary<string, object?> { ["w"] = Enumerable.Range(0, 100_000).Select(i => (float)i).ToArray() }, step: 1);
        var blob = BlobTest.Container(location).GetBlobClient(DataBlob(location, 1));
        var bytes = blob.DownloadContent().Value.Content.ToArray();
        bytes[bytes.Length / 2] ^= 0x40;
        blob.Upload(BinaryData.FromBytes(bytes), overwrite: true);
        var e = Assert.Throws<CorruptCheckpointException>(() => handler.Restore(location, 1));
        Assert.Equal("w", e.Item);
        var verified = handler.Verify(location, 1);
        Assert.False(verified.Ok);
        Assert.Contains(verified.Problems, p => p.Item == "w");
    }

    [Fact]
    public void A_replaced_manifest_blob_is_refused_by_the_hash_the_commit_record_names()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        handler.Save(location, BlobTest.State(1), step: 1);
        handler.Save(location, BlobTest.State(2), step: 2);
        var names = BlobTest.BlobNames(location);
        var container = BlobTest.Container(location);
        var manifest1 = names.Single(n => n.Contains("/data/00000000000000000001-", StringComparison.Ordinal) && n.EndsWith("manifest.json.lz4", StringComparison.Ordinal));
        var manifest2 = names.Single(n => n.Contains("/data/00000000000000000002-", StringComparison.Ordinal) && n.EndsWith("manifest.json.lz4", StringComparison.Ordinal));
        container.GetBlobClient(manifest1).Upload(container.GetBlobClient(manifest2).DownloadContent().Value.Content, overwrite: true);
        var e = Assert.Throws<CorruptCheckpointException>(() => handler.Restore(location, 1));
        Assert.Equal("manifest.json.lz4", e.Item);
        Assert.False(handler.Verify(location, 1).Ok);
    }

    [Fact]
    public void Transient_transport_faults_during_upload_are_retried_and_the_save_succeeds()
    {
        var location = AzuriteFixture.NewLocation();
        var fault = new FaultPolicy(m => m.Request.Method.ToString() == "PUT" && m.Request.Uri.Query.Contains("comp=block", StringComparison.Ordinal), times: 3);
        using var handler = BlobTest.Handler(new BlobSettings { TestPolicy = fault, RetryDelay = TimeSpan.FromMilliseconds(20), BlockSize = 1 << 20 });
        var state = BlobTest.State(5, floats: 2_000_000);
        handler.Save(location, state, step: 1);
        Assert.Equal(3, fault.Injected);
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 1)));
    }

    [Fact]
    public void A_commit_that_keeps_failing_fails_the_save_cleanly_and_leaves_the_store_unchanged()
    {
        // Every try of the record write fails to connect, so none can land later: the save deletes its blobs at once.
        // (A try that may have left is another matter: BlobTwoHostRaceTests.)
        var location = AzuriteFixture.NewLocation();
        using (var good = BlobTest.Handler())
        {
            good.Save(location, BlobTest.State(1), step: 1);
        }

        var before = BlobTest.BlobNames(location);
        var fault = new FaultPolicy(m => m.Request.Method.ToString() == "PUT" && m.Request.Uri.Path.Contains("/commits/", StringComparison.Ordinal), times: 1000,
            FaultPolicy.ConnectionRefused);
        using (var failing = BlobTest.Handler(new BlobSettings { TestPolicy = fault, MaxRetries = 2, RetryDelay = TimeSpan.FromMilliseconds(10) }))
        {
            Assert.ThrowsAny<Exception>(() => failing.Save(location, BlobTest.State(2), step: 2));
            Assert.Equal(3, fault.Injected);
        }

        Assert.Equal(before, BlobTest.BlobNames(location));
        using var handler = BlobTest.Handler();
        Assert.Equal(new long[] { 1 }, handler.GetCheckpointSteps(location));
        handler.Save(location, BlobTest.State(2), step: 2);
        Assert.Equal(new long[] { 1, 2 }, handler.GetCheckpointSteps(location));
    }

    [Fact]
    public async Task A_save_while_the_service_restarts_is_retried_or_fails_cleanly()
    {
        // An Azurite of its own, so that stopping it disturbs no other test and the test runs under build.ps1 too.
        using var azurite = AzuriteFixture.StartPrivate();
        Assert.True(azurite.OwnsAzurite);
        var location = $"{azurite.BlobEndpoint}/{AzuriteFixture.NewLocation()["az://".Length..]}";
        using var handler = BlobTest.Handler(new BlobSettings { RetryDelay = TimeSpan.FromMilliseconds(500), MaxRetries = 6, BlockSize = 1 << 20 });
        handler.Save(location, BlobTest.State(1), step: 1);
        var state = BlobTest.State(2, floats: 8_000_000);
        var bounce = Task.Run(() =>
        {
            Thread.Sleep(300);
            azurite.Stop();
            Thread.Sleep(1500);
            azurite.Start();
        });
        Exception? failure = null;
        try
        {
            handler.Save(location, state, step: 2);
        }
        catch (Exception e)
        {
            failure = e;
        }

        await bounce;
        var steps = handler.GetCheckpointSteps(location);
        Console.WriteLine($"save across an Azurite restart: {(failure is null ? "retried and committed" : "failed cleanly: " + failure.GetType().Name)}");
        if (failure is null)
        {
            Assert.Equal(new long[] { 1, 2 }, steps);
            Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 2)));
        }
        else
        {
            Assert.Equal(new long[] { 1 }, steps);
        }

        Assert.True(handler.Verify(location, 1).Ok);
    }

    [Fact]
    public void Listing_ten_thousand_steps_reads_list_pages_only_and_never_a_manifest()
    {
        var location = AzuriteFixture.NewLocation();
        using (var handler = BlobTest.Handler())
        {
            handler.Save(location, BlobTest.State(0), step: 0, metadata: new Dictionary<string, object?> { ["epoch"] = 1 });
        }

        // 9,999 more commit records, made as a save makes them (same metadata, other step numbers); their
        // data is step 0's, which listing never reads.
        var container = BlobTest.Container(location);
        var record0 = container.GetBlobs(BlobTraits.Metadata, BlobStates.None, "run/commits/", CancellationToken.None).Single();
        Parallel.For(1, 10_000, new ParallelOptions { MaxDegreeOfParallelism = 16 }, step =>
        {
            var metadata = new Dictionary<string, string>(record0.Metadata) { ["step"] = step.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            container.GetBlobClient($"run/commits/{step:D20}").Upload(BinaryData.FromString("{\"epoch\":1}"), new BlobUploadOptions { Metadata = metadata });
        });

        var log = new RequestLog();
        using var lister = BlobTest.Handler(new BlobSettings { TestPolicy = log });
        var watch = Stopwatch.StartNew();
        var listed = lister.ListCheckpoints(location);
        watch.Stop();
        Assert.Equal(10_000, listed.Count);
        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => (long)i), listed.Select(i => i.Step));
        Assert.All(listed.Take(3), i => Assert.Equal(1L, Convert.ToInt64(i.Metadata["epoch"], System.Globalization.CultureInfo.InvariantCulture)));
        // Two pages with metadata; the lister shares the writer's cache folder, whose cached records (step 0 only)
        // first send it to a names-only page, given up as soon as more than 32 records need reading.
        Assert.InRange(log.Requests.Count, 2, 3);
        Assert.Equal(2, log.Count(r => r.Contains("include=metadata", StringComparison.OrdinalIgnoreCase)));
        Assert.All(log.Requests, r => Assert.Contains("comp=list", r, StringComparison.Ordinal));
        Console.WriteLine($"listing 10,000 remote steps: {watch.ElapsedMilliseconds} ms, {log.Requests.Count} requests");

        // Where a warm listing's time goes: the service's own List Blobs of the same records, with the metadata
        // a listing shows (the floor) and without it (names and ETags only), against the engine's listing.
        double Median(Func<int> run)
        {
            var times = new List<double>();
            for (var i = 0; i < 3; i++)
            {
                var w = Stopwatch.StartNew();
                Assert.Equal(10_000, run());
                times.Add(w.Elapsed.TotalMilliseconds);
            }

            return times.Order().ElementAt(1);
        }

        var withMetadata = Median(() => container.GetBlobs(BlobTraits.Metadata, BlobStates.None, "run/commits/", CancellationToken.None).Count());
        var withoutMetadata = Median(() => container.GetBlobs(BlobTraits.None, BlobStates.None, "run/commits/", CancellationToken.None).Count());
        log.Requests.Clear();
        var warm = Median(() => lister.ListCheckpoints(location).Count);
        // Warm: the two pages carry names and ETags only, every record's metadata comes from the cache.
        Assert.Equal(6, log.Requests.Count);
        Assert.DoesNotContain(log.Requests, r => r.Contains("include=metadata", StringComparison.OrdinalIgnoreCase) || !r.Contains("comp=list", StringComparison.Ordinal));
        Console.WriteLine($"listing 10,000 remote steps, median of 3: SDK GetBlobs with metadata {withMetadata:F0} ms, without metadata {withoutMetadata:F0} ms; ListCheckpoints with a warm cache {warm:F0} ms");
    }

    [Fact]
    public void Items_are_read_from_the_manifest_once_then_from_the_cache_and_deleting_the_cache_loses_nothing()
    {
        var location = AzuriteFixture.NewLocation();
        var log = new RequestLog();
        using var handler = BlobTest.Handler(new BlobSettings { TestPolicy = log, CacheDirectory = Path.Combine(_azurite.CacheDirectory, Guid.NewGuid().ToString("N")) });
        handler.Save(location, BlobTest.State(1), step: 1);
        using var fresh = BlobTest.Handler(new BlobSettings { TestPolicy = log, CacheDirectory = Path.Combine(_azurite.CacheDirectory, Guid.NewGuid().ToString("N")) });
        int ManifestReads() => log.Count(r => r.StartsWith("GET", StringComparison.Ordinal) && r.Contains("manifest.json.lz4", StringComparison.Ordinal));
        var first = fresh.GetItems(location, 1);
        Assert.Equal(1, ManifestReads());
        var second = fresh.GetItems(location, 1);
        Assert.Equal(1, ManifestReads());
        Assert.Equal(first.Select(i => (i.Name, i.Size, i.StoredSize)), second.Select(i => (i.Name, i.Size, i.StoredSize)));
        // The saving handler cached its own items: no manifest read at all.
        var saved = handler.GetItems(location, 1);
        Assert.Equal(1, ManifestReads());
        Assert.Equal(first.Select(i => (i.Name, i.Size, i.StoredSize)), saved.Select(i => (i.Name, i.Size, i.StoredSize)));
        // An overwrite is a new save: its items are read again, never the old ones.
        var changed = new Dictionary<string, object?> { ["only"] = new int[] { 1, 2, 3 } };
        handler.Save(location, changed, step: 1, overwrite: true);
        Assert.Equal(["only"], fresh.GetItems(location, 1).Select(i => i.Name));
        Directory.Delete(_azurite.CacheDirectory, recursive: true);
        Assert.Equal(["only"], fresh.GetItems(location, 1).Select(i => i.Name));
        Assert.Equal(new long[] { 1 }, fresh.GetCheckpointSteps(location));
    }

    [Fact]
    public void An_overwrite_whose_replaced_blobs_cannot_be_deleted_reports_the_committed_step_and_leaves_them_to_the_sweep()
    {
        // Found by the attack on remote2h: the delete of the replaced version's blobs caught only RequestFailedException,
        // so a network failing through every retry (the SDK's AggregateException) failed a save that had committed.
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(1), step: 1);
        }

        var oldFolder = BlobTest.BlobNames(location).Single(n => n.Contains("/data/", StringComparison.Ordinal) && n.EndsWith("/manifest.json.lz4", StringComparison.Ordinal));
        oldFolder = oldFolder[..oldFolder.LastIndexOf('/')];
        var fault = new FaultPolicy(m => m.Request.Method.ToString() == "DELETE" && Uri.UnescapeDataString(m.Request.Uri.Path).Contains(oldFolder, StringComparison.Ordinal), times: 1000);
        var newer = BlobTest.State(2);
        using (var saver = BlobTest.Handler(new BlobSettings { TestPolicy = fault, MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(10) }))
        {
            Assert.Equal(1, saver.Save(location, newer, step: 1, overwrite: true).Step);
        }

        Assert.True(fault.Injected > 0);
        using var reader = BlobTest.Handler();
        Assert.Null(StateComparer.FirstDifference(newer, reader.Restore(location, 1)));
        using var sweeper = BlobTest.Handler(new BlobSettings { SweepGrace = TimeSpan.Zero });
        Assert.Single(sweeper.RepairIndex(location).LeftoversRemoved);
    }
}
