using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// An index file need not be UTF-8: a tool that opens a new database through SQLite's UTF-16 API (sqlite3_open16,
/// as Windows programs do) makes a UTF-16 one, and rebuilding or copying an index with such a tool keeps its rows
/// and schema version intact. SQLite converts its text to UTF-8 for every text read: the single-record read (the
/// ADO.NET reader) shows such a step's metadata, but the listings read the stored bytes of the metadata column as
/// a blob, undecoded: every listed step's metadata was reported as corrupt (found by the attack on list14; the same
/// on main, before the listing's single column look-up).
/// </summary>
public sealed class Utf16IndexListingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void Run(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Rewrites the index of <paramref name="ck"/> as a UTF-16 database: the same schema, rows and version (built in <paramref name="scratch"/>).</summary>
    internal static void MakeUtf16(string ck, string scratch)
    {
        var index = Path.Combine(ck, "index.sqlite");
        var copy = Path.Combine(scratch, "index.sqlite");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        using (var src = new SqliteConnection($"Data Source={index};Pooling=False"))
        using (var dst = new SqliteConnection($"Data Source={copy};Pooling=False"))
        {
            src.Open();
            dst.Open();
            Run(dst, "PRAGMA encoding = 'UTF-16le';");
            using (var q = src.CreateCommand())
            {
                q.CommandText = "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%';";
                using var r = q.ExecuteReader();
                while (r.Read())
                {
                    Run(dst, r.GetString(0));
                }
            }

            foreach (var table in new[] { "steps", "step_items", "intents" })
            {
                using var q = src.CreateCommand();
                q.CommandText = $"SELECT * FROM {table};";
                using var r = q.ExecuteReader();
                while (r.Read())
                {
                    using var insert = dst.CreateCommand();
                    insert.CommandText = $"INSERT INTO {table} VALUES ({string.Join(",", Enumerable.Range(0, r.FieldCount).Select(i => "$p" + i))});";
                    for (var i = 0; i < r.FieldCount; i++)
                    {
                        insert.Parameters.AddWithValue("$p" + i, r.GetValue(i));
                    }

                    insert.ExecuteNonQuery();
                }
            }

            using (var version = src.CreateCommand())
            {
                version.CommandText = "PRAGMA user_version;";
                Run(dst, $"PRAGMA user_version = {version.ExecuteScalar()};");
            }

            Run(dst, "PRAGMA journal_mode = WAL;");
            using var encoding = dst.CreateCommand();
            encoding.CommandText = "PRAGMA encoding;";
            Assert.Equal("UTF-16le", encoding.ExecuteScalar());
        }

        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(index + suffix);
        }

        File.Move(copy, index);
    }

    private static string Describe(CheckpointInfo i) => $"{i.Step} {string.Join(",", i.Metadata.Select(m => $"{m.Key}={m.Value}"))}";

    [Fact]
    public void Every_listing_of_a_UTF16_index_shows_the_metadata_a_single_record_read_shows()
    {
        var ck = _dir.Sub("ck");
        using (var h = new CheckpointHandler())
        {
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1, metadata: new Dictionary<string, object?> { ["loss"] = 0.5, ["name"] = "é€😀" });
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 3 }, step: 3, metadata: new Dictionary<string, object?> { ["loss"] = 0.25 });
        }

        MakeUtf16(ck, _dir.Sub("copy"));
        using var handler = new CheckpointHandler();
        var single = new[] { 1L, 2L, 3L }.Select(s => Describe(handler.GetCheckpoint(ck, s))).ToList();
        Assert.Equal("1 loss=0.5,name=é€😀", single[0]);

        Assert.Equal(single, handler.ListCheckpoints(ck).Select(Describe));
        Assert.Equal(single, handler.ListFirstCheckpoints(ck, 3).Select(Describe));
        Assert.Equal(single[1..], handler.ListLastCheckpoints(ck, 2).Select(Describe));
    }
}
