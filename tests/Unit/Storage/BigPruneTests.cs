using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Prune and listing of a big index (issue 17, "Big indexes"): past 256 steps a prune reads the removed rows
/// in one pass, records their delete intents from the rows themselves, lists the directory once instead of
/// checking each folder, and empties the intents table in one statement when only its own intents are
/// there. Whatever path it takes, it must remove exactly the planned steps and leave nothing behind.
/// </summary>
public sealed class BigPruneTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public BigPruneTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, object?> State(int v) => new() { ["v"] = v, ["w"] = new float[] { v, v + 1 } };

    /// <summary>Copies step <paramref name="from"/>'s rows under step numbers <paramref name="first"/> … first+count-1 (rows without folders, as the bench's big store).</summary>
    private void CopyRows(long from, long first, int count, bool pinned = false)
    {
        using var index = PlantedManifest.OpenIndex(_ck);
        using var cmd = index.CreateCommand();
        cmd.CommandText = """
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $count)
            INSERT INTO steps(step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned)
            SELECT $first + n.i, printf('%032x', $first + n.i), s.created_utc - n.i, s.size, s.stored_size, s.item_count, s.metadata, s.manifest_hash, $pinned
            FROM n, steps AS s WHERE s.step = $from;
            INSERT INTO step_items(step, items)
            SELECT $first + n.i, it.items
            FROM (WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $count) SELECT i FROM n) AS n, step_items AS it WHERE it.step = $from;
            """;
        cmd.Parameters.AddWithValue("$count", count);
        cmd.Parameters.AddWithValue("$first", first);
        cmd.Parameters.AddWithValue("$from", from);
        cmd.Parameters.AddWithValue("$pinned", pinned ? 1 : 0);
        cmd.ExecuteNonQuery();
    }

    private long Count(string sql)
    {
        using var index = PlantedManifest.OpenIndex(_ck);
        using var cmd = index.CreateCommand();
        cmd.CommandText = sql;
        return (long)cmd.ExecuteScalar()!;
    }

    [Fact]
    public void A_prune_of_hundreds_of_steps_removes_exactly_the_planned_steps_and_keeps_pinned_and_newest()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: 1, metadata: new Dictionary<string, object?> { ["run"] = "a" });
        h.Save(_ck, State(2), step: 2);
        h.Save(_ck, State(3), step: 3000);
        h.Save(_ck, State(4), step: 3001);
        h.SetPinned(_ck, 2, pinned: true);
        CopyRows(from: 1, first: 100, count: 600);
        CopyRows(from: 1, first: 1000, count: 5, pinned: true);
        var before = h.ListCheckpoints(_ck).ToDictionary(i => i.Step);
        var plan = h.Prune(_ck, new RetentionPolicy { Keep = 3 }, dryRun: true).Select(i => i.Step).ToList();

        var removed = h.Prune(_ck, new RetentionPolicy { Keep = 3 });

        // Kept: the three highest (1004 is pinned and among them), every pinned step, nothing else.
        var kept = new long[] { 2, 1000, 1001, 1002, 1003, 1004, 3000, 3001 };
        Assert.Equal(kept, h.GetCheckpointSteps(_ck));
        Assert.Equal(plan, removed.Select(i => i.Step));
        Assert.Equal(before.Keys.Except(kept).Order(), removed.Select(i => i.Step));
        Assert.Equal(601, removed.Count);
        foreach (var info in removed)
        {
            var was = before[info.Step];
            Assert.Equal((was.CreatedUtc, was.Size, was.StoredSize, was.ItemCount, was.Pinned, was.Path), (info.CreatedUtc, info.Size, info.StoredSize, info.ItemCount, info.Pinned, info.Path));
            Assert.Equal("a", info.Metadata["run"]);
        }

        Assert.False(Directory.Exists(Path.Combine(_ck, "1")));
        Assert.True(Directory.Exists(Path.Combine(_ck, "2")));
        Assert.Equal(0, Count("SELECT count(*) FROM intents;"));
        Assert.Equal(0, Count("SELECT count(*) FROM step_items WHERE step NOT IN (SELECT step FROM steps);"));
        Assert.Equal(8, Count("SELECT count(*) FROM step_items;"));
        Assert.True(h.Verify(_ck, 3001).Ok);
    }

    [Fact]
    public void A_prune_of_ten_thousand_steps_returns_the_exact_records_leaves_the_kept_listing_bit_exact_and_restores_the_page_cache()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: 1, metadata: new Dictionary<string, object?> { ["run"] = "a" });
        h.Save(_ck, State(2), step: 50_000);
        h.Save(_ck, State(3), step: 50_001);
        CopyRows(from: 1, first: 100, count: StepIndex.LargeRemoval + 50);
        CopyRows(from: 1, first: 40_000, count: 3, pinned: true);
        var before = h.ListCheckpoints(_ck).ToDictionary(i => i.Step);
        var keptBefore = before.Values.Where(i => i.Step is >= 40_000).Select(Describe).ToList();

        var removed = h.Prune(_ck, new RetentionPolicy { Keep = 2 });

        Assert.Equal(StepIndex.LargeRemoval + 51, removed.Count);
        Assert.Equal(before.Keys.Where(s => s < 40_000).Order(), removed.Select(i => i.Step));
        foreach (var info in removed)
        {
            Assert.Equal(Describe(before[info.Step]), Describe(info));
        }

        Assert.Equal(keptBefore, h.ListCheckpoints(_ck).Select(Describe));
        Assert.Equal(0, Count("SELECT count(*) FROM intents;"));
        Assert.Equal(5, Count("SELECT count(*) FROM step_items;"));
        using var index = StepIndex.Open(Path.GetFullPath(_ck), create: false, upgrade: true);
        var rows = index.Rows(Enumerable.Range(40_000, 3).Select(i => (long)i).ToList());
        Assert.Equal(3, rows.Count);

        static string Describe(CheckpointInfo i) => string.Join('|', i.Step, i.CreatedUtc.UtcTicks, i.CreatedUtc.Offset, i.Size, i.StoredSize, i.ItemCount,
            i.Pinned, i.Path, System.Text.Json.JsonSerializer.Serialize(i.Metadata));
    }

    [Fact]
    public void A_large_removal_puts_the_connections_page_cache_back_after_its_transaction()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
            h.Save(_ck, State(2), step: 2);
        }

        CopyRows(from: 1, first: 100, count: StepIndex.LargeRemoval);
        using var index = StepIndex.Open(Path.GetFullPath(_ck), create: false, upgrade: true);
        var rows = index.Rows(Enumerable.Range(100, StepIndex.LargeRemoval).Select(i => (long)i).ToList());
        var before = index.CacheSizes();

        index.UnpublishSteps(rows);
        index.ClearRemovalIntents(rows);

        Assert.Equal(new long[] { 1, 2 }, index.Steps());
        // The temporary schema reads 0 (never set) before; what it used then, the default, is set back.
        Assert.Equal((before.Main, before.Temp == 0 ? -2000L : before.Temp), index.CacheSizes());
        Assert.Equal(-2000L, before.Main);
    }

    /// <summary>
    /// Two saved steps and <see cref="StepIndex.LargeRemoval"/> copied rows from step 100 on, the index open, the copied
    /// rows read for a large removal, and the index's own connection (for a trigger or an authorizer on it).
    /// </summary>
    private StepIndex OpenWithLargeRemoval(out List<RemovedRow> rows, out Microsoft.Data.Sqlite.SqliteConnection connection)
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
            h.Save(_ck, State(2), step: 2);
        }

        CopyRows(from: 1, first: 100, count: StepIndex.LargeRemoval);
        var index = StepIndex.Open(Path.GetFullPath(_ck), create: false, upgrade: true);
        rows = index.Rows(Enumerable.Range(100, StepIndex.LargeRemoval).Select(i => (long)i).ToList());
        connection = (Microsoft.Data.Sqlite.SqliteConnection)typeof(StepIndex)
            .GetField("_connection", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(index)!;
        return index;
    }

    /// <summary>Refuses only the putting back of the page cache (any cache_size set but the large removal's own).</summary>
    private static void RefuseCacheBack(Microsoft.Data.Sqlite.SqliteConnection connection)
    {
        SQLitePCL.strdelegate_authorizer refuseCacheBack = (_, action, name, value, _, _) =>
            action == SQLitePCL.raw.SQLITE_PRAGMA && name == "cache_size" && value is not null && value != "-65536" ? SQLitePCL.raw.SQLITE_DENY : SQLitePCL.raw.SQLITE_OK;
        SQLitePCL.raw.sqlite3_set_authorizer(connection.Handle, refuseCacheBack, null);
    }

    private static void AllowAll(Microsoft.Data.Sqlite.SqliteConnection connection)
    {
        SQLitePCL.strdelegate_authorizer allowAll = (_, _, _, _, _, _) => SQLitePCL.raw.SQLITE_OK;
        SQLitePCL.raw.sqlite3_set_authorizer(connection.Handle, allowAll, null);
    }

    [Fact]
    public void A_large_removal_that_fails_reports_its_own_error_and_puts_the_page_cache_back_or_leaves_it_when_it_cannot()
    {
        // The cache was put back in a finally: when that failed as well (the same broken connection, a full disk),
        // its error replaced the removal's, which is the one that says what happened to the steps.
        using var index = OpenWithLargeRemoval(out var rows, out var connection);
        var listed = index.Steps().Count;
        using (var trigger = connection.CreateCommand())
        {
            // The removal's transaction fails at its last statement (after its intents went in), as a failing disk would.
            trigger.CommandText = "CREATE TEMP TRIGGER fail_unpublish BEFORE DELETE ON main.steps BEGIN SELECT RAISE(ABORT, 'injected removal failure (test)'); END;";
            trigger.ExecuteNonQuery();
        }

        // Only the putting back of the cache is refused (any cache_size set but the large removal's own).
        RefuseCacheBack(connection);
        var failed = Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => index.UnpublishSteps(rows));
        Assert.Contains("injected removal failure (test)", failed.Message, StringComparison.Ordinal);
        Assert.Equal(listed, index.Steps().Count);
        Assert.Equal((-65536L, -65536L), index.CacheSizes());

        // With the cache allowed back (and set back by hand), a failed removal puts it back as a successful one does.
        AllowAll(connection);
        using (var reset = connection.CreateCommand())
        {
            reset.CommandText = "PRAGMA main.cache_size = -2000; PRAGMA temp.cache_size = -2000;";
            reset.ExecuteNonQuery();
        }

        failed = Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => index.UnpublishSteps(rows));
        Assert.Contains("injected removal failure (test)", failed.Message, StringComparison.Ordinal);
        Assert.Equal((-2000L, -2000L), index.CacheSizes());
        Assert.Equal(listed, index.Steps().Count);

        using (var drop = connection.CreateCommand())
        {
            drop.CommandText = "DROP TRIGGER temp.fail_unpublish;";
            drop.ExecuteNonQuery();
        }

        index.UnpublishSteps(rows);
        index.ClearRemovalIntents(rows);
        Assert.Equal(new long[] { 1, 2 }, index.Steps());
    }

    [Fact]
    public void A_large_removal_that_committed_is_not_reported_as_failed_when_the_page_cache_cannot_be_put_back()
    {
        // Putting the cache back threw after the removal had committed: the caller was told the removal failed (found by the final review).
        using var index = OpenWithLargeRemoval(out var rows, out var connection);
        RefuseCacheBack(connection);

        index.UnpublishSteps(rows);

        AllowAll(connection);
        index.ClearRemovalIntents(rows);
        Assert.Equal(new long[] { 1, 2 }, index.Steps());
    }

    [Fact]
    public void After_a_large_removal_temporary_tables_on_the_same_connection_get_the_page_cache_a_fresh_connection_has()
    {
        // SQLite reports temp.cache_size as 0 until something sets it (the temporary database then uses its
        // default, 2000 KiB). Putting back the 0 read before the removal left the temporary schema with no cache
        // at all: every later temporary table of that connection spilled each page to a file.
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
            h.Save(_ck, State(2), step: 2);
        }

        CopyRows(from: 1, first: 100, count: StepIndex.LargeRemoval);
        using var fresh = StepIndex.Open(Path.GetFullPath(_ck), create: false, upgrade: true);
        using var index = StepIndex.Open(Path.GetFullPath(_ck), create: false, upgrade: true);
        index.UnpublishSteps(index.Rows(Enumerable.Range(100, StepIndex.LargeRemoval).Select(i => (long)i).ToList()));

        var freshUse = TemporaryTableCacheUse(fresh);
        Assert.True(freshUse > 1_000_000, $"a fresh connection cached {freshUse} bytes of a temporary table");
        Assert.InRange(TemporaryTableCacheUse(index), freshUse / 2, freshUse * 2);
        Assert.Equal(new long[] { 1, 2 }, index.Steps());
    }

    /// <summary>The bytes of page cache a connection holds for a 20,000-row temporary table built in one transaction.</summary>
    private static long TemporaryTableCacheUse(StepIndex index)
    {
        var connection = (Microsoft.Data.Sqlite.SqliteConnection)typeof(StepIndex)
            .GetField("_connection", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(index)!;
        using var tx = connection.BeginTransaction();
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT count(*) FROM steps;";
        cmd.ExecuteScalar();
        _ = SQLitePCL.raw.sqlite3_db_status(connection.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_USED, out var before, out _, 0);
        cmd.CommandText = """
            CREATE TEMP TABLE probe(x TEXT);
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 20000) INSERT INTO temp.probe SELECT printf('%064d', i) FROM n;
            """;
        cmd.ExecuteNonQuery();
        _ = SQLitePCL.raw.sqlite3_db_status(connection.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_USED, out var during, out _, 0);
        tx.Rollback();
        return during - before;
    }

    [Fact]
    public void A_prune_of_ten_thousand_steps_with_random_save_ids_trashes_exactly_the_removed_folders_including_overwritten_steps()
    {
        // Real folders (random save ids, two overwritten) among 10,500 rows with random save ids: the removed
        // folders go through the trash by the save id rebuilt from its 128-bit value; pinned and newest stay whole.
        using var h = new CheckpointHandler();
        for (var s = 1; s <= 8; s++)
        {
            h.Save(_ck, State(s), step: s);
        }
        h.Save(_ck, State(30), step: 3, overwrite: true);
        h.Save(_ck, State(40), step: 4, overwrite: true);
        h.SetPinned(_ck, 5, true);
        h.Save(_ck, State(90000), step: 90_000);
        h.Save(_ck, State(90001), step: 90_001);
        using (var index = PlantedManifest.OpenIndex(_ck))
        using (var cmd = index.CreateCommand())
        {
            cmd.CommandText = """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 10500)
                INSERT INTO steps(step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned)
                SELECT 100 + n.i, lower(hex(randomblob(16))), s.created_utc, s.size, s.stored_size, s.item_count, s.metadata, s.manifest_hash, 0
                FROM n, steps AS s WHERE s.step = 1;
                """;
            cmd.ExecuteNonQuery();
        }
        var removed = h.Prune(_ck, new RetentionPolicy { Keep = 2 });
        Assert.Equal(10_500 + 7, removed.Count);
        Assert.Equal(new long[] { 5, 90_000, 90_001 }, h.GetCheckpointSteps(_ck));
        var names = Directory.EnumerateFileSystemEntries(_ck).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(new[] { "5", "90000", "90001" }, names.Where(n => !n!.StartsWith("index", StringComparison.Ordinal) && !n!.StartsWith('.')));
        foreach (var d in Directory.EnumerateDirectories(_ck, ".*"))
        {
            Assert.Empty(Directory.EnumerateFileSystemEntries(d));
        }
        Assert.True(h.Verify(_ck, 5).Ok);
        Assert.True(h.Verify(_ck, 90_000).Ok);
        Assert.True(h.Verify(_ck, 90_001).Ok);
    }

    [Fact]
    public void A_removed_rows_save_id_is_the_stored_text_exactly()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
        }

        CopyRows(from: 1, first: 100, count: 300);
        using var index = StepIndex.Open(Path.GetFullPath(_ck), create: false, upgrade: true);
        var many = index.Rows(Enumerable.Range(1, 400).Select(i => (long)i).ToList());
        var few = index.Rows([1L, 100L, 399L]);

        Assert.Equal(301, many.Count);
        Assert.All(many, r => Assert.Equal(index.Get(r.Step)!.SaveId, r.SaveId));
        Assert.Equal(few, many.Where(r => r.Step is 1 or 100 or 399));
        Assert.Equal("0000000000000000000000000000018f", many[^1].SaveId);
        Assert.Throws<FormatException>(() => RemovedRow.ParseSaveId(1, "0000000000000000000000000000018F".AsSpan()));
        Assert.Throws<FormatException>(() => RemovedRow.ParseSaveId(1, "18f".AsSpan()));
        Assert.False(RemovedRow.TryParseSaveId("000000000000000000000000000001-f"u8, out _));
        Assert.Equal(UInt128.MaxValue, RemovedRow.ParseSaveId(1, new string('f', 32).AsSpan()));
    }

    [Fact]
    public void Clearing_a_prunes_intents_keeps_an_intent_the_prune_did_not_record()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
            h.Save(_ck, State(2), step: 2);
        }

        CopyRows(from: 1, first: 100, count: 300);
        var saveId = new string('c', 32);
        using var index = StepIndex.Open(Path.GetFullPath(_ck), create: false, upgrade: true);
        index.AddIntent(new Intent(saveId, "save", 5000, StoredNames.StagingName(5000, saveId)));
        var rows = index.Rows(Enumerable.Range(100, 300).Select(i => (long)i).ToList());
        Assert.Equal(300, rows.Count);

        index.UnpublishSteps(rows);
        Assert.Equal(301, index.Intents().Count);
        Assert.Equal(rows.Select(r => (r.SaveId, r.Step)), index.Intents().Where(i => i.Op == "delete").Select(i => (i.SaveId, i.Step)));
        index.ClearRemovalIntents(rows);

        var left = Assert.Single(index.Intents());
        Assert.Equal((saveId, "save", 5000L), (left.SaveId, left.Op, left.Step));
        Assert.Equal(new long[] { 1, 2 }, index.Steps());
    }

    [Fact]
    public void Clearing_a_prunes_intents_when_they_are_all_there_is_empties_the_table()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
            h.Save(_ck, State(2), step: 2);
        }

        CopyRows(from: 1, first: 100, count: 300);
        using var index = StepIndex.Open(Path.GetFullPath(_ck), create: false, upgrade: true);
        var rows = index.Rows(Enumerable.Range(100, 300).Select(i => (long)i).ToList());

        index.UnpublishSteps(rows);
        index.ClearRemovalIntents(rows);

        Assert.Empty(index.Intents());
        Assert.Equal(new long[] { 1, 2 }, index.Steps());
    }

    [Fact]
    public void A_prune_reports_a_creation_time_out_of_range_as_index_damage_and_removes_nothing()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: 1);
        h.Save(_ck, State(2), step: 2);
        h.Save(_ck, State(3), step: 3);
        using (var index = PlantedManifest.OpenIndex(_ck))
        using (var cmd = index.CreateCommand())
        {
            cmd.CommandText = "UPDATE steps SET created_utc = -5 WHERE step = 2;";
            cmd.ExecuteNonQuery();
        }

        var e = Assert.Throws<CorruptCheckpointException>(() => h.Prune(_ck, new RetentionPolicy { Keep = 1 }));
        Assert.Equal("index.sqlite", e.Item);
        Assert.Contains("step 2", e.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(_ck, "1")));
        Assert.True(Directory.Exists(Path.Combine(_ck, "2")));
    }

    [Fact]
    public void A_listing_reports_a_creation_time_out_of_range_as_index_damage()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: 1);
        h.Save(_ck, State(2), step: 2);
        using (var index = PlantedManifest.OpenIndex(_ck))
        using (var cmd = index.CreateCommand())
        {
            cmd.CommandText = "UPDATE steps SET created_utc = -5 WHERE step = 2;";
            cmd.ExecuteNonQuery();
        }

        var e = Assert.Throws<CorruptCheckpointException>(() => h.ListCheckpoints(_ck));
        Assert.Equal("index.sqlite", e.Item);
        Assert.Contains("step 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_record_built_by_hand_keeps_its_time_offset_directory_path_and_metadata()
    {
        var created = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.FromHours(5.5)).AddTicks(1234);
        var metadata = new Dictionary<string, object?> { ["k"] = 1L };

        var info = new CheckpointInfo(7, "/x/ck/7", "/x/ck", created, 10, 5, 2, metadata, pinned: true);

        Assert.Equal(created, info.CreatedUtc);
        Assert.Equal(created.Offset, info.CreatedUtc.Offset);
        Assert.Equal(created.Ticks, info.CreatedUtc.Ticks);
        Assert.Equal(("/x/ck/7", "/x/ck", 10L, 5L, 2, true), (info.Path, info.Directory, info.Size, info.StoredSize, info.ItemCount, info.Pinned));
        Assert.Same(metadata, info.Metadata);
        Assert.Throws<ArgumentNullException>(() => new CheckpointInfo(7, "/x/ck/7", "/x/ck", created, 10, 5, 2, (IReadOnlyDictionary<string, object?>)null!, pinned: false));
    }

    [Fact]
    public void Column_reads_go_straight_to_the_native_library_sqlitepcl_loaded()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: 1);
        _ = h.ListCheckpoints(_ck);

        // Were the direct reads ever disabled on this platform, a listing would still be right but slower.
        Assert.True(SqliteColumns.Direct);
    }
}
