using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// The listing's column reads have two paths: straight to the native library SQLitePCL opened (one
/// <c>sqlite3_column_value</c> a column, then its type and value from it), and SQLitePCL's own calls, taken when
/// the engine's load of "e_sqlite3" finds another copy (another module's) or SQLitePCL uses another library. The
/// second path runs only in such a process, never in this test process, so no test reached it: a mistake there
/// (the type read after the value, a NULL metadata taken for empty text) would have shipped unseen (found by the
/// attack on list14). The crash harness, with a copy of the library in its engine's way, lists each store here,
/// and must list exactly what a harness on the direct path lists: the same records, the same errors.
/// </summary>
public sealed class SqliteColumnsFallbackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public SqliteColumnsFallbackTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private void Build()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1, metadata: new Dictionary<string, object?> { ["loss"] = 0.5 });
        }

        using var c = PlantedManifest.OpenIndex(_ck);
        Exec(c, """
            WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
            INSERT INTO steps(step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned)
            SELECT i, printf('%032x', i), created_utc + i, size + i, stored_size + i, item_count, CASE WHEN i % 3 = 0 THEN '{"n":' || i || '}' ELSE metadata END, manifest_hash, i % 5 = 0 FROM n, steps WHERE step = 1;
            """);
    }

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Sets <paramref name="set"/> on the rows <paramref name="where"/> names, past the schema's types and NOT NULLs (as a bad page would).</summary>
    private void Damage(string set, string where)
    {
        string original;
        using (var c = PlantedManifest.OpenIndex(_ck))
        {
            using var q = c.CreateCommand();
            q.CommandText = "SELECT sql FROM sqlite_schema WHERE name = 'steps';";
            original = (string)q.ExecuteScalar()!;
            var loose = original.Replace("INTEGER NOT NULL", "BLOB NULL", StringComparison.Ordinal).Replace("TEXT NOT NULL", "BLOB NULL", StringComparison.Ordinal);
            using var w = c.CreateCommand();
            w.CommandText = "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = $sql WHERE name = 'steps';";
            w.Parameters.AddWithValue("$sql", loose);
            w.ExecuteNonQuery();
        }

        using (var c = PlantedManifest.OpenIndex(_ck))
        {
            Exec(c, $"UPDATE steps SET {set} WHERE {where};");
            using var w = c.CreateCommand();
            w.CommandText = "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = $sql WHERE name = 'steps';";
            w.Parameters.AddWithValue("$sql", original);
            w.ExecuteNonQuery();
        }
    }

    private static (string Direct, string Outcome) List(string ck, bool copied)
    {
        var run = copied ? Harness.Run(null, "--copied-sqlite", "list", ck) : Harness.Run(null, "list", ck);
        Assert.True(run.ExitCode == 0, run.Output);
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var direct = lines.Where(l => l.StartsWith("direct=", StringComparison.Ordinal)).Distinct().ToList();
        Assert.Single(direct);
        return (direct[0], string.Join("\n", lines.Where(l => !l.StartsWith("direct=", StringComparison.Ordinal))));
    }

    public static TheoryData<string, string> Stores() => new()
    {
        { "", "" },
        { "created_utc = NULL", "step = 2" },
        { "created_utc = 'yesterday'", "step = 38" },
        { "size = 1.5", "step = 2" },
        { "stored_size = x'01'", "step = 38" },
        { "item_count = -1", "step = 2" },
        { "pinned = NULL", "step = 38" },
        { "metadata = NULL", "step = 2" },
        { "metadata = 7", "step = 2" },
        { "metadata = x''", "step = 38" },
        { "metadata = CAST('{\"a\":1}' AS BLOB)", "step >= 2" },
        { "created_utc = 'x', metadata = NULL", "step = 2" },
        { "metadata = NULL, item_count = -1", "step = 38" },
    };

    [Theory]
    [MemberData(nameof(Stores))]
    public void SQLitePCLs_calls_list_what_the_direct_reads_list(string set, string where)
    {
        Build();
        if (set.Length > 0)
        {
            Damage(set, where);
        }

        var direct = List(_ck, copied: false);
        var fallback = List(_ck, copied: true);

        Assert.Equal("direct=True", direct.Direct);
        Assert.Equal("direct=False", fallback.Direct);
        Assert.Contains("all: ", direct.Outcome, StringComparison.Ordinal);
        Assert.Equal(direct.Outcome, fallback.Outcome);
    }

    [Fact]
    public void SQLitePCLs_calls_list_a_UTF16_index_as_the_direct_reads_do()
    {
        Build();
        Utf16IndexListingTests.MakeUtf16(_ck, _dir.Sub("copy"));

        var direct = List(_ck, copied: false);
        var fallback = List(_ck, copied: true);

        Assert.Equal("direct=False", fallback.Direct);
        // Step 1's metadata decoded (the copied rows' {"n":..} of every third step is not the engine's format in either index).
        Assert.StartsWith("all: 1 ", direct.Outcome, StringComparison.Ordinal);
        Assert.Contains("[loss=0.5]", direct.Outcome.Split('\n')[0].Split(" | ")[0], StringComparison.Ordinal);
        Assert.Equal(direct.Outcome, fallback.Outcome);
    }
}
