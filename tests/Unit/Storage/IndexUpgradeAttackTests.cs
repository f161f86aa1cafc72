using System.Collections.Specialized;
using System.Globalization;
using System.Security.Cryptography;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Hostile review of index schema version 2 (docs/format.md §3, §4): a version-1 index that is damaged
/// in ways SQLite accepts, a reader racing the upgrade, an index whose tables do not match its version,
/// and readers that must leave the released engine's index byte for byte as it was.
/// </summary>
public sealed class IndexUpgradeAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public IndexUpgradeAttackTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private string IndexPath => Path.Combine(_ck, "index.sqlite");

    [Theory]
    [InlineData("99999999999999999999")]
    [InlineData("2,-99999999999999999999")]
    public void A_version1_shape_that_overflows_is_index_damage_for_readers_the_upgrade_and_repair(string shape)
    {
        SaveVersion1Index();
        Execute($"UPDATE items SET shape = '{shape}' WHERE step = 1 AND name = 'w';");

        using var h = new CheckpointHandler();
        var read = Assert.Throws<CorruptCheckpointException>(() => h.GetItems(_ck, 1));
        Assert.Contains("index", read.Message, StringComparison.Ordinal);

        Assert.Throws<CorruptCheckpointException>(() => h.SetPinned(_ck, 1, true));
        Assert.Equal(1L, Scalar("PRAGMA user_version;"));

        h.RepairIndex(_ck);
        Assert.Equal(3L, Scalar("PRAGMA user_version;"));
        Assert.Equal([2L, 2L], h.GetItems(_ck, 1).Single(i => i.Name == "w").Shape);
    }

    [Fact]
    public void A_reader_that_opened_a_version1_index_reads_items_after_another_process_upgraded_it()
    {
        SaveVersion1Index();
        using var reader = StepIndex.Open(_ck, create: false, upgrade: false);
        Assert.NotNull(reader.Get(1));

        using (StepIndex.Open(_ck, create: false, upgrade: true))
        {
        }

        Assert.Equal(3L, Scalar("PRAGMA user_version;"));
        Assert.Equal(["w", "lr", "note"], reader.Items(1).Select(i => i.Name));
    }

    [Theory]
    [InlineData("PRAGMA user_version = 2;")]
    [InlineData("DROP TABLE items;")]
    public void An_index_whose_tables_do_not_match_its_version_is_damage_that_repair_rebuilds(string damage)
    {
        SaveVersion1Index();
        Execute(damage);

        using var h = new CheckpointHandler();
        Assert.Throws<CorruptCheckpointException>(() => h.GetItems(_ck, 1));
        var report = h.RepairIndex(_ck);
        Assert.Equal([1L, 2L], report.StepsIndexed);
        Assert.Equal(3L, Scalar("PRAGMA user_version;"));
        Assert.Equal(["w", "lr", "note"], h.GetItems(_ck, 1).Select(i => i.Name));
    }

    [Fact]
    public void A_stray_step_items_table_in_a_version1_index_does_not_stop_the_upgrade_or_leak_into_it()
    {
        // A version-1 index never has this table (a torn fresh-cache race of two engine versions, a hand edit):
        // its rows mean nothing; the upgrade builds the lists from the item rows alone.
        SaveVersion1Index();
        Execute("CREATE TABLE step_items(step INTEGER PRIMARY KEY, items BLOB NOT NULL); INSERT INTO step_items VALUES (1, x'01'), (7, x'02');");

        using var h = new CheckpointHandler();
        h.SetPinned(_ck, 1, true);
        Assert.Equal(3L, Scalar("PRAGMA user_version;"));
        Assert.Equal(["w", "lr", "note"], h.GetItems(_ck, 1).Select(i => i.Name));
        Assert.Equal(2L, Scalar("SELECT count(*) FROM step_items;"));
        Assert.Empty(h.RepairIndex(_ck).Problems);
        Assert.Empty(Directory.GetFiles(_ck, "index.sqlite.damaged*"));
    }

    [Fact]
    public void A_stale_version1_wal_beside_an_upgraded_index_is_damage_that_repair_rebuilds_from_the_folders()
    {
        SaveVersion1Index();
        byte[] wal;
        using (var c = Connect())
        {
            using (var cmd = c.CreateCommand())
            {
                cmd.CommandText = "PRAGMA wal_autocheckpoint = 0; UPDATE steps SET pinned = pinned + 1; UPDATE steps SET pinned = pinned - 1; UPDATE items SET ordinal = ordinal + 1000000; UPDATE items SET ordinal = ordinal - 1000000;";
                cmd.ExecuteNonQuery();
            }

            wal = File.ReadAllBytes(IndexPath + "-wal");
        }

        SqliteConnection.ClearAllPools();
        using (var writer = new CheckpointHandler())
        {
            writer.SetPinned(_ck, 1, true);
            writer.Save(_ck, new OrderedDictionary { ["x"] = 1 }, step: 3);
        }

        SqliteConnection.ClearAllPools();
        Assert.Equal(3L, Scalar("PRAGMA user_version;"));
        File.Delete(IndexPath + "-shm");
        File.WriteAllBytes(IndexPath + "-wal", wal);
        using var h = new CheckpointHandler();
        Assert.Throws<CorruptCheckpointException>(() => h.ListCheckpoints(_ck));
        Assert.Throws<CorruptCheckpointException>(() => h.Save(_ck, new OrderedDictionary { ["y"] = 1 }, step: 4));
        h.RepairIndex(_ck);
        Assert.Equal(3L, Scalar("PRAGMA user_version;"));
        Assert.Equal(["1p", "2", "3"], h.ListCheckpoints(_ck).Select(c => c.Step + (c.Pinned ? "p" : string.Empty)));
        Assert.Equal(["w", "lr", "note"], h.GetItems(_ck, 1).Select(i => i.Name));
        Assert.Equal(["x"], h.GetItems(_ck, 3).Select(i => i.Name));
    }

    [Fact]
    public async Task A_full_page_of_version1_rows_ending_at_the_largest_ordinal_reads_once_instead_of_looping()
    {
        // Rows are read in pages of 50,000 from one past the last ordinal; past long.MaxValue that wrapped
        // to long.MinValue and read the same page again, forever, growing the list until memory ran out.
        SaveVersion1Index();
        Execute("""
            DELETE FROM items WHERE step = 2;
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49999)
            INSERT INTO items SELECT 2, CASE WHEN i = 49999 THEN 9223372036854775807 ELSE i END, 'k' || i, 'scalar', 'i32', NULL, 4, 0 FROM n;
            UPDATE steps SET item_count = 50000 WHERE step = 2;
            """);

        using var h = new CheckpointHandler();
        var count = await Task.Run(() => h.GetItems(_ck, 2).Count).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(50_000, count);
    }

    [Fact]
    public void Readers_and_dry_runs_leave_a_version1_index_byte_for_byte_as_it_was()
    {
        SaveVersion1Index();
        SqliteConnection.ClearAllPools();
        var before = Snapshot();

        using (var h = new CheckpointHandler())
        {
            Assert.Equal(3, h.GetItems(_ck, 1).Count);
            Assert.Equal(0.1, ((OrderedDictionary)h.Restore(_ck, 1, ["lr"])!)["lr"]);
            Assert.Equal(2, h.ListCheckpoints(_ck).Count);
            Assert.Single(h.Prune(_ck, new RetentionPolicy { Keep = 1 }, dryRun: true));
            h.RepairIndex(_ck, dryRun: true);
            _ = h.Compare(_ck, 1, 2);
            _ = h.Verify(_ck, 2);
        }

        SqliteConnection.ClearAllPools();
        Assert.Equal(before, Snapshot());
    }

    /// <summary>Every file of the directory's top level with its bytes' hash and last write time.</summary>
    private string Snapshot() => string.Join("\n", Directory.GetFiles(_ck).Order(StringComparer.Ordinal).Select(f =>
        $"{Path.GetFileName(f)} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))} {File.GetLastWriteTimeUtc(f).Ticks}"));

    /// <summary>Saves steps 1 and 2, then replaces the index with the version-1 index the released engine writes for them.</summary>
    private void SaveVersion1Index()
    {
        var items = new Dictionary<long, IReadOnlyList<CheckpointItemInfo>>();
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, new OrderedDictionary { ["w"] = new float[,] { { 1, 2 }, { 3, 4 } }, ["lr"] = 0.1, ["note"] = "hi" }, step: 1);
            h.Save(_ck, new OrderedDictionary { ["w"] = new float[] { 5 }, ["lr"] = 0.2, ["note"] = "ho" }, step: 2);
            items[1] = h.GetItems(_ck, 1);
            items[2] = h.GetItems(_ck, 2);
        }

        var steps = new List<object?[]>();
        using (var c = Connect())
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "SELECT step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned FROM steps ORDER BY step;";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var row = new object?[9];
                r.GetValues(row!);
                steps.Add(row);
            }
        }

        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(IndexPath + suffix);
        }

        using (var c = Connect())
        {
            using (var cmd = c.CreateCommand())
            {
                cmd.CommandText = """
                    PRAGMA journal_mode = WAL;
                    CREATE TABLE steps(step INTEGER PRIMARY KEY, save_id TEXT NOT NULL, created_utc INTEGER NOT NULL, size INTEGER NOT NULL,
                        stored_size INTEGER NOT NULL, item_count INTEGER NOT NULL, metadata TEXT NOT NULL, manifest_hash TEXT NOT NULL,
                        pinned INTEGER NOT NULL DEFAULT 0);
                    CREATE TABLE items(step INTEGER NOT NULL, ordinal INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, dtype TEXT,
                        shape TEXT, size INTEGER NOT NULL, stored_size INTEGER NOT NULL, PRIMARY KEY(step, ordinal)) WITHOUT ROWID;
                    CREATE TABLE intents(save_id TEXT PRIMARY KEY, op TEXT NOT NULL, step INTEGER NOT NULL, staging TEXT);
                    PRAGMA user_version = 1;
                    """;
                cmd.ExecuteNonQuery();
            }

            foreach (var row in steps)
            {
                using var ins = c.CreateCommand();
                ins.CommandText = "INSERT INTO steps VALUES ($0, $1, $2, $3, $4, $5, $6, $7, $8);";
                for (var i = 0; i < row.Length; i++)
                {
                    ins.Parameters.AddWithValue("$" + i.ToString(CultureInfo.InvariantCulture), row[i]);
                }

                ins.ExecuteNonQuery();
                var step = (long)row[0]!;
                var ordinal = 0;
                foreach (var it in items[step])
                {
                    using var item = c.CreateCommand();
                    item.CommandText = "INSERT INTO items VALUES ($s, $o, $n, $k, $d, $sh, $size, $stored);";
                    item.Parameters.AddWithValue("$s", step);
                    item.Parameters.AddWithValue("$o", ordinal++);
                    item.Parameters.AddWithValue("$n", it.Name);
                    item.Parameters.AddWithValue("$k", it.Kind);
                    item.Parameters.AddWithValue("$d", (object?)it.DType ?? DBNull.Value);
                    item.Parameters.AddWithValue("$sh", it.Shape is null ? DBNull.Value : string.Join(",", it.Shape));
                    item.Parameters.AddWithValue("$size", it.Size);
                    item.Parameters.AddWithValue("$stored", it.StoredSize);
                    item.ExecuteNonQuery();
                }
            }
        }

        SqliteConnection.ClearAllPools();
        Assert.Equal(1L, Scalar("PRAGMA user_version;"));
    }

    private long Scalar(string sql) => new IndexFile(IndexPath).Scalar(sql);

    private void Execute(string sql) => new IndexFile(IndexPath).Execute(sql);

    private SqliteConnection Connect() => new IndexFile(IndexPath).Connect();
}
