using System.Collections;
using System.Globalization;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A step's item list row lives exactly as long as its step row (docs/format.md §3): removing and
/// pruning delete it, overwriting replaces it, and <c>steps.item_count</c> always matches the list.
/// </summary>
public sealed class ItemListLifecycleTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public ItemListLifecycleTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Remove_prune_and_overwrite_delete_or_replace_the_steps_item_list()
    {
        using var h = new CheckpointHandler();
        foreach (var step in new long[] { 1, 2, 3, 4 })
        {
            h.Save(_ck, new Hashtable { ["a"] = 1, ["b"] = "x" }, step: step);
        }

        Assert.Equal("1,2,3,4", ItemListSteps());

        h.Remove(_ck, 1);
        Assert.Equal("2,3,4", ItemListSteps());

        h.Prune(_ck, new RetentionPolicy { Keep = 2 });
        Assert.Equal("3,4", ItemListSteps());

        h.Save(_ck, new Hashtable { ["only"] = 2.5 }, step: 4, overwrite: true);
        Assert.Equal("3,4", ItemListSteps());
        Assert.Equal("only", Assert.Single(h.GetItems(_ck, 4)).Name);
        Assert.Equal(2, h.GetItems(_ck, 3).Count);
        Assert.Equal("3:2,4:1", Query("SELECT group_concat(step || ':' || item_count) FROM (SELECT step, item_count FROM steps ORDER BY step);"));
    }

    private string ItemListSteps() => Query("SELECT group_concat(step) FROM (SELECT step FROM step_items ORDER BY step);");

    private string Query(string sql)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_ck, "index.sqlite"), Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToString(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) ?? string.Empty;
    }
}
