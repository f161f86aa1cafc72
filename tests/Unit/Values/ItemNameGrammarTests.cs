using System.Collections;
using System.Collections.Specialized;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Values;

/// <summary>Item names are unique by construction (issue 10 item 6; docs/format.md §5).</summary>
public sealed class ItemNameGrammarTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private string Save(object state, long step = 0)
    {
        var dir = _dir.Sub("ck");
        _handler.Save(dir, state, step: step, overwrite: true);
        return dir;
    }

    private List<string> Names(string dir, long step = 0) => _handler.GetItems(dir, step).Select(i => i.Name).ToList();

    [Fact]
    public void An_empty_key_above_a_key_never_meets_the_same_key_at_the_top()
    {
        var dir = Save(new Dictionary<string, object?> { [""] = new Dictionary<string, object?> { ["x"] = 1 }, ["x"] = 2 });
        var names = Names(dir);
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(["~e/x", "x"], names);
        var partial = (OrderedDictionary)_handler.Restore(dir, 0, ["x"])!;
        Assert.Equal(2, Assert.Single(partial.Values.Cast<object>()));
        Assert.Equal(1, ((OrderedDictionary)_handler.Restore(dir, 0, ["~e/x"])!)["~e/x"]);
    }

    [Fact]
    public void An_integer_key_and_a_string_key_with_the_same_text_have_distinct_names()
    {
        var table = new Hashtable { [1] = "int", ["1"] = "string", [1L] = "long" };
        var dir = Save(new Dictionary<string, object?> { ["t"] = table });
        var names = Names(dir);
        Assert.Equal(3, names.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains("t/1", names);
        Assert.Contains("t/~i32:1", names);
        Assert.Contains("t/~i64:1", names);
        var all = (OrderedDictionary)_handler.Restore(dir, 0, ["t/*"])!;
        Assert.Equal("int", all["t/~i32:1"]);
        Assert.Equal("string", all["t/1"]);
        Assert.Equal("long", all["t/~i64:1"]);
    }

    [Fact]
    public void Integer_keys_of_a_typed_dictionary_stay_plain_decimals()
    {
        var dir = Save(new Dictionary<string, object?> { ["layers"] = new Dictionary<int, float[]> { [0] = [1f], [-1] = [2f] } });
        Assert.Equal(["layers/0", "layers/-1"], Names(dir));
    }

    [Fact]
    public void A_key_with_a_slash_and_a_nested_key_stay_apart()
    {
        var dir = Save(new Dictionary<string, object?> { ["a/b"] = 1, ["a"] = new Dictionary<string, object?> { ["b"] = 2 }, ["~1"] = 3 });
        Assert.Equal(["a~1b", "a/b", "~01"], Names(dir));
        Assert.Equal(2, ((OrderedDictionary)_handler.Restore(dir, 0, ["a/b"])!)["a/b"]);
        Assert.Equal(1, ((OrderedDictionary)_handler.Restore(dir, 0, ["a~1b"])!)["a~1b"]);
    }

    [Fact]
    public void Compare_reports_every_leaf_of_states_whose_names_used_to_collide()
    {
        var before = new Dictionary<string, object?> { [""] = new Dictionary<string, object?> { ["x"] = 1 }, ["x"] = 2, ["t"] = new Hashtable { [1] = 1, ["1"] = 1 } };
        var after = new Dictionary<string, object?> { [""] = new Dictionary<string, object?> { ["x"] = 1 }, ["x"] = 5, ["t"] = new Hashtable { [1] = 1, ["1"] = 7 } };
        var dir = Save(before, 0);
        _handler.Save(dir, after, step: 1);
        var changed = _handler.Compare(dir, 0, 1).Select(d => d.Name + ":" + d.Change).ToList();
        Assert.Equal(["t/1:Changed", "x:Changed"], changed);
    }

    [Fact]
    public void Ordinary_names_match_wildcards_as_before()
    {
        var dir = Save(new Dictionary<string, object?>
        {
            ["params"] = new Dictionary<string, object?> { ["dense"] = new Dictionary<string, object?> { ["kernel"] = new float[2], ["bias"] = new float[1] } },
            ["opt"] = new object?[] { 1, 2 },
        });
        Assert.Equal(["params/dense/kernel", "params/dense/bias", "opt/0", "opt/1"], Names(dir));
        var kernels = (OrderedDictionary)_handler.Restore(dir, 0, ["params/*/kernel"])!;
        Assert.Equal(["params/dense/kernel"], kernels.Keys.Cast<string>());
    }
}
