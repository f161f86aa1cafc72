using System.Collections;
using System.Collections.Specialized;
using System.Numerics;
using DataraxCkpt.Format;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// The index's item list is written by the state encoder during its walk (no record per leaf), with each
/// tensor's stored size added once the data file is written. It must be, byte for byte, the list the
/// index got before: <see cref="ItemListCodec.Encode"/> of the items a reader derives from the step.
/// </summary>
public sealed class WalkItemListTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    /// <summary>Every kind of leaf: scalars of each code, strings, null, keys, tensors, list tensors, nesting, odd keys.</summary>
    private static Hashtable EveryValueType()
    {
        var tied = new double[] { 1, 2, 3 };
        var ps = new StateObject();
        ps.Add("a/b~c", 1);
        ps.Add("x\uD800y", "lone \uDC00 surrogate");
        var ordered = new OrderedDictionary { ["z"] = 1, ["a"] = new List<double> { 0.5, 1.5 } };
        return new Hashtable
        {
            ["i32"] = 1,
            ["i64"] = long.MinValue,
            ["u8"] = (byte)7,
            ["f32"] = 1.5f,
            ["f64"] = double.NaN,
            ["f16"] = (Half)2,
            ["dec"] = 1.25m,
            ["big"] = BigInteger.Pow(7, 90),
            ["bool"] = true,
            ["char"] = 'q',
            ["guid"] = Guid.NewGuid(),
            ["date"] = new DateTime(2026, 12, 1, 5, 0, 0, DateTimeKind.Utc),
            ["dto"] = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromHours(-3)),
            ["span"] = TimeSpan.FromSeconds(3),
            ["text"] = "ünïcödé 名前 🙂",
            ["lone"] = "\uD800",
            ["null"] = null,
            ["key"] = new PrngKey(PrngKey.Threefry2x32Impl, [1u, 2u]),
            ["keys"] = new PrngKey?[] { new(PrngKey.Threefry2x32Impl, [3u, 4u]), null },
            ["tensor"] = new float[2, 3],
            ["big_tensor"] = Enumerable.Range(0, 300_000).Select(i => (double)i).ToArray(),
            ["tied_a"] = tied,
            ["tied_b"] = tied,
            ["list_tensor"] = Enumerable.Range(0, 40).Select(i => i * 0.25).ToList(),
            ["boxed_tensor"] = Enumerable.Range(0, 40).Select(i => (object)i).ToArray(),
            ["short_boxed"] = new object?[] { 1, "two", null, 3.0 },
            ["arraylist"] = new ArrayList { 1, "x" },
            ["nested"] = new Hashtable { ["a/b"] = new Hashtable { ["~"] = 1, [string.Empty] = "empty key", [3] = 3L, ["3"] = 4 } },
            ["int_keys"] = new Dictionary<int, string?> { [-1] = "minus", [2] = null },
            ["ordered"] = ordered,
            ["ps"] = ps,
            ["empty"] = new Hashtable(),
            ["x.y/z~w"] = "escaped",
        };
    }

    public static TheoryData<string> States => new() { "every_type", "root_scalar", "root_tensor", "root_null", "empty_root", "configs" };

    private static object? StateOf(string label) => label switch
    {
        "every_type" => EveryValueType(),
        "root_scalar" => 42,
        "root_tensor" => new int[] { 1, 2 },
        "root_null" => null,
        "configs" => Configs(),
        _ => new Hashtable(),
    };

    private static Hashtable Configs()
    {
        var configs = new Hashtable();
        for (var i = 0; i < 50; i++)
        {
            configs["c" + i] = new Hashtable { ["name"] = "run-" + i, ["lr"] = 0.001 * i, ["tags"] = new object?[] { "a", "b", "c" }, ["enabled"] = i % 2 == 0 };
        }

        return configs;
    }

    [Theory]
    [MemberData(nameof(States))]
    public void The_list_written_during_the_walk_is_byte_for_byte_the_list_encoded_from_the_steps_derived_items(string label)
    {
        var state = StateOf(label);
        var dir = _dir.Sub(label);
        _handler.Save(dir, state, step: 1);
        var json = PlantedManifest.ReadJson(dir, 1);
        var data = new FileInfo(Path.Combine(PlantedManifest.Folder(dir, 1), StepFormat.DataFile)).Length;
        using var manifest = ManifestCodec.Parse(json, data);
        long StoredOf(int tensor) => manifest.Tensors[tensor].StoredLength;

        var derived = manifest.Items;
        var expected = ItemListCodec.Encode(derived, item => item.TensorIndex >= 0 ? StoredOf(item.TensorIndex) : 0);
        var encoded = StateEncoder.Encode(state, null);
        Assert.Equal(derived.Count, encoded.ItemCount);
        Assert.Equal(expected, encoded.ItemList.ToArray(StoredOf));

        // What the index answers is that list: every field of every item, stored sizes included.
        var listed = _handler.GetItems(dir, 1);
        Assert.Equal(derived.Count, listed.Count);
        for (var i = 0; i < derived.Count; i++)
        {
            Assert.Equal(derived[i].Name, listed[i].Name);
            Assert.Equal(derived[i].Kind, listed[i].Kind);
            Assert.Equal(derived[i].DType, listed[i].DType);
            Assert.Equal(derived[i].Shape, listed[i].Shape);
            Assert.Equal(derived[i].Size, listed[i].Size);
            Assert.Equal(derived[i].TensorIndex >= 0 ? StoredOf(derived[i].TensorIndex) : 0, listed[i].StoredSize);
        }
    }

    [Fact]
    public void The_records_decoded_from_the_walks_list_carry_each_tensor_items_own_tensor_index()
    {
        var items = StateEncoder.Encode(EveryValueType(), null).Items;

        var tied = items.Where(i => i.Name is "tied_a" or "tied_b").Select(i => i.TensorIndex).Distinct().ToList();
        Assert.Single(tied);
        Assert.True(tied[0] >= 0);
        Assert.All(items.Where(i => i.Kind != "tensor"), i => Assert.Equal(-1, i.TensorIndex));
        Assert.Equal(6, items.Where(i => i.Kind == "tensor").Select(i => i.TensorIndex).Distinct().Count());
    }

    [Fact]
    public void A_list_with_tensor_items_refuses_to_finish_without_their_stored_sizes()
    {
        var encoded = StateEncoder.Encode(new Hashtable { ["w"] = new float[3] }, null);

        Assert.Throws<InvalidOperationException>(() => encoded.ItemList.ToArray());
        Assert.Equal(1, encoded.ItemCount);
    }

    [Fact]
    public void A_save_refused_mid_walk_leaves_no_step_and_no_index_rows_and_the_next_save_lists_only_its_own_items()
    {
        var dir = _dir.Sub("refused");
        var state = new OrderedDictionary();
        for (var i = 0; i < 1000; i++)
        {
            state["k" + i] = i;
        }

        state["bad"] = new Stack<int>();
        Assert.Throws<UnsupportedValueException>(() => _handler.Save(dir, state, step: 1));
        Assert.Empty(_handler.GetCheckpointSteps(dir));

        state.Remove("bad");
        _handler.Save(dir, new Hashtable { ["only"] = 1 }, step: 1);
        var listed = Assert.Single(_handler.GetItems(dir, 1));
        Assert.Equal("only", listed.Name);
        Assert.Equal(1000, _handler.GetItems(dir, _handler.Save(dir, state, step: 2).Step).Count);
    }
}
