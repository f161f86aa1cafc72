using Azure.Storage.Blobs.Models;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>A commit record's metadata is input from whoever can write the container: it never names blobs outside its store.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobStoredInputTests
{
    private static void Tamper(string location, string prefix, long step, Action<IDictionary<string, string>> change)
    {
        var record = BlobTest.Container(location).GetBlobClient($"{prefix}/commits/{step:D20}");
        var metadata = new Dictionary<string, string>(record.GetProperties().Value.Metadata);
        change(metadata);
        record.SetMetadata(metadata);
    }

    [Fact]
    public void A_save_id_with_dot_segments_never_makes_a_remove_delete_another_stores_blobs()
    {
        var container = AzuriteFixture.NewLocation()["az://".Length..].Split('/')[0];
        var victim = $"az://{container}/victim";
        var attacked = $"az://{container}/run";
        using var handler = BlobTest.Handler();
        var state = BlobTest.State(1);
        handler.Save(victim, state, step: 1);
        handler.Save(attacked, BlobTest.State(2), step: 1);
        var victimFolder = BlobTest.BlobNames(victim).Single(n => n.StartsWith("victim/data/", StringComparison.Ordinal) && n.EndsWith("/tensors.lz4", StringComparison.Ordinal))
            .Split('/')[2];

        // From run/data/<step>-x/ three segments up is the container's root.
        Tamper(attacked, "run", 1, m => m["saveid"] = $"x/../../../victim/data/{victimFolder}");
        try
        {
            handler.Remove(attacked, 1, force: true);
        }
        catch (StepNotFoundException)
        {
            // Refusing the record is as good as removing it: what matters is the other store.
        }

        Assert.Contains(BlobTest.BlobNames(victim), n => n == $"victim/data/{victimFolder}/tensors.lz4");
        Assert.True(handler.Verify(victim, 1).Ok);
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(victim, 1)));
    }

    [Fact]
    public void A_commit_record_whose_metadata_names_another_step_is_not_that_step()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        handler.Save(location, BlobTest.State(1), step: 1);
        Tamper(location, "run", 1, m => m["step"] = "7");
        Assert.Throws<StepNotFoundException>(() => handler.GetCheckpoint(location, 7));
        var e = Record.Exception(() => handler.GetCheckpoint(location, 1));
        Assert.True(e is StepNotFoundException, $"step 1 read as {(e is null ? "a step (of the number its metadata names)" : e.GetType().Name)}");
    }

    [Fact]
    public void A_sweep_never_deletes_the_blobs_of_a_step_whose_record_it_cannot_read()
    {
        // A record this engine cannot read (written by a newer one, or damaged) still commits its step: its
        // blobs are not leftovers, and a sweep that took them would lose the step for every reader.
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        var state = BlobTest.State(1);
        handler.Save(location, state, step: 1);
        string created = string.Empty;
        Tamper(location, "run", 1, m =>
        {
            created = m["created"];
            m.Remove("created");
        });
        using (var sweeping = BlobTest.Handler(new BlobSettings { SweepGrace = TimeSpan.Zero }))
        {
            var report = sweeping.RepairIndex(location);
            Assert.Empty(report.LeftoversRemoved);
        }

        Tamper(location, "run", 1, m => m["created"] = created);
        Assert.True(handler.Verify(location, 1).Ok);
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 1)));
    }

    [Theory]
    [InlineData("created", "-5")]
    [InlineData("items", "-1")]
    [InlineData("size", "-7")]
    [InlineData("datalength", "-1")]
    public void A_record_with_an_impossible_value_is_skipped_and_the_other_steps_still_list_prune_and_restore(string key, string value)
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        handler.Save(location, BlobTest.State(1), step: 1);
        var state = BlobTest.State(2);
        handler.Save(location, state, step: 2);
        Tamper(location, "run", 1, m => m[key] = value);
        Assert.Equal(new long[] { 2 }, handler.ListCheckpoints(location).Select(i => i.Step));
        Assert.Throws<StepNotFoundException>(() => handler.GetCheckpoint(location, 1));
        Assert.Empty(handler.Prune(location, new RetentionPolicy { Keep = 1 }));
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location)));
    }

    [Fact]
    public void A_sweep_of_a_store_never_deletes_a_store_nested_under_its_data_folder()
    {
        // az://c and az://c/data are two stores; the outer one's leftovers live under data/ too.
        var container = AzuriteFixture.NewLocation()["az://".Length..].Split('/')[0];
        var outer = $"az://{container}";
        var nested = $"az://{container}/data";
        using var handler = BlobTest.Handler();
        var state = BlobTest.State(3);
        handler.Save(nested, state, step: 1);
        using (var sweeping = BlobTest.Handler(new BlobSettings { SweepGrace = TimeSpan.Zero }))
        {
            sweeping.Save(outer, BlobTest.State(4), step: 1);
            Assert.Empty(sweeping.RepairIndex(outer).LeftoversRemoved);
        }

        Assert.Equal(new long[] { 1 }, handler.GetCheckpointSteps(nested));
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(nested, 1)));
    }

    [Fact]
    public async Task Overwriting_a_step_whose_record_cannot_be_read_fails_at_once_and_leaves_the_record()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        handler.Save(location, BlobTest.State(1), step: 1);
        Tamper(location, "run", 1, m => m.Remove("created"));
        var record = BlobTest.Container(location).GetBlobClient($"run/commits/{1:D20}");
        var before = record.GetProperties().Value.ETag;
        var save = Task.Run(() => handler.Save(location, BlobTest.State(2), step: 1, overwrite: true));
        Assert.True(await Task.WhenAny(save, Task.Delay(TimeSpan.FromSeconds(60))) == save, "an overwrite of an unreadable record never ended");
        var e = await Assert.ThrowsAsync<CorruptCheckpointException>(() => save);
        Assert.Equal(1L, e.Step);
        Assert.Equal(before, record.GetProperties().Value.ETag);
        Assert.Single(BlobTest.BlobNames(location), n => n.EndsWith("/tensors.lz4", StringComparison.Ordinal));
    }
}
