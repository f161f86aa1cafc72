using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>Every handler operation on an az:// location, against Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobHandlerTests
{
    private readonly AzuriteFixture _azurite;

    public BlobHandlerTests(AzuriteFixture azurite) => _azurite = azurite;

    [Fact]
    public void Guide_flow_saves_restores_lists_and_keeps_five_on_an_az_location()
    {
        var location = AzuriteFixture.NewLocation("checkpoints");
        using (var handler = BlobTest.Handler())
        {
            for (var step = 1; step <= 7; step++)
            {
                var state = new Dictionary<string, object?> { ["model_weights"] = Enumerable.Repeat(1f, 100).ToArray(), ["position"] = 42 + step, ["epoch"] = 5 };
                handler.Save(location, state, step: step * 10, keep: 5, metadata: new Dictionary<string, object?> { ["description"] = "Training checkpoint" });
            }
        }

        using (var handler = BlobTest.Handler())
        {
            var latest = (IDictionary<string, object?>)handler.Restore(location)!;
            Assert.Equal(42 + 7, Convert.ToInt32(latest["position"], System.Globalization.CultureInfo.InvariantCulture));
            var at50 = (IDictionary<string, object?>)handler.Restore(location, step: 50)!;
            Assert.Equal(47, Convert.ToInt32(at50["position"], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(new long[] { 30, 40, 50, 60, 70 }, handler.GetCheckpointSteps(location));
            Assert.Equal(70, handler.LatestStep(location));
            Assert.Equal("Training checkpoint", handler.GetCheckpoint(location, 70).Metadata["description"]);
        }
    }

    [Fact]
    public void Restore_returns_the_saved_state_bit_exact()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        var state = BlobTest.State(3, floats: 3_000_000);
        handler.Save(location, state, step: 1);
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 1)));
    }

    [Fact]
    public void Partial_restore_reads_only_matching_items()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        handler.Save(location, BlobTest.State(1), step: 1);
        var part = (System.Collections.IDictionary)handler.Restore(location, 1, ["b"])!;
        Assert.Equal(["b"], part.Keys.Cast<string>());
        Assert.Equal(BlobTest.State(1)["b"], part["b"]);
    }

    [Fact]
    public void List_get_items_and_metadata_describe_each_step()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        var big = new string('m', 10_000);
        handler.Save(location, BlobTest.State(1), step: 5, metadata: new Dictionary<string, object?> { ["lr"] = 0.5 });
        handler.Save(location, BlobTest.State(2), step: 6, metadata: new Dictionary<string, object?> { ["note"] = big });
        var list = handler.ListCheckpoints(location);
        Assert.Equal(new long[] { 5, 6 }, list.Select(i => i.Step));
        Assert.All(list, i => Assert.Equal(4, i.ItemCount));
        Assert.All(list, i => Assert.True(i.StoredSize > 0));
        Assert.Equal(0.5, handler.RestoreMetadata(location, 5)!["lr"]);
        // Metadata too large for blob metadata is read from the commit record's content.
        Assert.Equal(big, list[1].Metadata["note"]);
        Assert.Equal(big, handler.RestoreMetadata(location)!["note"]);
        var items = handler.GetItems(location, 5);
        Assert.Equal(["b", "name", "position", "w"], items.Select(i => i.Name).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal([1000L], items.Single(i => i.Name == "w").Shape!);
        Assert.Equal(location, list[0].Directory);
    }

    [Fact]
    public void Saving_an_existing_step_is_refused_and_overwrite_replaces_it_keeping_the_pin()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        handler.Save(location, BlobTest.State(1), step: 1);
        handler.SetPinned(location, 1, true);
        Assert.Throws<StepExistsException>(() => handler.Save(location, BlobTest.State(2), step: 1));
        handler.Save(location, BlobTest.State(2), step: 1, overwrite: true);
        Assert.Null(StateComparer.FirstDifference(BlobTest.State(2), handler.Restore(location, 1)));
        Assert.True(handler.GetCheckpoint(location, 1).Pinned);
        // The replaced version's blobs are gone: one data and one manifest blob for the step.
        Assert.Equal(2, BlobTest.BlobNames(location).Count(n => n.Contains("/data/", StringComparison.Ordinal)));
    }

    [Fact]
    public void Prune_remove_and_pin_follow_the_local_rules()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        for (var s = 1; s <= 6; s++)
        {
            handler.Save(location, BlobTest.State(s), step: s);
        }

        handler.SetPinned(location, 2, true);
        var dry = handler.Prune(location, new RetentionPolicy { Keep = 2 }, dryRun: true);
        Assert.Equal(new long[] { 1, 3, 4 }, dry.Select(i => i.Step));
        Assert.Equal(6, handler.GetCheckpointSteps(location).Count);
        var removed = handler.Prune(location, new RetentionPolicy { Keep = 2 });
        Assert.Equal(new long[] { 1, 3, 4 }, removed.Select(i => i.Step));
        Assert.Equal(new long[] { 2, 5, 6 }, handler.GetCheckpointSteps(location));
        Assert.Throws<StepPinnedException>(() => handler.Remove(location, 2));
        Assert.Equal(2, handler.Remove(location, 2, force: true).Step);
        handler.SetPinned(location, 5, true);
        handler.SetPinned(location, 5, false);
        Assert.False(handler.GetCheckpoint(location, 5).Pinned);
        Assert.Equal(5, handler.Remove(location, 5).Step);
        Assert.Equal(new long[] { 6 }, handler.GetCheckpointSteps(location));
        // Only step 6's two blobs and its record remain.
        Assert.Equal(3, BlobTest.BlobNames(location).Count);
        Assert.Throws<StepNotFoundException>(() => handler.GetCheckpoint(location, 5));
    }

    [Fact]
    public void Verify_compare_and_repair_work_remotely()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        handler.Save(location, BlobTest.State(1), step: 1);
        var changed = BlobTest.State(1);
        changed["b"] = Enumerable.Range(0, 16).Select(i => (double)i * 7).ToArray();
        changed.Remove("name");
        handler.Save(location, changed, step: 2);
        var verified = handler.Verify(location, 2);
        Assert.True(verified.Ok);
        Assert.Equal(3, verified.ItemsChecked);
        var diff = handler.Compare(location, 1, 2);
        Assert.Contains(diff, d => d.Name == "b" && d.Change == "Changed");
        Assert.Contains(diff, d => d.Name == "name" && d.Change == "Removed");
        var report = handler.RepairIndex(location);
        Assert.Equal(new long[] { 1, 2 }, report.StepsIndexed);
        Assert.Empty(report.LeftoversRemoved);
    }

    [Fact]
    public void Reading_a_missing_container_or_prefix_is_a_missing_directory()
    {
        using var handler = BlobTest.Handler();
        var missing = AzuriteFixture.NewLocation();
        Assert.Throws<CheckpointDirectoryNotFoundException>(() => handler.Restore(missing));
        Assert.Throws<CheckpointDirectoryNotFoundException>(() => handler.GetCheckpoint(missing, 1));
        Assert.Empty(handler.GetCheckpointSteps(missing));
        Assert.Null(handler.LatestStep(missing));
        Assert.Empty(handler.ListCheckpoints(missing));
        var location = AzuriteFixture.NewLocation("a");
        handler.Save(location, BlobTest.State(1), step: 1);
        var sibling = location[..^1] + "b";
        Assert.Throws<CheckpointDirectoryNotFoundException>(() => handler.Restore(sibling));
        Assert.Throws<CheckpointDirectoryNotFoundException>(() => handler.Prune(sibling, new RetentionPolicy { Keep = 1 }));
        Assert.False(handler.IsCheckpointDirectory(sibling));
        Assert.True(handler.IsCheckpointDirectory(location));
    }

    [Fact]
    public void An_http_url_with_the_connection_string_names_the_same_store_as_az()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        handler.Save(location, BlobTest.State(1), step: 1);
        var url = $"{_azurite.BlobEndpoint}/{location["az://".Length..]}";
        Assert.Equal(new long[] { 1 }, handler.GetCheckpointSteps(url));
        Assert.Null(StateComparer.FirstDifference(BlobTest.State(1), handler.Restore(url, 1)));
    }

    [Fact]
    public void A_malformed_location_is_refused_with_what_to_write()
    {
        using var handler = BlobTest.Handler();
        var e = Assert.Throws<ArgumentException>(() => handler.GetCheckpointSteps("az://No_Such/run"));
        Assert.Contains("az://No_Such/run", e.Message, StringComparison.Ordinal);
        Assert.Contains("container", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_location_without_credentials_says_what_to_set_and_never_shows_a_secret()
    {
        var saved = Environment.GetEnvironmentVariable(BlobLocation.ConnectionStringVariable);
        // Parsing reads the environment; the fixture's value is put back at once.
        Environment.SetEnvironmentVariable(BlobLocation.ConnectionStringVariable, null);
        try
        {
            var e = Assert.Throws<ArgumentException>(() => BlobLocation.Parse("http://127.0.0.1:1/devstoreaccount1/c-1/run"));
            Assert.Contains(BlobLocation.ConnectionStringVariable, e.Message, StringComparison.Ordinal);
            if (Environment.GetEnvironmentVariable(BlobLocation.AccountVariable) is null)
            {
                var az = Assert.Throws<ArgumentException>(() => BlobLocation.Parse("az://c-1/run"));
                Assert.Contains(BlobLocation.AccountVariable, az.Message, StringComparison.Ordinal);
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable(BlobLocation.ConnectionStringVariable, saved);
        }

        var sas = Assert.Throws<ArgumentException>(() => BlobLocation.Parse("https://acct.blob.core.windows.net/Bad_Container/x?sv=2024&sig=SECRETSIG"));
        Assert.DoesNotContain("SECRETSIG", sas.Message, StringComparison.Ordinal);
        var parsed = BlobLocation.Parse("https://acct.blob.core.windows.net/ckpts/run/1?sv=2024&sig=SECRETSIG");
        Assert.Equal("https://acct.blob.core.windows.net/ckpts/run/1", parsed.Display);
        Assert.Equal("run/1/", parsed.Prefix);
    }

    [Fact]
    public void Copy_local_to_remote_to_local_is_bit_exact_with_records_and_pins()
    {
        using var temp = new TempDirectory();
        var local = temp.Sub("a");
        var back = temp.Sub("b");
        var remote = AzuriteFixture.NewLocation();
        var remote2 = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        handler.Save(local, BlobTest.State(1, floats: 2_000_000), step: 1, metadata: new Dictionary<string, object?> { ["k"] = "v" });
        handler.Save(local, BlobTest.State(2), step: 2);
        handler.SetPinned(local, 1, true);
        handler.Copy(local, remote);
        handler.Copy(remote, remote2);
        handler.Copy(remote2, back);
        foreach (var step in new long[] { 1, 2 })
        {
            Assert.Null(StateComparer.FirstDifference(handler.Restore(local, step), handler.Restore(back, step)));
            var a = handler.GetCheckpoint(local, step);
            var b = handler.GetCheckpoint(back, step);
            Assert.Equal(a.CreatedUtc, b.CreatedUtc);
            Assert.Equal(a.Pinned, b.Pinned);
            Assert.Equal(a.Metadata.Count, b.Metadata.Count);
        }

        // The data files are the same bytes: the copy writes what a save of the same state writes.
        Assert.True(handler.Verify(remote, 1).Ok);
        Assert.Throws<StepExistsException>(() => handler.Copy(local, remote, [1]));
        Assert.Throws<ArgumentException>(() => handler.Copy(remote, remote));
    }
}
