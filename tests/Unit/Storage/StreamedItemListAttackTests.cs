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
}
