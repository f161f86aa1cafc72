using Azure.Storage.Blobs.Models;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// A warm listing takes commit records from the local cache only when the store lists the same name with the
/// same ETag (docs/object-store.md, "The local index cache"): whatever another host does to the records after
/// the cache was filled shows in the next listing, and a damaged cache file costs requests, never a wrong row.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobListingCacheTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private CheckpointHandler Host(string name, RequestLog? log = null) =>
        BlobTest.Handler(new BlobSettings { CacheDirectory = _dir.Sub(name), TestPolicy = log, RetryDelay = TimeSpan.FromMilliseconds(50) });

    private static string Describe(IEnumerable<CheckpointInfo> listed) =>
        string.Join("; ", listed.Select(i => $"{i.Step}:{i.Size}:{i.ItemCount}:{(i.Pinned ? "pinned" : "-")}"));

    private static List<string> Heads(RequestLog log) => log.Requests.Where(r => r.StartsWith("HEAD ", StringComparison.Ordinal)).ToList();

    private static bool WithMetadata(string request) => request.Contains("include=metadata", StringComparison.OrdinalIgnoreCase);

    private static int Lists(RequestLog log) => log.Count(r => r.Contains("comp=list", StringComparison.Ordinal));

    [Fact]
    public void A_warm_listing_sends_one_list_request_without_metadata_and_no_head()
    {
        var location = AzuriteFixture.NewLocation();
        var log = new RequestLog();
        using var reader = Host("reader", log);
        using (var writer = Host("writer"))
        {
            for (var step = 1; step <= 3; step++)
            {
                writer.Save(location, BlobTest.State(step), step: step);
            }
        }

        var cold = reader.ListCheckpoints(location);
        Assert.Single(log.Requests, WithMetadata);
        log.Requests.Clear();

        var warm = reader.ListCheckpoints(location);

        Assert.Equal(Describe(cold), Describe(warm));
        Assert.Equal([1L, 2L, 3L], warm.Select(i => i.Step));
        Assert.Equal(1, Lists(log));
        Assert.DoesNotContain(log.Requests, WithMetadata);
        Assert.Empty(Heads(log));
    }

    [Fact]
    public void A_step_another_host_commits_after_a_warm_listing_is_listed_with_its_metadata_for_one_head()
    {
        var location = AzuriteFixture.NewLocation();
        var log = new RequestLog();
        using var reader = Host("reader", log);
        using var writer = Host("writer");
        writer.Save(location, BlobTest.State(1), step: 1);
        reader.ListCheckpoints(location);
        writer.Save(location, BlobTest.State(2, floats: 5000), step: 2, metadata: new Dictionary<string, object?> { ["loss"] = 0.25 });
        log.Requests.Clear();

        var listed = reader.ListCheckpoints(location);

        Assert.Equal([1L, 2L], listed.Select(i => i.Step));
        var two = listed[1];
        Assert.Equal(writer.GetCheckpoint(location, 2).Size, two.Size);
        Assert.Equal(4, two.ItemCount);
        Assert.Equal(0.25, two.Metadata["loss"]);
        Assert.EndsWith($"/commits/{2:D20}", Assert.Single(Heads(log)).Split('?')[0], StringComparison.Ordinal);
        Assert.Equal(1, Lists(log));

        // The new record is cached too: the next listing asks for nothing but the names.
        log.Requests.Clear();
        Assert.Equal([1L, 2L], reader.ListCheckpoints(location).Select(i => i.Step));
        Assert.Empty(Heads(log));
    }

    [Fact]
    public void A_step_another_host_removes_after_a_warm_listing_is_no_longer_listed_nor_readable()
    {
        var location = AzuriteFixture.NewLocation();
        using var reader = Host("reader");
        using var writer = Host("writer");
        writer.Save(location, BlobTest.State(1), step: 1);
        writer.Save(location, BlobTest.State(2), step: 2);
        Assert.Equal([1L, 2L], reader.ListCheckpoints(location).Select(i => i.Step));

        writer.Remove(location, 2, force: false);

        Assert.Equal([1L], reader.ListCheckpoints(location).Select(i => i.Step));
        Assert.Equal(1L, reader.LatestStep(location));
        Assert.Throws<StepNotFoundException>(() => reader.GetCheckpoint(location, 2));
    }

    [Fact]
    public void A_step_another_host_overwrites_after_a_warm_listing_is_listed_as_the_new_version()
    {
        var location = AzuriteFixture.NewLocation();
        using var reader = Host("reader");
        using var writer = Host("writer");
        writer.Save(location, BlobTest.State(1, floats: 100), step: 1, metadata: new Dictionary<string, object?> { ["v"] = 1L });
        var before = reader.ListCheckpoints(location).Single();

        writer.Save(location, BlobTest.State(1, floats: 9000), step: 1, overwrite: true, metadata: new Dictionary<string, object?> { ["v"] = 2L });
        var after = reader.ListCheckpoints(location).Single();

        Assert.NotEqual(before.Size, after.Size);
        Assert.Equal(writer.GetCheckpoint(location, 1).Size, after.Size);
        Assert.Equal(2L, after.Metadata["v"]);
        Assert.Equal(9000, ((float[])((IDictionary<string, object?>)reader.Restore(location, 1)!)["w"]!).Length);
    }

    [Fact]
    public void A_pin_set_by_another_host_after_a_warm_listing_shows_in_the_next_listing()
    {
        var location = AzuriteFixture.NewLocation();
        using var reader = Host("reader");
        using var writer = Host("writer");
        writer.Save(location, BlobTest.State(1), step: 1);
        writer.Save(location, BlobTest.State(2), step: 2);
        Assert.All(reader.ListCheckpoints(location), i => Assert.False(i.Pinned));

        writer.SetPinned(location, 1, true);
        Assert.Equal([true, false], reader.ListCheckpoints(location).Select(i => i.Pinned));

        writer.SetPinned(location, 1, false);
        Assert.Equal([false, false], reader.ListCheckpoints(location).Select(i => i.Pinned));
    }

    [Fact]
    public void A_record_whose_metadata_changes_under_the_same_name_is_listed_with_the_new_metadata()
    {
        var location = AzuriteFixture.NewLocation();
        using var reader = Host("reader");
        using (var writer = Host("writer"))
        {
            writer.Save(location, BlobTest.State(1), step: 1);
        }

        Assert.NotEqual(123456789L, reader.ListCheckpoints(location).Single().Size);
        var record = BlobTest.Container(location).GetBlobClient($"run/commits/{1:D20}");
        record.SetMetadata(new Dictionary<string, string>(record.GetProperties().Value.Metadata) { ["size"] = "123456789" });

        Assert.Equal(123456789L, reader.ListCheckpoints(location).Single().Size);
    }

    [Fact]
    public void A_record_made_unreadable_after_a_warm_listing_is_skipped_and_its_data_is_not_swept()
    {
        var location = AzuriteFixture.NewLocation();
        using var reader = Host("reader");
        using var writer = BlobTest.Handler(new BlobSettings { CacheDirectory = _dir.Sub("writer"), SweepGrace = TimeSpan.Zero });
        writer.Save(location, BlobTest.State(1), step: 1);
        writer.Save(location, BlobTest.State(2), step: 2);
        Assert.Equal([1L, 2L], reader.ListCheckpoints(location).Select(i => i.Step));
        writer.ListCheckpoints(location);
        var record = BlobTest.Container(location).GetBlobClient($"run/commits/{2:D20}");
        record.SetMetadata(new Dictionary<string, string>(record.GetProperties().Value.Metadata) { ["size"] = "not a number" });
        var dataOf2 = BlobTest.BlobNames(location).Where(n => n.StartsWith($"run/data/{2:D20}-", StringComparison.Ordinal)).ToList();

        Assert.Equal([1L], reader.ListCheckpoints(location).Select(i => i.Step));
        writer.RepairIndex(location);

        Assert.Equal(2, dataOf2.Count);
        Assert.All(dataOf2, name => Assert.Contains(name, BlobTest.BlobNames(location)));
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("flipped")]
    [InlineData("garbage")]
    public void A_damaged_cache_file_is_ignored_and_the_listing_reads_the_store(string damage)
    {
        var location = AzuriteFixture.NewLocation();
        var log = new RequestLog();
        using var reader = Host("reader", log);
        using (var writer = Host("writer"))
        {
            writer.Save(location, BlobTest.State(1), step: 1);
            writer.Save(location, BlobTest.State(2), step: 2);
        }

        var expected = Describe(reader.ListCheckpoints(location));
        var file = Directory.GetFiles(_dir.Sub("reader"), BlobRecordCache.FileName, SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, damage switch
        {
            "truncated" => bytes[..(bytes.Length / 2)],
            "flipped" => bytes.Select((b, i) => i == bytes.Length / 2 ? (byte)(b ^ 0x20) : b).ToArray(),
            _ => "not a cache file"u8.ToArray(),
        });
        log.Requests.Clear();

        Assert.Equal(expected, Describe(reader.ListCheckpoints(location)));
        Assert.Single(log.Requests, WithMetadata);
    }

    [Fact]
    public void Many_changed_records_are_read_with_one_listing_with_metadata_not_one_head_each()
    {
        var location = AzuriteFixture.NewLocation();
        var log = new RequestLog();
        using var reader = Host("reader", log);
        using var writer = Host("writer");
        writer.Save(location, BlobTest.State(0), step: 0);
        reader.ListCheckpoints(location);
        var container = BlobTest.Container(location);
        var record0 = container.GetBlobs(BlobTraits.Metadata, BlobStates.None, "run/commits/", CancellationToken.None).Single();
        var content = container.GetBlobClient(record0.Name).DownloadContent().Value.Content;
        Parallel.For(1, 60, new ParallelOptions { MaxDegreeOfParallelism = 8 }, step =>
            container.GetBlobClient($"run/commits/{step:D20}").Upload(content, new BlobUploadOptions
            {
                Metadata = new Dictionary<string, string>(record0.Metadata) { ["step"] = step.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            }));
        log.Requests.Clear();

        Assert.Equal(Enumerable.Range(0, 60).Select(i => (long)i), reader.ListCheckpoints(location).Select(i => i.Step));
        Assert.Empty(Heads(log));
        Assert.Single(log.Requests, WithMetadata);
    }

    [Fact]
    public void Repair_and_its_sweep_read_the_store_not_a_cache_file_that_names_another_save()
    {
        // A cache file with a valid checksum (XXH64 is no secret) whose record for step 1 names another save
        // under the record's true ETag: hand-edited, or written by a buggy engine. Repair is what a user runs
        // when the cache is suspect; its sweep deletes every data blob no listed record names.
        var location = AzuriteFixture.NewLocation();
        var state = BlobTest.State(1);
        using var host = BlobTest.Handler(new BlobSettings { CacheDirectory = _dir.Sub("host"), SweepGrace = TimeSpan.Zero });
        host.Save(location, state, step: 1);
        host.ListCheckpoints(location);
        var file = Assert.Single(Directory.GetFiles(_dir.Sub("host"), BlobRecordCache.FileName, SearchOption.AllDirectories));
        var records = BlobRecordCache.Decode(File.ReadAllBytes(file))!;
        records[1] = records[1] with { Row = records[1].Row with { SaveId = Guid.NewGuid().ToString("N") } };
        File.WriteAllBytes(file, BlobRecordCache.Encode(records.Values.ToList()));

        host.RepairIndex(location);

        Assert.Null(StateComparer.FirstDifference(state, host.Restore(location, 1)));
        using var other = BlobTest.Handler();
        Assert.Equal(Describe(other.ListCheckpoints(location)), Describe(host.ListCheckpoints(location)));
    }

    [Fact]
    public void A_prune_reads_pins_from_the_store_not_from_a_cache_file_that_says_unpinned()
    {
        // A prune deletes: it must decide on the store's records, never on a cache file a user or a buggy
        // engine edited (here step 1 is pinned in the store and unpinned in the cache, under its true ETag).
        var location = AzuriteFixture.NewLocation();
        using var host = BlobTest.Handler(new BlobSettings { CacheDirectory = _dir.Sub("host") });
        host.Save(location, BlobTest.State(1), step: 1);
        host.SetPinned(location, 1, pinned: true);
        host.Save(location, BlobTest.State(2), step: 2);
        host.Save(location, BlobTest.State(3), step: 3);
        host.ListCheckpoints(location);
        var file = Assert.Single(Directory.GetFiles(_dir.Sub("host"), BlobRecordCache.FileName, SearchOption.AllDirectories));
        var records = BlobRecordCache.Decode(File.ReadAllBytes(file))!;
        Assert.True(records[1].Row.Pinned);
        records[1] = records[1] with { Row = records[1].Row with { Pinned = false } };
        File.WriteAllBytes(file, BlobRecordCache.Encode(records.Values.ToList()));

        var planned = host.Prune(location, new RetentionPolicy { Keep = 1 }, dryRun: true);
        var removed = host.Prune(location, new RetentionPolicy { Keep = 1 });

        Assert.Equal([2L], planned.Select(c => c.Step));
        Assert.Equal([2L], removed.Select(c => c.Step));
        Assert.Equal([1L, 3L], host.GetCheckpointSteps(location));
    }
}
