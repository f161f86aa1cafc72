using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A full listing steps its rows on a second connection of its own to the index file, opened without
/// SQLite's connection mutex (issue 17 (d)). It must see exactly what the index's own connection would:
/// committed rows only, while a writer holds its transaction open; and when the file at the index's path
/// is no longer of the index's schema version, the index's own connection serves instead.
/// </summary>
public sealed class ListingScanConnectionTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public ListingScanConnectionTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private void SaveSteps(params long[] steps)
    {
        using var h = new CheckpointHandler();
        foreach (var step in steps)
        {
            h.Save(_ck, new Dictionary<string, object?> { ["v"] = (int)step }, step: step);
        }
    }

    private static CheckpointListingContext Context(string ck) =>
        new(ck, step => Path.Combine(ck, step.ToString(System.Globalization.CultureInfo.InvariantCulture)), (_, _) => new Dictionary<string, object?>());

    /// <summary>The value of the pragma <paramref name="name"/> on a scan connection, read through SQLite's own API.</summary>
    private static int PragmaOf(SQLitePCL.sqlite3 scan, string name)
    {
        Assert.Equal(SQLitePCL.raw.SQLITE_OK, SQLitePCL.raw.sqlite3_prepare_v2(scan, $"PRAGMA {name};", out var statement));
        using (statement)
        {
            Assert.Equal(SQLitePCL.raw.SQLITE_ROW, SQLitePCL.raw.sqlite3_step(statement));
            return SQLitePCL.raw.sqlite3_column_int(statement, 0);
        }
    }

    [Fact]
    public void A_full_listing_of_an_index_file_reads_through_a_read_only_connection_of_its_own()
    {
        SaveSteps(1, 2);
        using var index = StepIndex.Open(_ck, create: false, upgrade: true);
        using var scan = index.OpenScanConnection();

        // Not the fallback: the scan connection opens, and it can never write (so its close can never
        // checkpoint a log into a file that was swapped under it, nor delete a log).
        Assert.NotNull(scan);
        Assert.Equal(1, SQLitePCL.raw.sqlite3_db_readonly(scan, "main"));
    }

    [Fact]
    public void A_scan_connection_waits_out_a_busy_file_from_its_open_with_the_index_connections_timeout()
    {
        // Set once where it is opened (the split listing set it again on a connection that had it).
        SaveSteps(1);
        using var index = StepIndex.Open(_ck, create: false, upgrade: true);
        using var scan = index.OpenScanConnection();

        Assert.NotNull(scan);
        Assert.Equal(60_000, PragmaOf(scan, "busy_timeout"));
    }

    [Fact]
    public void A_scan_connection_keeps_the_small_page_cache_a_scan_needs()
    {
        // docs/performance-notes.md, round 44: the pragma's result is ignored where it is run, so only this shows
        // that it took effect (found by the attack on list14: removing it failed no test).
        SaveSteps(1);
        using var index = StepIndex.Open(_ck, create: false, upgrade: true);
        using var scan = index.OpenScanConnection();

        Assert.NotNull(scan);
        Assert.Equal(32, PragmaOf(scan, "cache_size"));
    }

    [Fact]
    public void A_full_listing_sees_committed_rows_and_not_a_writers_open_transaction()
    {
        SaveSteps(1, 2, 3);
        using var h = new CheckpointHandler();
        using (var writer = PlantedManifest.OpenIndex(_ck))
        {
            using var tx = writer.BeginTransaction();
            using (var cmd = writer.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = """
                    INSERT INTO steps(step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned)
                    SELECT 99, printf('%032x', 99), created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned FROM steps WHERE step = 1;
                    """;
                cmd.ExecuteNonQuery();
            }

            Assert.Equal([1L, 2L, 3L], h.ListCheckpoints(_ck).Select(i => i.Step));
            tx.Commit();
        }

        Assert.Equal([1L, 2L, 3L, 99L], h.ListCheckpoints(_ck).Select(i => i.Step));
        Assert.Equal(h.ListLastCheckpoints(_ck, 4).Select(i => i.Step), h.ListCheckpoints(_ck).Select(i => i.Step));
    }

    [Fact]
    public void A_full_listing_of_an_index_whose_file_was_replaced_by_another_schema_version_reads_the_open_index()
    {
        SaveSteps(1, 2, 3);
        using var index = StepIndex.Open(_ck, create: false, upgrade: false);

        // The replacement: a copy of the index with one more row, of a schema version this index was not opened at.
        var other = _dir.Sub("other.sqlite");
        using (var source = PlantedManifest.OpenIndex(_ck))
        using (var vacuum = source.CreateCommand())
        {
            vacuum.CommandText = "VACUUM INTO $path;";
            vacuum.Parameters.AddWithValue("$path", other);
            vacuum.ExecuteNonQuery();
        }

        using (var copy = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = other, Pooling = false }.ToString()))
        {
            copy.Open();
            using var cmd = copy.CreateCommand();
            cmd.CommandText = """
                INSERT INTO steps(step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned)
                SELECT 50, printf('%032x', 50), created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned FROM steps WHERE step = 1;
                PRAGMA user_version = 7;
                """;
            cmd.ExecuteNonQuery();
        }

        File.Move(other, StepIndex.PathOf(_ck), overwrite: true);

        Assert.Equal([1L, 2L, 3L], index.List(Context(_ck)).Select(i => i.Step));
    }

    [Fact]
    public void A_full_listing_of_an_index_whose_file_was_removed_while_open_reads_the_open_index()
    {
        SaveSteps(7, 8, 9);
        using var index = StepIndex.Open(_ck, create: false, upgrade: false);
        File.Delete(StepIndex.PathOf(_ck));

        // The scan connection may not create a file: it fails to open, and the index's own connection serves.
        Assert.Equal([7L, 8L, 9L], index.List(Context(_ck)).Select(i => i.Step));
        Assert.False(File.Exists(StepIndex.PathOf(_ck)));
    }

    [Fact]
    public void A_full_listing_of_an_index_copied_into_memory_reads_the_copy()
    {
        SaveSteps(4, 5);
        using var index = StepIndex.Open(_ck, create: false, upgrade: false);
        using var memory = index.CopyToMemory();
        File.Delete(StepIndex.PathOf(_ck));

        Assert.Equal([4L, 5L], memory.List(Context(_ck)).Select(i => i.Step));
    }

    [Fact]
    public async Task Full_listings_racing_commits_removals_and_a_shrinking_vacuum_each_see_whole_committed_groups_only()
    {
        // 4,000 rows of base steps (below 1,000,000) that never change, then groups of 500 rows, each
        // inserted in one transaction and removed in another, with the log checkpointed into the file and
        // the file shrunk by VACUUM in between: the pages under a listing's scan are rewritten and cut.
        SaveSteps(1);
        const int Base = 4_000;
        const int Group = 500;
        using (var setup = PlantedManifest.OpenIndex(_ck))
        using (var cmd = setup.CreateCommand())
        {
            cmd.CommandText = $"""
                WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < {Base})
                INSERT INTO steps(step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned)
                SELECT i, printf('%032x', i), created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned FROM n, steps WHERE step = 1;
                """;
            cmd.ExecuteNonQuery();
        }

        using var stop = new CancellationTokenSource();
        var writes = 0;
        var writer = Task.Run(() =>
        {
            using var connection = PlantedManifest.OpenIndex(_ck);
            for (var g = 1; !stop.IsCancellationRequested; g++)
            {
                Exec(connection, $"""
                    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {Group - 1})
                    INSERT INTO steps(step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned)
                    SELECT {g} * 1000000 + i, printf('%032x', {g} * 1000000 + i), created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned FROM n, steps WHERE step = 1;
                    """);
                Exec(connection, $"DELETE FROM steps WHERE step >= {g - 1} * 1000000 AND step < {g} * 1000000 AND {g} > 1;");
                Exec(connection, g % 4 == 0 ? "VACUUM; PRAGMA wal_checkpoint(TRUNCATE);" : "PRAGMA wal_checkpoint(PASSIVE);");
                writes++;
            }
        });

        try
        {
            using var h = new CheckpointHandler();
            for (var listing = 0; listing < 60 || Volatile.Read(ref writes) < 8; listing++)
            {
                var steps = h.ListCheckpoints(_ck).Select(i => i.Step).ToList();
                Assert.Equal(Enumerable.Range(1, Base).Select(i => (long)i), steps.Take(Base));
                var groups = steps.Skip(Base).GroupBy(s => s / 1_000_000).ToList();
                Assert.All(groups, group => Assert.Equal(Enumerable.Range(0, Group).Select(i => group.Key * 1_000_000 + i), group));
                Assert.InRange(groups.Count, 0, 2);
                Assert.False(writer.IsFaulted, writer.Exception?.ToString());
            }
        }
        finally
        {
            await stop.CancelAsync();
            await writer;
        }
    }

    private static void Exec(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
