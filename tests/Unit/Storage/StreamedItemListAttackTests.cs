using System.Collections.Specialized;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// The attack on the streamed item-list commit (a zeroed row filled in place): the list a save writes
/// from its writer's buffer is, byte for byte, the list Repair-CheckpointIndex rebuilds from the step's
/// manifest, for names whose UTF-8 length differs from their UTF-16 length (non-ASCII, astral, lone
/// surrogates, escaped as ~xD800), empty and one-element arrays and many tensors.
/// </summary>
public sealed class StreamedItemListAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public StreamedItemListAttackTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private static OrderedDictionary State()
    {
        var state = new OrderedDictionary
        {
            ["é"] = new float[] { 1 },
            ["日本語/重み"] = new double[] { 1, 2, 3 },
            ["emoji😀"] = Array.Empty<int>(),
            ["lone\uD800surrogate"] = 3,
            ["trail\uDC00"] = new long[] { 5, 6 },
            ["plain"] = "text ü",
            [new string('ß', 300)] = 1.5,
        };
        for (var i = 0; i < 300; i++)
        {
            state["t" + i + "ø"] = new float[i % 5];
        }

        return state;
    }

    private byte[] RawList(long step)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_ck, "index.sqlite"), Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT items FROM step_items WHERE step = $s;";
        cmd.Parameters.AddWithValue("$s", step);
        return (byte[])cmd.ExecuteScalar()!;
    }

    [Fact]
    public void A_saved_list_is_byte_for_byte_the_list_repair_rebuilds_from_the_folder()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(), step: 7);
        var saved = RawList(7);
        var items = h.GetItems(_ck, 7).Select(i => (i.Name, i.Kind, i.DType, i.Size, i.StoredSize)).ToList();
        Assert.Contains(items, i => i.Name.Contains("~xD800", StringComparison.Ordinal));

        File.Delete(Path.Combine(_ck, "index.sqlite"));
        h.RepairIndex(_ck);

        Assert.Equal(saved, RawList(7));
        Assert.Equal(items, h.GetItems(_ck, 7).Select(i => (i.Name, i.Kind, i.DType, i.Size, i.StoredSize)).ToList());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void An_empty_a_one_item_and_a_null_state_commit_lists_that_read_back_and_match_repair(int kind)
    {
        using var h = new CheckpointHandler();
        object? state = kind switch
        {
            0 => new OrderedDictionary(),
            1 => new OrderedDictionary { ["only"] = new float[] { 7 } },
            _ => null,
        };
        h.Save(_ck, state, step: 3);
        var saved = RawList(3);
        var items = h.GetItems(_ck, 3).Select(i => (i.Name, i.Kind, i.DType, i.Size, i.StoredSize)).ToList();
        Assert.True(h.Verify(_ck, 3).Ok);

        File.Delete(Path.Combine(_ck, "index.sqlite"));
        h.RepairIndex(_ck);

        Assert.Equal(saved, RawList(3));
        Assert.Equal(items, h.GetItems(_ck, 3).Select(i => (i.Name, i.Kind, i.DType, i.Size, i.StoredSize)).ToList());
    }
}
