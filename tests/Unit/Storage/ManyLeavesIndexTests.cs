using System.Collections;
using System.Collections.Specialized;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// The index's item rows of a state of many small leaves (issue 15): written and read in batches, they
/// list every leaf in order, across batch boundaries, and partial restores still find each leaf.
/// </summary>
public sealed class ManyLeavesIndexTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void GetItems_lists_every_leaf_of_a_100000_leaf_state_in_order_and_partial_restores_find_leaves_past_the_first_batch()
    {
        var state = new OrderedDictionary();
        for (var i = 0; i < 100_000; i++)
        {
            state["k" + i] = i;
        }

        state["w"] = new float[] { 1, 2, 3 };
        using var handler = new CheckpointHandler();
        var dir = _dir.Sub("ck");
        handler.Save(dir, state, step: 3);

        var items = handler.GetItems(dir, 3);
        Assert.Equal(100_001, items.Count);
        for (var i = 0; i < 100_000; i += 9_973)
        {
            Assert.Equal("k" + i, items[i].Name);
            Assert.Equal("scalar", items[i].Kind);
            Assert.Equal("i32", items[i].DType);
            Assert.Null(items[i].Shape);
            Assert.Equal(4, items[i].Size);
            Assert.Equal(0, items[i].StoredSize);
        }

        Assert.Equal("k49999", items[49_999].Name);
        Assert.Equal("k50000", items[50_000].Name);
        var tensor = items[^1];
        Assert.Equal(("w", "tensor", "f32", 12L), (tensor.Name, tensor.Kind, tensor.DType, tensor.Size));
        Assert.Equal([3L], tensor.Shape);
        Assert.True(tensor.StoredSize > 0);

        var part = (OrderedDictionary)handler.Restore(dir, 3, ["k99999", "k50000", "w"])!;
        Assert.Equal(99_999, part["k99999"]);
        Assert.Equal(50_000, part["k50000"]);
        Assert.Equal(new float[] { 1, 2, 3 }, part["w"]);
        Assert.Equal(3, part.Count);
    }

    [Fact]
    public void A_step_without_leaves_lists_no_items()
    {
        using var handler = new CheckpointHandler();
        var dir = _dir.Sub("ck");
        handler.Save(dir, new Hashtable(), step: 0);
        Assert.Empty(handler.GetItems(dir, 0));
    }

    [Fact]
    public void Item_names_that_UTF8_cannot_carry_read_back_exactly()
    {
        // Steps written before today's name grammar may list a name with a lone surrogate; an index
        // rebuild commits such names. The item list keeps them as UTF-16 (a row per leaf turned them into U+FFFD).
        Directory.CreateDirectory(_dir.Sub("ix"));
        using var index = StepIndex.Open(_dir.Sub("ix"), create: true, upgrade: true);
        var row = new StepRow(7, new string('a', 32), DateTimeOffset.UnixEpoch, 8, 100, 2, "{}", new string('0', 16), Pinned: false);
        index.CommitStep(row, [new StoredItem("a\ud800", "scalar", "i32", null, 4, -1), new StoredItem("b", "tensor", "f32", [1], 4, 0)],
            item => item.TensorIndex >= 0 ? 42 : 0, intentToClear: null);

        var items = index.Items(7);
        Assert.Equal(["a\ud800", "b"], items.Select(i => i.Name));
        Assert.Equal(42, items[1].StoredSize);
        Assert.Equal([1L], items[1].Shape);
    }
}
