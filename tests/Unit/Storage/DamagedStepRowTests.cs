using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A step row whose value has the wrong type (NULL in a NOT NULL column, text or a real where an integer
/// is kept) is index damage. The listing, the retention facts and the prune's row reads go around the
/// ADO.NET reader, straight to SQLite's column functions, which convert any value silently (NULL and
/// 'yesterday' read as 0, 1.5 as 1): such a row was listed with a commit time in year 1, pruned as ancient
/// by KeepNewerThan, and a single-record read failed with a bare InvalidOperationException naming no index.
/// Every reader must report it as the index's damage instead (found by the attack on indexlist).
/// </summary>
public sealed class DamagedStepRowTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public DamagedStepRowTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private void Damage(int steps, string set, long step)
    {
        using (var h = new CheckpointHandler())
        {
            for (var s = 1; s <= Math.Min(steps, 3); s++)
            {
                h.Save(_ck, new Dictionary<string, object?> { ["v"] = s }, step: s);
            }
        }

        if (steps > 3)
        {
            // Further rows copied from step 3's (their folders are not needed: the prune is a dry run).
            using var setup = PlantedManifest.OpenIndex(_ck);
            using var insert = setup.CreateCommand();
            insert.CommandText = $"""
                WITH RECURSIVE n(i) AS (SELECT 4 UNION ALL SELECT i + 1 FROM n WHERE i < {steps})
                INSERT INTO steps(step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned)
                SELECT i, printf('%032x', i), created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned FROM n, steps WHERE step = 3;
                """;
            insert.ExecuteNonQuery();
        }

        // The schema keeps its NOT NULL: only the stored record is damaged, as a bad page would be.
        using var c = PlantedManifest.OpenIndex(_ck);
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"""
            PRAGMA writable_schema = ON;
            UPDATE sqlite_schema SET sql = replace(sql, 'NOT NULL', 'NULL') WHERE name = 'steps';
            """;
        cmd.ExecuteNonQuery();
        using var c2 = PlantedManifest.OpenIndex(_ck);
        using var cmd2 = c2.CreateCommand();
        cmd2.CommandText = $"""
            UPDATE steps SET {set} WHERE step = {step};
            PRAGMA writable_schema = ON;
            UPDATE sqlite_schema SET sql = replace(sql, ' NULL', ' NOT NULL') WHERE name = 'steps';
            """;
        cmd2.ExecuteNonQuery();
    }

    public static TheoryData<string> ListedColumns => new()
    {
        "created_utc = NULL", "created_utc = 'yesterday'", "created_utc = 1.5", "size = NULL", "stored_size = 'x'",
        "item_count = NULL", "item_count = 2.5", "pinned = NULL", "metadata = NULL",
    };

    [Theory]
    [MemberData(nameof(ListedColumns))]
    public void A_listing_and_a_single_record_read_report_a_mistyped_value_as_index_damage(string set)
    {
        Damage(3, set, 2);
        using var h = new CheckpointHandler();

        Assert.Equal("index.sqlite", Assert.Throws<CorruptCheckpointException>(() => h.ListCheckpoints(_ck)).Item);
        Assert.Equal("index.sqlite", Assert.Throws<CorruptCheckpointException>(() => h.GetCheckpoint(_ck, 2)).Item);
        Assert.Equal("index.sqlite", Assert.Throws<CorruptCheckpointException>(() => h.ListLastCheckpoints(_ck, 2)).Item);
    }

    [Theory]
    [InlineData("created_utc = 'yesterday'")]
    [InlineData("created_utc = NULL")]
    [InlineData("pinned = NULL")]
    public void Retention_never_removes_a_step_for_a_commit_time_or_pin_it_cannot_read(string set)
    {
        Damage(3, set, 2);
        using var h = new CheckpointHandler();

        var folders = Directory.GetDirectories(_ck).Order().ToList();
        Assert.Throws<CorruptCheckpointException>(() => h.Prune(_ck, new RetentionPolicy { KeepNewerThan = TimeSpan.FromDays(1) }));
        Assert.Equal(folders, Directory.GetDirectories(_ck).Order());

        // Repair rebuilds the row from the step folder.
        _ = h.RepairIndex(_ck);
        Assert.Equal([1L, 2L, 3L], h.ListCheckpoints(_ck).Select(i => i.Step));
        Assert.True(h.GetCheckpoint(_ck, 2).CreatedUtc > DateTimeOffset.UtcNow.AddDays(-1));
    }

    [Theory]
    [InlineData("size = NULL")]
    [InlineData("save_id = NULL")]
    [InlineData("manifest_hash = NULL")]
    public void A_prune_of_many_steps_reports_a_mistyped_value_of_a_removed_step_as_index_damage(string set)
    {
        // Over 256 steps to remove: the rows are read in one pass, around the ADO.NET reader.
        Damage(300, set, 2);
        using var h = new CheckpointHandler();

        Assert.Equal("index.sqlite", Assert.Throws<CorruptCheckpointException>(() => h.Prune(_ck, new RetentionPolicy { Keep = 1 }, dryRun: true)).Item);
    }
}
