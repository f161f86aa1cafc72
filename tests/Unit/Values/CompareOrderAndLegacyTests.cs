using System.Collections;
using System.Collections.Specialized;
using System.Text;
using System.Text.Json.Nodes;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// Compare reports two steps that restore differently though every leaf matches by name: an ordered container
/// (an <c>[ordered]</c> dictionary, a <c>psobject</c>) whose children came in another order, and a step written
/// before today's item names whose leaf names do not show its containers (the top-level empty key was named
/// <c>.</c> like the state itself; the leaves under an empty key were named as if the key were not there).
/// </summary>
public sealed class CompareOrderAndLegacyTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private string Saved(params object[] states)
    {
        var ck = _dir.Sub(Guid.NewGuid().ToString("N"));
        for (var i = 0; i < states.Length; i++)
        {
            _handler.Save(ck, states[i], step: i + 1);
        }

        return ck;
    }

    private static string Describe(IEnumerable<ItemDifference> differences) =>
        string.Join(", ", differences.Select(d => $"{d.Name} {d.Change} {d.DTypeBefore}->{d.DTypeAfter}"));

    private static StateObject Object(params (string Name, object? Value)[] properties)
    {
        var o = new StateObject();
        foreach (var (name, value) in properties)
        {
            o.Add(name, value);
        }

        return o;
    }

    [Fact]
    public void An_ordered_dictionary_whose_keys_came_in_another_order_is_Changed_on_its_path()
    {
        var ck = Saved(
            new Hashtable { ["o"] = new OrderedDictionary { ["a"] = 1, ["b"] = 2 } },
            new Hashtable { ["o"] = new OrderedDictionary { ["b"] = 2, ["a"] = 1 } });
        Assert.NotEqual(((OrderedDictionary)((Hashtable)_handler.Restore(ck, 1)!)["o"]!).Keys.Cast<object>(), ((OrderedDictionary)((Hashtable)_handler.Restore(ck, 2)!)["o"]!).Keys.Cast<object>());

        var differences = _handler.Compare(ck, 1, 2);

        var d = Assert.Single(differences);
        Assert.Equal(("o", "Changed", "ordered", "ordered"), (d.Name, d.Change, d.DTypeBefore, d.DTypeAfter));
        Assert.Equal("o", Assert.Single(_handler.Compare(ck, 2, 1)).Name);
    }

    [Fact]
    public void The_state_as_an_ordered_dictionary_or_psobject_reordered_is_Changed_on_the_root_path()
    {
        var ck = Saved(
            new OrderedDictionary { { 1, "x" }, { "1", "y" } },
            new OrderedDictionary { { "1", "y" }, { 1, "x" } },
            Object(("p", 1), ("q", 2)),
            Object(("q", 2), ("p", 1)));

        Assert.Equal(".", Assert.Single(_handler.Compare(ck, 1, 2)).Name);
        var d = Assert.Single(_handler.Compare(ck, 3, 4));
        Assert.Equal((".", "Changed", "psobject", "psobject"), (d.Name, d.Change, d.DTypeBefore, d.DTypeAfter));
    }

    [Fact]
    public void An_ordered_container_keeping_the_order_of_its_common_keys_shows_only_the_keys_that_came_or_went()
    {
        var ck = Saved(
            new OrderedDictionary { ["a"] = 1, ["b"] = 2, ["c"] = 3 },
            new OrderedDictionary { ["a"] = 1, ["c"] = 3, ["d"] = 4 },
            Object(("p", 1), ("q", 2)),
            Object(("p", 1), ("q", 2)));

        Assert.Equal("b Removed, d Added", string.Join(", ", _handler.Compare(ck, 1, 2).Select(d => $"{d.Name} {d.Change}")));
        Assert.Empty(_handler.Compare(ck, 3, 4));
    }

    [Fact]
    public void A_generic_dictionary_whose_keys_came_in_another_order_is_Changed_on_its_path_as_its_restore_enumerates_them()
    {
        // A Dictionary<K,V> restores its entries in stored order, which its enumeration (and PowerShell's display) shows.
        var ck = Saved(
            new Hashtable { ["d"] = new Dictionary<string, int> { ["a"] = 1, ["b"] = 2 }, ["k"] = new Dictionary<int, string> { [1] = "x", [2] = "y" } },
            new Hashtable { ["d"] = new Dictionary<string, int> { ["b"] = 2, ["a"] = 1 }, ["k"] = new Dictionary<int, string> { [1] = "x", [2] = "y" } },
            new Hashtable { ["d"] = new Dictionary<string, int> { ["b"] = 2, ["a"] = 1 }, ["k"] = new Dictionary<int, string> { [2] = "y", [1] = "x" } });
        Assert.Equal(new[] { "a", "b" }, ((Dictionary<string, int>)((Hashtable)_handler.Restore(ck, 1)!)["d"]!).Keys);
        Assert.Equal(new[] { "b", "a" }, ((Dictionary<string, int>)((Hashtable)_handler.Restore(ck, 2)!)["d"]!).Keys);

        var d = Assert.Single(_handler.Compare(ck, 1, 2));
        Assert.Equal(("d", "Changed", "dict<str,i32>", "dict<str,i32>"), (d.Name, d.Change, d.DTypeBefore, d.DTypeAfter));
        Assert.Equal("k", Assert.Single(_handler.Compare(ck, 2, 3)).Name);
        Assert.Empty(_handler.Compare(ck, 2, 2));
    }

    [Fact]
    public void A_generic_dictionary_as_the_state_reordered_is_Changed_on_the_root_path_and_one_in_the_same_order_is_equal()
    {
        var ck = Saved(
            new Dictionary<string, object?> { ["x"] = 1, ["y"] = 2 },
            new Dictionary<string, object?> { ["y"] = 2, ["x"] = 1 },
            new Dictionary<string, object?> { ["y"] = 2, ["x"] = 1 });

        Assert.Equal(".", Assert.Single(_handler.Compare(ck, 1, 2)).Name);
        Assert.Empty(_handler.Compare(ck, 2, 3));
    }

    [Fact]
    public void A_hashtable_has_no_order_to_compare()
    {
        var ck = Saved(new Hashtable { ["a"] = 1, ["b"] = 2, ["c"] = 3 }, new Hashtable { ["c"] = 3, ["b"] = 2, ["a"] = 1 });

        Assert.Empty(_handler.Compare(ck, 1, 2));
    }

    private static void ToLegacy(string ck, long step, Action<JsonArray> editItems)
    {
        var root = PlantedManifest.ToLegacy(PlantedManifest.ReadNode(ck, step));
        editItems((JsonArray)root["items"]!);
        PlantedManifest.PlantFile(ck, step, PlantedManifest.Frame(Encoding.UTF8.GetBytes(root.ToJsonString())));
    }

    [Fact]
    public void A_legacy_state_under_the_top_level_empty_key_is_not_equal_to_the_same_value_as_the_state_itself()
    {
        // The grammar before §6.3 named the leaf of @{ '' = 7 } '.', the name of a state that is the leaf 7 itself.
        var ck = Saved(new Hashtable { [""] = 7 }, 7);
        ToLegacy(ck, 1, items => items[0]![0] = ".");
        Assert.IsType<Hashtable>(_handler.Restore(ck, 1));
        Assert.IsType<int>(_handler.Restore(ck, 2));

        var d = Assert.Single(_handler.Compare(ck, 1, 2));
        Assert.Equal((".", "Changed", "hashtable", "i32"), (d.Name, d.Change, d.DTypeBefore, d.DTypeAfter));
        d = Assert.Single(_handler.Compare(ck, 2, 1));
        Assert.Equal((".", "Changed", "i32", "hashtable"), (d.Name, d.Change, d.DTypeBefore, d.DTypeAfter));
        Assert.Empty(_handler.Compare(ck, 1, 1));
    }

    [Fact]
    public void A_legacy_dictionary_under_an_empty_key_is_not_equal_to_its_entries_one_level_up()
    {
        // The grammar before §6.3 named the leaf of @{ '' = @{ x = 1 } } 'x', as today names the leaf of @{ x = 1 }.
        var ck = Saved(new Hashtable { [""] = new Hashtable { ["x"] = 1 } }, new Hashtable { ["x"] = 1 });
        ToLegacy(ck, 1, items => items[0]![0] = "x");
        Assert.IsType<Hashtable>(((Hashtable)_handler.Restore(ck, 1)!)[""]);

        var differences = _handler.Compare(ck, 1, 2);

        Assert.True(differences.Count == 1, Describe(differences));
        var d = differences[0];
        Assert.Equal(("~e", "Removed", "hashtable", null), (d.Name, d.Change, d.DTypeBefore, d.DTypeAfter));
        Assert.Equal(("~e", "Added"), (Assert.Single(_handler.Compare(ck, 2, 1)).Name, Assert.Single(_handler.Compare(ck, 2, 1)).Change));
        Assert.Empty(_handler.Compare(ck, 1, 1));
    }
}
