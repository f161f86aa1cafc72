using DataraxCkpt.Storage;
using PlantedStep = DataraxCkpt.Tests.Format.StepFiles;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A removal records a delete intent per step, keyed by the step's save id, and clears them when done.
/// In a damaged or crafted index a removed row's save id can also be the id of another operation's
/// intent (a pending save, whose staging folder recovery must still find, or another step's removal):
/// the removal must never replace or clear that intent.
/// </summary>
public sealed class RemovalIntentTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public RemovalIntentTests()
    {
        _ck = Path.GetFullPath(_dir.Sub("ck"));
        using var h = new CheckpointHandler();
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
    }

    public void Dispose() => _dir.Dispose();

    private static Intent PendingSave(string saveId, long step) => new(saveId, "save", step, StoredNames.StagingName(step, saveId));

    [Fact]
    public void Removing_a_step_whose_save_id_is_a_pending_saves_intent_keeps_that_intent_and_removes_nothing()
    {
        using var index = StepIndex.Open(_ck, create: false, upgrade: true);
        var row = index.Get(1)!;
        var save = PendingSave(row.SaveId, 9);
        index.AddIntent(save);

        var e = Assert.Throws<CorruptCheckpointException>(() => index.UnpublishSteps([RemovedRow.Of(row)]));

        Assert.Contains($"step 1 has save id {row.SaveId}, which is also the id of an unfinished save of step 9", e.Message, StringComparison.Ordinal);
        Assert.Equal([save], index.Intents());
        Assert.Equal(new long[] { 1, 2 }, index.Steps());
    }

    [Fact]
    public void Removing_steps_that_share_a_save_id_is_refused_before_anything_changes()
    {
        using var index = StepIndex.Open(_ck, create: false, upgrade: true);
        var one = index.Get(1)!;
        using (var db = Reliability.PlantedManifest.OpenIndex(_ck))
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "UPDATE steps SET save_id = $id WHERE step = 2;";
            cmd.Parameters.AddWithValue("$id", one.SaveId);
            cmd.ExecuteNonQuery();
        }

        var rows = index.Rows(new long[] { 1, 2 });
        var e = Assert.Throws<CorruptCheckpointException>(() => index.UnpublishSteps(rows));

        Assert.Contains($"steps 1 and 2 share the save id {one.SaveId}", e.Message, StringComparison.Ordinal);
        Assert.Empty(index.Intents());
        Assert.Equal(new long[] { 1, 2 }, index.Steps());
    }

    [Fact]
    public void Removing_a_step_whose_save_id_names_another_steps_unfinished_removal_keeps_that_removal()
    {
        using var index = StepIndex.Open(_ck, create: false, upgrade: true);
        var row = index.Get(1)!;
        var other = new Intent(row.SaveId, "delete", 7, null);
        index.AddIntent(other);

        _ = Assert.Throws<CorruptCheckpointException>(() => index.UnpublishSteps([RemovedRow.Of(row)]));

        Assert.Equal([other], index.Intents());
        Assert.Equal(new long[] { 1, 2 }, index.Steps());
    }

    [Fact]
    public void Removing_a_step_listed_again_with_its_own_unfinished_removal_takes_that_intent_over()
    {
        // An older engine's repair could list a step again while its delete intent was still recorded.
        using var index = StepIndex.Open(_ck, create: false, upgrade: true);
        var row = index.Get(1)!;
        index.AddIntent(new Intent(row.SaveId, "delete", 1, null));

        index.UnpublishSteps([RemovedRow.Of(row)]);
        Assert.Equal([new Intent(row.SaveId, "delete", 1, null)], index.Intents());
        index.ClearRemovalIntents([RemovedRow.Of(row)]);

        Assert.Empty(index.Intents());
        Assert.Equal(new long[] { 2 }, index.Steps());
    }

    [Fact]
    public void Clearing_a_removals_intents_never_clears_a_save_intent_with_the_same_id()
    {
        using var index = StepIndex.Open(_ck, create: false, upgrade: true);
        var one = index.Get(1)!;
        var two = index.Get(2)!;
        index.UnpublishSteps([RemovedRow.Of(two)]);
        var save = PendingSave(one.SaveId, 9);
        index.AddIntent(save);

        // Step 1's row carries the save's id; clearing must take only delete intents of the removed steps.
        index.ClearRemovalIntents([RemovedRow.Of(one), RemovedRow.Of(two)]);

        Assert.Equal([save], index.Intents());
    }

    [Fact]
    public void A_step_folder_carrying_another_steps_save_id_is_left_unlisted_by_repair_so_pruning_works_again()
    {
        // A folder copied and renumbered (or planted): two folders, one save id. Listed together, every
        // removal of both is refused as a collision; repair, which that error points to, must resolve it.
        using var h = new CheckpointHandler();
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 3 }, step: 3);
        var id1 = PlantedStep.ReadManifest(_ck, 1)["saveId"]!.GetValue<string>();
        PlantedStep.Plant(_ck, 2, m => m["saveId"] = id1, keepIndex: false);

        var report = h.RepairIndex(_ck);

        Assert.Equal(new long[] { 1, 3 }, report.StepsIndexed);
        Assert.Contains(report.Problems, p => p.StartsWith($"step 2: its save id {id1} is also step 1's", StringComparison.Ordinal));
        Assert.True(Directory.Exists(Path.Combine(_ck, "2")));
        var removed = h.Prune(_ck, new RetentionPolicy { Keep = 1 });
        Assert.Equal(new long[] { 1 }, removed.Select(r => r.Step));
        Assert.Equal(new long[] { 3 }, h.GetCheckpointSteps(_ck));
        Assert.Equal(new Dictionary<string, object?> { ["v"] = 3 }, h.Restore(_ck, 3));
    }

    [Fact]
    public void A_dry_run_prune_without_an_index_plans_what_the_rebuilt_index_removes_when_two_folders_share_a_save_id()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 3 }, step: 3);
        var id1 = PlantedStep.ReadManifest(_ck, 1)["saveId"]!.GetValue<string>();
        PlantedStep.Plant(_ck, 2, m => m["saveId"] = id1, keepIndex: false);

        var planned = h.Prune(_ck, new RetentionPolicy { Keep = 1 }, dryRun: true);
        var removed = h.Prune(_ck, new RetentionPolicy { Keep = 1 });

        Assert.Equal(new long[] { 1 }, planned.Select(r => r.Step));
        Assert.Equal(new long[] { 1 }, removed.Select(r => r.Step));
    }
}
