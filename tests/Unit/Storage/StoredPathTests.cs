using System.Globalization;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Issue 9 item 1: values read back from a manifest or the index (save ids, staging names) become
/// parts of paths. Planted values that climb out of the checkpoint directory must be refused, and
/// nothing beside the checkpoint directory may change, whichever operation meets them first.
/// </summary>
public sealed class StoredPathTests : IDisposable
{
    private const string ClimbingSaveId = "x/../../../victim";
    private readonly TempDirectory _parent = new();
    private readonly string _ck;
    private readonly string _victim;

    public StoredPathTests()
    {
        _ck = _parent.Sub("ck");
        _victim = _parent.Sub("victim");
        Directory.CreateDirectory(_victim);
        File.WriteAllText(Path.Combine(_victim, "keep.txt"), "the user's own file beside the checkpoint directory");
    }

    public void Dispose() => _parent.Dispose();

    private SortedDictionary<string, string> Outside() => OutsideSnapshot.Take(_parent.Path, _ck);

    private void SaveSteps(params long[] steps)
    {
        using var h = new CheckpointHandler();
        foreach (var s in steps)
        {
            h.Save(_ck, new Dictionary<string, object?> { ["w"] = new float[] { s, s + 1 }, ["n"] = s }, step: s);
        }
    }

    /// <summary>Gives step 1 a manifest whose saveId climbs out, and deletes the index (a copied-in folder).</summary>
    private void PlantClimbingManifestWithoutIndex()
    {
        SaveSteps(1, 2);
        var node = PlantedManifest.ReadNode(_ck, 1);
        node["saveId"] = ClimbingSaveId;
        File.WriteAllBytes(PlantedManifest.ManifestPath(_ck, 1), PlantedManifest.Frame(System.Text.Encoding.UTF8.GetBytes(node.ToJsonString())));
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(Path.Combine(_ck, "index.sqlite" + suffix));
        }
    }

    [Fact]
    public void Prune_over_a_manifest_with_a_climbing_save_id_changes_nothing_outside_the_directory()
    {
        PlantClimbingManifestWithoutIndex();
        var before = Outside();

        using var h = new CheckpointHandler();
        _ = Record.Exception(() => h.Prune(_ck, new RetentionPolicy { Keep = 1 }));

        Assert.Equal(before, Outside());
        Assert.True(File.Exists(Path.Combine(_victim, "keep.txt")));
        Assert.Equal(new long[] { 2 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void Remove_over_a_manifest_with_a_climbing_save_id_changes_nothing_outside_the_directory()
    {
        PlantClimbingManifestWithoutIndex();
        var before = Outside();

        using var h = new CheckpointHandler();
        _ = Record.Exception(() => h.Remove(_ck, 1, force: true));

        Assert.Equal(before, Outside());
        // The planted folder is not a valid step: never listed, never deleted, reported by repair.
        Assert.DoesNotContain(1L, h.GetCheckpointSteps(_ck));
        Assert.True(Directory.Exists(PlantedManifest.Folder(_ck, 1)));
        Assert.Contains(h.RepairIndex(_ck).Problems, p => p.StartsWith("step 1:", StringComparison.Ordinal));
    }

    [Fact]
    public void Repair_and_recovery_over_a_manifest_with_a_climbing_save_id_change_nothing_outside_the_directory()
    {
        PlantClimbingManifestWithoutIndex();
        var before = Outside();

        using (var h = new CheckpointHandler())
        {
            _ = Record.Exception(() => h.RepairIndex(_ck));
            _ = Record.Exception(() => h.Save(_ck, new Dictionary<string, object?> { ["n"] = 3L }, step: 3));
            _ = Record.Exception(() => h.Prune(_ck, new RetentionPolicy { Keep = 1 }));
        }

        Assert.Equal(before, Outside());
    }

    [Fact]
    public void A_save_id_in_the_index_that_climbs_out_is_refused_and_repair_rebuilds_from_the_folders()
    {
        SaveSteps(1, 2, 3);
        using (var index = PlantedManifest.OpenIndex(_ck))
        using (var cmd = index.CreateCommand())
        {
            cmd.CommandText = "UPDATE steps SET save_id = $id WHERE step = 1;";
            cmd.Parameters.AddWithValue("$id", ClimbingSaveId);
            cmd.ExecuteNonQuery();
        }

        var before = Outside();
        using var h = new CheckpointHandler();
        _ = Record.Exception(() => h.Remove(_ck, 1, force: true));
        _ = Record.Exception(() => h.Prune(_ck, new RetentionPolicy { Keep = 1 }));
        Assert.Equal(before, Outside());

        var report = h.RepairIndex(_ck);
        Assert.Equal(before, Outside());
        Assert.Equal(new long[] { 1, 2, 3 }, report.StepsIndexed);
        h.Remove(_ck, 1, force: true);
        Assert.Equal(new long[] { 2, 3 }, h.GetCheckpointSteps(_ck));
        Assert.Equal(before, Outside());
    }

    [Theory]
    [InlineData("save", "../../victim")]
    [InlineData("save", "5-0123456789abcdef0123456789abcdef/../../../victim")]
    [InlineData("save", "/tmp/elsewhere")]
    [InlineData("delete", "../../victim")]
    public void An_intent_whose_staging_name_climbs_out_is_dropped_without_touching_anything_outside(string op, string staging)
    {
        SaveSteps(1, 2);
        using (var index = PlantedManifest.OpenIndex(_ck))
        using (var cmd = index.CreateCommand())
        {
            cmd.CommandText = "INSERT INTO intents(save_id, op, step, staging) VALUES ($id, $op, 2, $st);";
            cmd.Parameters.AddWithValue("$id", Guid.NewGuid().ToString("N"));
            cmd.Parameters.AddWithValue("$op", op);
            cmd.Parameters.AddWithValue("$st", staging);
            cmd.ExecuteNonQuery();
        }

        var before = Outside();
        using var h = new CheckpointHandler();
        h.Save(_ck, new Dictionary<string, object?> { ["n"] = 3L }, step: 3); // a writer runs recovery
        h.RepairIndex(_ck);

        Assert.Equal(before, Outside());
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
        using var index2 = PlantedManifest.OpenIndex(_ck);
        using var count = index2.CreateCommand();
        count.CommandText = "SELECT count(*) FROM intents;";
        Assert.Equal(0L, Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("x/../../../victim")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF")]
    [InlineData("0123456789abcdef0123456789abcde")]
    [InlineData("")]
    public void A_save_intent_whose_save_id_is_malformed_is_dropped_without_touching_anything_outside(string saveId)
    {
        SaveSteps(1, 2);
        using (var index = PlantedManifest.OpenIndex(_ck))
        using (var cmd = index.CreateCommand())
        {
            cmd.CommandText = "INSERT INTO intents(save_id, op, step, staging) VALUES ($id, 'delete', 1, NULL);";
            cmd.Parameters.AddWithValue("$id", saveId);
            cmd.ExecuteNonQuery();
        }

        var before = Outside();
        using var h = new CheckpointHandler();
        h.Save(_ck, new Dictionary<string, object?> { ["n"] = 3L }, step: 3);

        Assert.Equal(before, Outside());
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
    }
}
