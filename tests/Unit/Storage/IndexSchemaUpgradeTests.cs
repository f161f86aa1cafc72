using System.Collections;
using System.Collections.Specialized;
using System.Globalization;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// An index written by the released engine (schema version 1, a row per leaf; docs/format.md §4) keeps
/// working: readers read its rows as they are, the first write upgrades it to version 2 in one
/// transaction with the very same items, a kill during the upgrade leaves version 1 usable, and rows
/// that do not read are index damage that Repair-CheckpointIndex rebuilds.
/// </summary>
public sealed class IndexSchemaUpgradeTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public IndexSchemaUpgradeTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private string IndexPath => Path.Combine(_ck, "index.sqlite");

    [Fact]
    public void Readers_read_a_version1_index_as_it_is_and_the_first_write_upgrades_it_with_identical_items()
    {
        var expected = SaveStepsAsVersion1();
        using (var h = new CheckpointHandler())
        {
            foreach (var (step, items) in expected)
            {
                Assert.Equal(items, Describe(h.GetItems(_ck, step)));
            }

            Assert.Equal(expected.Keys, h.ListCheckpoints(_ck).Select(c => c.Step));
            Assert.Equal(999, ((OrderedDictionary)h.Restore(_ck, 3, ["k999"])!)["k999"]);
            Assert.Single(h.Prune(_ck, new RetentionPolicy { Keep = 3 }, dryRun: true));
            Assert.Empty(h.RepairIndex(_ck, dryRun: true).Problems);
        }

        // Reads and dry runs leave the released engine's index as it was.
        Assert.Equal((1L, true), SchemaOf());

        using (var h = new CheckpointHandler())
        {
            h.SetPinned(_ck, 1, true);
            Assert.Equal((3L, false), SchemaOf());
            // The upgrade adds the step-number index in its own transaction.
            Assert.Equal(1, Count($"SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '{StepIndex.StepNumberIndex}';"));
            Assert.Equal([0L, 1, 2, 3], h.GetCheckpointSteps(_ck));
            foreach (var (step, items) in expected)
            {
                Assert.Equal(items, Describe(h.GetItems(_ck, step)));
            }

            Assert.Equal(expected.Count, Count("SELECT count(*) FROM step_items;"));
            h.Save(_ck, new Hashtable { ["z"] = 1.5 }, step: 9);
            var z = Assert.Single(h.GetItems(_ck, 9));
            Assert.Equal(("z", "scalar", 8L), (z.Name, z.Kind, z.Size));
            var report = h.RepairIndex(_ck);
            Assert.Empty(report.Problems);
            Assert.Equal([0L, 1, 2, 3, 9], report.StepsIndexed);
        }

        Assert.Empty(Directory.GetFiles(_ck, "index.sqlite.damaged*"));
    }

    [Fact]
    public void A_kill_during_the_upgrade_leaves_a_usable_version1_index_and_the_next_write_upgrades_it()
    {
        var expected = SaveStepsAsVersion1();

        Assert.Equal(Harness.Killed, Harness.Run("index.upgrade.before-commit", "pin", _ck, "2").ExitCode);

        Assert.Equal((1L, true), SchemaOf());
        Assert.Equal(0, Count($"SELECT count(*) FROM sqlite_master WHERE name = '{StepIndex.StepNumberIndex}';"));
        Assert.Equal(expected.Values.Sum(i => i.Count), Count("SELECT count(*) FROM items;"));
        using var h = new CheckpointHandler();
        Assert.Equal(expected[2], Describe(h.GetItems(_ck, 2)));
        Assert.False(h.ListCheckpoints(_ck).Single(c => c.Step == 2).Pinned);

        h.SetPinned(_ck, 2, true);
        Assert.Equal((3L, false), SchemaOf());
        Assert.True(h.ListCheckpoints(_ck).Single(c => c.Step == 2).Pinned);
        foreach (var (step, items) in expected)
        {
            Assert.Equal(items, Describe(h.GetItems(_ck, step)));
        }
    }

    [Theory]
    [InlineData("DELETE FROM items WHERE step = 2 AND ordinal = 1;")]
    [InlineData("UPDATE items SET name = x'00ff' WHERE step = 2 AND ordinal = 0;")]
    [InlineData("UPDATE items SET size = 'four' WHERE step = 2 AND ordinal = 0;")]
    public void Version1_rows_that_do_not_read_fail_the_upgrade_as_index_damage_and_repair_rebuilds_version2(string damage)
    {
        var expected = SaveStepsAsVersion1();
        Execute(damage);

        using var h = new CheckpointHandler();
        var e = Assert.Throws<CorruptCheckpointException>(() => h.Save(_ck, new Hashtable { ["n"] = 1 }, step: 5));
        Assert.Contains("index", e.Message, StringComparison.Ordinal);
        Assert.Equal((1L, true), SchemaOf());
        Assert.False(Directory.Exists(Path.Combine(_ck, "5")));

        h.RepairIndex(_ck);
        Assert.Equal((3L, false), SchemaOf());
        Assert.NotEmpty(Directory.GetFiles(_ck, "index.sqlite.damaged-*"));
        foreach (var (step, items) in expected)
        {
            Assert.Equal(items, Describe(h.GetItems(_ck, step)));
        }
    }

    /// <summary>
    /// A version-1 index where a table was made by hand under the step-number index's name (final review): the upgrade
    /// created the index in its own transaction and SQLite refused it ("there is already a table named ..."), so every
    /// write of the old store failed with an error naming nothing, and repair, which finds such an index sound, could
    /// not clear it. The upgrade goes on without the step-number index, as a version-2 open does.
    /// </summary>
    [Fact]
    public void A_version1_index_with_a_table_under_the_step_number_index_name_upgrades_and_takes_writes()
    {
        var expected = SaveStepsAsVersion1();
        Execute($"CREATE TABLE {StepIndex.StepNumberIndex.ToUpperInvariant()}(x);");

        using var h = new CheckpointHandler();
        h.Save(_ck, new Hashtable { ["n"] = 1 }, step: 5);

        Assert.Equal((3L, false), SchemaOf());
        Assert.Equal(0, Count($"SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '{StepIndex.StepNumberIndex}' COLLATE NOCASE;"));
        Assert.Equal(expected.Keys.Append(5), h.GetCheckpointSteps(_ck));
        Assert.Empty(h.RepairIndex(_ck).Problems);
    }

    /// <summary>
    /// Saves steps 0–3 with this engine, then replaces the index with the version-1 index the released
    /// engine would have written for them: its exact schema (docs/format.md §3 of version 1), the same
    /// step rows, one item row per leaf. Returns each step's items as the engine listed them.
    /// </summary>
    private SortedDictionary<long, List<(string, string, string?, string, long, long)>> SaveStepsAsVersion1()
    {
        var expected = new SortedDictionary<long, List<(string, string, string?, string, long, long)>>();
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, new Hashtable(), step: 0);
            h.Save(_ck, new OrderedDictionary { ["w"] = new float[,] { { 1, 2 }, { 3, 4 } }, ["lr"] = 0.1, ["note"] = "hi", ["none"] = null }, step: 1);
            h.Save(_ck, new OrderedDictionary { ["params"] = new OrderedDictionary { ["a"] = Array.Empty<double>(), ["b"] = 7 }, ["ünï名"] = new long[] { 1, 2, 3 } }, step: 2);
            var many = new OrderedDictionary();
            for (var i = 0; i < 1_000; i++)
            {
                many["k" + i] = i;
            }

            h.Save(_ck, many, step: 3);
            foreach (var step in new long[] { 0, 1, 2, 3 })
            {
                expected[step] = Describe(h.GetItems(_ck, step));
            }
        }

        Assert.Empty(expected[0]);
        Assert.Equal(1_000, expected[3].Count);
        List<object?[]> steps = [];
        using (var c = Connect())
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned FROM steps ORDER BY step;";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var row = new object?[9];
                r.GetValues(row!);
                steps.Add(row);
            }
        }

        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(IndexPath + suffix);
        }

        using (var c = Connect())
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                PRAGMA journal_mode = WAL;
                CREATE TABLE IF NOT EXISTS steps(
                    step INTEGER PRIMARY KEY,
                    save_id TEXT NOT NULL,
                    created_utc INTEGER NOT NULL,
                    size INTEGER NOT NULL,
                    stored_size INTEGER NOT NULL,
                    item_count INTEGER NOT NULL,
                    metadata TEXT NOT NULL,
                    manifest_hash TEXT NOT NULL,
                    pinned INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE IF NOT EXISTS items(
                    step INTEGER NOT NULL,
                    ordinal INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    dtype TEXT,
                    shape TEXT,
                    size INTEGER NOT NULL,
                    stored_size INTEGER NOT NULL,
                    PRIMARY KEY(step, ordinal)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS intents(
                    save_id TEXT PRIMARY KEY,
                    op TEXT NOT NULL,
                    step INTEGER NOT NULL,
                    staging TEXT);
                PRAGMA user_version = 1;
                """;
            cmd.ExecuteNonQuery();
            using var tx = c.BeginTransaction();
            foreach (var row in steps)
            {
                using var ins = c.CreateCommand();
                ins.Transaction = tx;
                ins.CommandText = "INSERT INTO steps VALUES ($0, $1, $2, $3, $4, $5, $6, $7, $8);";
                for (var i = 0; i < row.Length; i++)
                {
                    ins.Parameters.AddWithValue("$" + i.ToString(CultureInfo.InvariantCulture), row[i]);
                }

                ins.ExecuteNonQuery();
                var step = (long)row[0]!;
                var ordinal = 0;
                foreach (var (name, kind, dtype, shape, size, stored) in expected[step])
                {
                    using var item = c.CreateCommand();
                    item.Transaction = tx;
                    item.CommandText = "INSERT INTO items VALUES ($s, $o, $n, $k, $d, $sh, $size, $stored);";
                    item.Parameters.AddWithValue("$s", step);
                    item.Parameters.AddWithValue("$o", ordinal++);
                    item.Parameters.AddWithValue("$n", name);
                    item.Parameters.AddWithValue("$k", kind);
                    item.Parameters.AddWithValue("$d", (object?)dtype ?? DBNull.Value);
                    item.Parameters.AddWithValue("$sh", shape == "-" ? DBNull.Value : shape);
                    item.Parameters.AddWithValue("$size", size);
                    item.Parameters.AddWithValue("$stored", stored);
                    item.ExecuteNonQuery();
                }
            }

            tx.Commit();
        }

        Assert.Equal((1L, true), SchemaOf());
        return expected;
    }

    /// <summary>Each item as (name, kind, dtype, shape as the version-1 text or "-" for none, size, stored size).</summary>
    private static List<(string, string, string?, string, long, long)> Describe(IEnumerable<CheckpointItemInfo> items) =>
        items.Select(i => (i.Name, i.Kind, i.DType, i.Shape is null ? "-" : string.Join(",", i.Shape), i.Size, i.StoredSize)).ToList();

    /// <summary>The index's user_version and whether it still has the version-1 items table.</summary>
    private (long Version, bool HasItemRows) SchemaOf() =>
        (Count("PRAGMA user_version;"), Count("SELECT count(*) FROM sqlite_master WHERE name = 'items';") == 1);

    private long Count(string sql) => new IndexFile(IndexPath).Scalar(sql);

    private void Execute(string sql) => new IndexFile(IndexPath).Execute(sql);

    private SqliteConnection Connect() => new IndexFile(IndexPath).Connect();
}
