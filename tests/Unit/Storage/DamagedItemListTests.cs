using System.Collections.Specialized;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A step's item list that is cut, garbled, missing or disagrees with the step's item count is index
/// damage: listing the step's items reports it as a corrupt index (never a crash, never other items), the
/// other steps still read, and Repair-CheckpointIndex rebuilds the index from the step folders.
/// </summary>
public sealed class DamagedItemListTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public DamagedItemListTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("UPDATE step_items SET items = substr(items, 1, length(items) - 1) WHERE step = 2;")]
    [InlineData("UPDATE step_items SET items = substr(items, 1, 5) WHERE step = 2;")]
    [InlineData("UPDATE step_items SET items = zeroblob(0) WHERE step = 2;")]
    [InlineData("UPDATE step_items SET items = randomblob(length(items)) WHERE step = 2;")]
    [InlineData("UPDATE step_items SET items = substr(items, 1, 20) || x'ff' || substr(items, 22) WHERE step = 2;")]
    // A row whose zeroed blob was never filled, or filled only in part (the streamed commit's failure modes).
    [InlineData("UPDATE step_items SET items = zeroblob(length(items)) WHERE step = 2;")]
    [InlineData("UPDATE step_items SET items = substr(items, 1, 40) || zeroblob(length(items) - 40) WHERE step = 2;")]
    [InlineData("UPDATE step_items SET items = substr(items, 1, length(items) - 8) || zeroblob(8) WHERE step = 2;")]
    [InlineData("UPDATE step_items SET items = 'not a blob' WHERE step = 2;")]
    [InlineData("DELETE FROM step_items WHERE step = 2;")]
    [InlineData("UPDATE step_items SET items = (SELECT items FROM step_items WHERE step = 1) WHERE step = 2;")]
    [InlineData("UPDATE steps SET item_count = item_count + 1 WHERE step = 2;")]
    public void A_damaged_item_list_is_reported_as_index_damage_and_repair_rebuilds_it(string damage)
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(0), step: 1);
        h.Save(_ck, State(1), step: 2);
        var before = Describe(h.GetItems(_ck, 2));
        Execute(damage);

        var e = Assert.Throws<CorruptCheckpointException>(() => h.GetItems(_ck, 2));
        Assert.Contains("index", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, h.GetItems(_ck, 1).Count);

        h.RepairIndex(_ck);
        Assert.NotEmpty(Directory.GetFiles(_ck, "index.sqlite.damaged-*"));
        Assert.Equal(before, Describe(h.GetItems(_ck, 2)));
        Assert.Equal([1L, 2], h.ListCheckpoints(_ck).Select(c => c.Step));
    }

    private static OrderedDictionary State(int extra)
    {
        var state = new OrderedDictionary { ["w"] = new float[] { 1, 2, 3 }, ["lr"] = 0.5, ["name"] = "run" };
        for (var i = 0; i < extra * 40; i++)
        {
            state["k" + i] = i;
        }

        return state;
    }

    private static List<(string, string, string?, string, long, long)> Describe(IEnumerable<CheckpointItemInfo> items) =>
        items.Select(i => (i.Name, i.Kind, i.DType, i.Shape is null ? "-" : string.Join(",", i.Shape), i.Size, i.StoredSize)).ToList();

    private void Execute(string sql)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_ck, "index.sqlite"), Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        Assert.Equal(1, cmd.ExecuteNonQuery());
    }
}
