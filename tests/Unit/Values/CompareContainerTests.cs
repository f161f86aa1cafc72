using System.Collections;
using System.Collections.Specialized;
using System.Text;
using System.Text.Json.Nodes;
using DataraxCkpt.Tests.Format;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// Compare reports what a restore would give differently even where no leaf shows it: a container whose type or
/// key comparer changed, a path that is a container in one step and a leaf in the other, and an empty container
/// that appeared or went (it has no leaf). Identical steps of every container kind report nothing.
/// </summary>
public sealed class CompareContainerTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private IReadOnlyList<ItemDifference> Compare(object before, object after)
    {
        var ck = _dir.Sub(Guid.NewGuid().ToString("N"));
        _handler.Save(ck, before, step: 1);
        _handler.Save(ck, after, step: 2);
        return _handler.Compare(ck, 1, 2);
    }

    private static void AssertOnly(IReadOnlyList<ItemDifference> differences, string name, string change, string? before, string? after)
    {
        var d = Assert.Single(differences, x => x.Name == name);
        Assert.Equal((change, before, after), (d.Change, d.DTypeBefore, d.DTypeAfter));
        Assert.Null(d.MaxAbsDifference);
    }

    public static TheoryData<string, object, object, string, string> ContainerTypeChanges() => new()
    {
        { "hashtable to ordered", new Hashtable { ["a"] = 1 }, new OrderedDictionary { ["a"] = 1 }, "hashtable", "ordered" },
        { "ordered to hashtable", new OrderedDictionary { ["a"] = 1 }, new Hashtable { ["a"] = 1 }, "ordered", "hashtable" },
        {
            "case-insensitive hashtable to case-sensitive", new Hashtable(StringComparer.OrdinalIgnoreCase) { ["a"] = 1 }, new Hashtable { ["a"] = 1 },
            "hashtable[ordinal-ic]", "hashtable"
        },
        {
            "case-insensitive Dictionary to case-sensitive", new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase) { ["a"] = 1 },
            new Dictionary<string, int> { ["a"] = 1 }, "dict<str,i32>[ordinal-ic]", "dict<str,i32>"
        },
        { "List<string> to string[]", new List<string> { "x", "y" }, new[] { "x", "y" }, "list<str>", "str[]" },
        { "object[] to ArrayList", new object[] { "x", 1 }, new ArrayList { "x", 1 }, "any[]", "arraylist" },
        { "empty hashtable to empty list", new Hashtable(), new List<string>(), "hashtable", "list<str>" },
    };

    [Theory]
    [MemberData(nameof(ContainerTypeChanges))]
    public void A_container_whose_type_or_key_comparer_changed_with_equal_leaves_is_Changed_on_its_path(string what, object before, object after, string typeBefore, string typeAfter)
    {
        var differences = Compare(new Hashtable { ["c"] = before, ["x"] = 1 }, new Hashtable { ["c"] = after, ["x"] = 1 });

        Assert.True(differences.Count == 1, $"{what}: {string.Join(", ", differences.Select(d => $"{d.Name} {d.Change}"))}");
        AssertOnly(differences, "c", "Changed", typeBefore, typeAfter);
    }

    [Fact]
    public void A_dictionary_that_became_a_list_is_Changed_on_its_path_beside_its_leaves()
    {
        var differences = Compare(new Hashtable { ["c"] = new Hashtable { ["a"] = 1 } }, new Hashtable { ["c"] = new List<int> { 1, 2 }.Cast<object>().ToArray() });

        AssertOnly(differences, "c", "Changed", "hashtable", "any[]");
        Assert.Equal("Removed", Assert.Single(differences, d => d.Name == "c/a").Change);
        Assert.Equal(new[] { "Added", "Added" }, differences.Where(d => d.Name.StartsWith("c/", StringComparison.Ordinal) && d.Name != "c/a").Select(d => d.Change));
    }

    [Fact]
    public void The_state_itself_changing_container_type_is_Changed_on_the_root_path()
    {
        AssertOnly(Compare(new Hashtable { ["a"] = 1 }, new OrderedDictionary { ["a"] = 1 }), ".", "Changed", "hashtable", "ordered");
    }

    [Fact]
    public void An_empty_container_that_appears_or_goes_is_Added_or_Removed()
    {
        var without = new Hashtable { ["x"] = 1 };
        var with = new Hashtable { ["x"] = 1, ["e"] = new Hashtable(), ["l"] = new List<string>(), ["n"] = new Hashtable { ["inner"] = new StateObject() } };

        var added = Compare(without, with);
        Assert.Equal(new[] { "e", "l", "n/inner" }, added.Select(d => d.Name));
        AssertOnly(added, "e", "Added", null, "hashtable");
        AssertOnly(added, "l", "Added", null, "list<str>");
        AssertOnly(added, "n/inner", "Added", null, "psobject");

        var removed = Compare(with, without);
        Assert.Equal(new[] { "e", "l", "n/inner" }, removed.Select(d => d.Name));
        AssertOnly(removed, "e", "Removed", "hashtable", null);
    }

    [Fact]
    public void A_container_that_fills_or_empties_shows_in_its_leaves_only()
    {
        var differences = Compare(new Hashtable { ["c"] = new Hashtable() }, new Hashtable { ["c"] = new Hashtable { ["a"] = 1 } });

        var d = Assert.Single(differences);
        Assert.Equal(("c/a", "Added"), (d.Name, d.Change));
    }

    [Fact]
    public void A_leaf_that_became_a_container_or_back_is_one_Changed_entry_from_one_type_to_the_other()
    {
        AssertOnly(Compare(new Hashtable { ["c"] = 1 }, new Hashtable { ["c"] = new Hashtable() }), "c", "Changed", "i32", "hashtable");
        AssertOnly(Compare(new Hashtable { ["c"] = new List<string>() }, new Hashtable { ["c"] = "s" }), "c", "Changed", "list<str>", "str");

        var filled = Compare(new Hashtable { ["c"] = 1 }, new Hashtable { ["c"] = new Hashtable { ["a"] = 2 } });
        AssertOnly(filled, "c", "Changed", "i32", "hashtable");
        Assert.Equal("Added", Assert.Single(filled, d => d.Name == "c/a").Change);
    }

    /// <summary>Every container kind (docs/format.md §6.1), empty and filled, nested, built fresh on each call.</summary>
    private static Hashtable EveryContainerKind()
    {
        var ps = new StateObject();
        ps.Add("p", 1);
        return new Hashtable
        {
            ["hashtable"] = new Hashtable { ["a"] = 1, [2] = "two" },
            ["hashtable-ic"] = new Hashtable(StringComparer.OrdinalIgnoreCase) { ["a"] = 1 },
            ["ordered"] = new OrderedDictionary { ["b"] = 1, ["a"] = new OrderedDictionary() },
            ["ordered-ic"] = new OrderedDictionary(StringComparer.OrdinalIgnoreCase) { ["a"] = 1 },
            ["dict"] = new Dictionary<string, int> { ["a"] = 1 },
            ["dict-ic"] = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase) { ["a"] = 1 },
            ["dict-int"] = new Dictionary<int, string> { [1] = "a" },
            ["dict-any"] = new Dictionary<object, object?> { ["a"] = 1, [3L] = null },
            ["list-str"] = new List<string> { "x" },
            ["list-any"] = new List<object?> { "x", 1, null },
            ["str[]"] = new[] { "x", "y" },
            ["any[]"] = new object[] { "x", 1 },
            ["arraylist"] = new ArrayList { "x", new ArrayList() },
            ["psobject"] = ps,
            ["empty"] = new object[] { new Hashtable(), new OrderedDictionary(), new Dictionary<string, int>(), new List<string>(), Array.Empty<string>(), new ArrayList(), new StateObject() },
        };
    }

    [Fact]
    public void Identical_steps_of_every_container_kind_report_nothing()
    {
        var ck = _dir.Sub("same");
        _handler.Save(ck, EveryContainerKind(), step: 1);
        _handler.Save(ck, EveryContainerKind(), step: 2);

        Assert.Empty(_handler.Compare(ck, 1, 2));
        Assert.Empty(_handler.Compare(ck, 2, 1));
        Assert.Empty(_handler.Compare(ck, 1, 1));
    }

    private static void ToLegacy(string ck, long step, Action<JsonArray>? editItems = null)
    {
        var root = PlantedManifest.ToLegacy(PlantedManifest.ReadNode(ck, step));
        editItems?.Invoke((JsonArray)root["items"]!);
        PlantedManifest.PlantFile(ck, step, PlantedManifest.Frame(Encoding.UTF8.GetBytes(root.ToJsonString())));
    }

    private static void SwapNames(JsonArray items, int i, int j)
    {
        var a = items[i]![0]!.GetValue<string>();
        var b = items[j]![0]!.GetValue<string>();
        items[i]![0] = b;
        items[j]![0] = a;
    }

    [Fact]
    public void A_legacy_step_whose_items_list_swaps_two_names_against_the_state_node_is_corrupt_not_equal()
    {
        var ck = _dir.Sub("swap");
        _handler.Save(ck, new OrderedDictionary { ["a"] = 1, ["b"] = 2 }, step: 1);
        _handler.Save(ck, new OrderedDictionary { ["a"] = 2, ["b"] = 1 }, step: 2);
        ToLegacy(ck, 1);
        Assert.Equal(new[] { "a", "b" }, _handler.Compare(ck, 1, 2).Select(d => d.Name));

        // Read by the swapped list, step 2 would be a = 1, b = 2: equal to step 1, though it restores as a = 2, b = 1.
        ToLegacy(ck, 2, items => SwapNames(items, 0, 1));
        Assert.Equal(1, ((OrderedDictionary)_handler.Restore(ck, 2)!)["b"]);

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Compare(ck, 1, 2));
        Assert.Equal(2, e.Step);
        Assert.Contains("items list", e.Problem, StringComparison.Ordinal);

        // Test-Checkpoint, which the error points to, reports what Compare refuses (found by the attack on compare).
        Assert.True(_handler.Verify(ck, 1).Ok);
        Assert.Contains("items list", Assert.Single(_handler.Verify(ck, 2).Problems).Problem, StringComparison.Ordinal);
        Assert.Equal(2, Assert.Throws<CorruptCheckpointException>(() => _handler.Compare(ck, 2, 1)).Step);
    }

    [Fact]
    public void A_legacy_step_whose_items_list_has_another_length_than_its_leaves_is_corrupt()
    {
        var ck = _dir.Sub("count");
        _handler.Save(ck, new OrderedDictionary { ["a"] = 1, ["b"] = 2 }, step: 1);
        _handler.Save(ck, new OrderedDictionary { ["a"] = 1, ["b"] = 2 }, step: 2);
        ToLegacy(ck, 2, items => items.RemoveAt(1));

        Assert.Equal(2, Assert.Throws<CorruptCheckpointException>(() => _handler.Compare(ck, 1, 2)).Step);
        Assert.Contains("items list", Assert.Single(_handler.Verify(ck, 2).Problems).Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("b", 1, "\"tensor\"")] // kind
    [InlineData("b", 2, "\"i64\"")] // dtype
    [InlineData("t", 3, "[4]")] // shape
    [InlineData("t", 3, "null")] // a tensor listed without a shape
    [InlineData("t", 2, "\"f64\"")]
    public void A_legacy_step_whose_items_list_gives_a_leaf_another_kind_dtype_or_shape_than_its_state_node_is_corrupt_naming_the_leaf(
        string leaf, int field, string listed)
    {
        // Compare took the kind, dtype and shape of a legacy step's leaves from its items list, unchecked: a list that
        // said i64 for a leaf that restores as i32 made two equal steps differ (or, the other way round, hid a change).
        var ck = _dir.Sub("listed-" + field + "-" + leaf + listed.Length);
        var state = new OrderedDictionary { ["a"] = 1, ["b"] = 2, ["t"] = new float[] { 1, 2, 3 } };
        _handler.Save(ck, state, step: 1);
        _handler.Save(ck, state, step: 2);
        ToLegacy(ck, 1);
        Assert.Empty(_handler.Compare(ck, 1, 2));

        ToLegacy(ck, 2, items => items.Single(i => i![0]!.GetValue<string>() == leaf)![field] = JsonNode.Parse(listed));

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Compare(ck, 1, 2));
        Assert.Equal(2, e.Step);
        Assert.Contains("items list", e.Problem, StringComparison.Ordinal);
        Assert.Contains($"(item '{leaf}')", e.Problem, StringComparison.Ordinal);
        Assert.Equal(2, Assert.Throws<CorruptCheckpointException>(() => _handler.Compare(ck, 2, 1)).Step);

        // Test-Checkpoint, which the error points to, reports it too; the step still restores from its state node.
        Assert.True(_handler.Verify(ck, 1).Ok);
        var problem = Assert.Single(_handler.Verify(ck, 2).Problems).Problem;
        Assert.Contains("items list", problem, StringComparison.Ordinal);
        Assert.Contains($"(item '{leaf}')", problem, StringComparison.Ordinal);
        Assert.Null(StateComparer.FirstDifference(state, _handler.Restore(ck, 2)));
    }

    [Theory]
    [InlineData("a", "[]")] // a scalar listed with an empty shape instead of null
    [InlineData("s", "[]")] // a string likewise
    public void A_legacy_step_listing_an_empty_shape_for_no_shape_is_not_corrupt(string leaf, string listed)
    {
        // Compare holds an empty shape and no shape the same (LeafDifference's SameShape), so
        // a list giving one for the other cannot make Compare wrong: Verify (cron jobs alarm on it) must not call the step
        // corrupt, nor Compare refuse it (found by the attack on enginedebts).
        var ck = _dir.Sub("listed-empty-shape-" + leaf);
        var state = new OrderedDictionary { ["a"] = 1, ["s"] = "x", ["t"] = new float[] { 1, 2 } };
        _handler.Save(ck, state, step: 1);
        _handler.Save(ck, state, step: 2);
        ToLegacy(ck, 2, items => items.Single(i => i![0]!.GetValue<string>() == leaf)![3] = JsonNode.Parse(listed));

        Assert.True(_handler.Verify(ck, 2).Ok, string.Join("; ", _handler.Verify(ck, 2).Problems.Select(p => p.Problem)));
        Assert.Empty(_handler.Compare(ck, 1, 2));
        Assert.Empty(_handler.Compare(ck, 2, 1));
    }

    [Fact]
    public void A_legacy_step_listing_names_of_the_grammar_before_today_compares_by_those_names()
    {
        // The grammar before §6.3 named the integer key 1 of a hashtable "1" (today "~i32:1") and the empty key "." at the top.
        var ck = _dir.Sub("old-names");
        _handler.Save(ck, new Hashtable { [1] = 5 }, step: 1);
        _handler.Save(ck, new Hashtable { [1] = 6 }, step: 2);
        _handler.Save(ck, new Hashtable { [""] = 7 }, step: 3);
        foreach (var step in new[] { 1L, 2L })
        {
            ToLegacy(ck, step, items => items[0]![0] = "1");
        }

        ToLegacy(ck, 3, items => items[0]![0] = ".");

        Assert.Empty(_handler.Compare(ck, 1, 1));
        Assert.Empty(_handler.Compare(ck, 3, 3));
        var d = Assert.Single(_handler.Compare(ck, 1, 2));
        Assert.Equal(("1", "Changed", 1.0), (d.Name, d.Change, d.MaxAbsDifference));
    }

    [Fact]
    public void The_committed_legacy_conformance_steps_compare_equal_to_themselves()
    {
        var target = _dir.Sub("corpus");
        foreach (var folder in Directory.GetDirectories(ConformanceSamples.SamplesDirectory()))
        {
            var name = Path.GetFileName(folder);
            Directory.CreateDirectory(Path.Combine(target, name));
            foreach (var file in Directory.GetFiles(folder))
            {
                File.Copy(file, Path.Combine(target, name, Path.GetFileName(file)));
            }
        }

        foreach (var step in new[] { 1L, 2L, 3L, 4L, 5L })
        {
            Assert.Empty(_handler.Compare(target, step, step));
        }
    }
}
