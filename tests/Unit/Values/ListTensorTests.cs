using System.Collections;
using System.Text.Json.Nodes;
using DataraxCkpt.Tests.Format;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// Numeric lists stored as tensors (docs/format.md §6.5): a List&lt;T&gt; of a tensor dtype, and an object[],
/// ArrayList or List&lt;object&gt; of at least 16 boxed numbers of one type, are one tensor item each and come
/// back as the same container type with the same elements, bit for bit.
/// </summary>
public sealed class ListTensorTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private Dictionary<string, object?> SaveAndRestore(Dictionary<string, object?> state, long step = 1)
    {
        _handler.Save(_dir.Path, state, step: step);
        return (Dictionary<string, object?>)_handler.Restore(_dir.Path, step)!;
    }

    public static TheoryData<IList> NumericLists() => new()
    {
        new List<bool> { true, false, true },
        new List<sbyte> { sbyte.MinValue, 0, sbyte.MaxValue },
        new List<byte> { 0, 1, 255 },
        new List<short> { short.MinValue, short.MaxValue },
        new List<ushort> { 0, ushort.MaxValue },
        new List<int> { int.MinValue, -1, 0, int.MaxValue },
        new List<uint> { 0, uint.MaxValue },
        new List<long> { long.MinValue, long.MaxValue },
        new List<ulong> { 0, ulong.MaxValue },
        new List<Half> { Half.NaN, (Half)(-0.0f), Half.MaxValue },
        new List<float> { float.NaN, -0.0f, float.Epsilon, float.PositiveInfinity },
        new List<double> { BitConverter.UInt64BitsToDouble(0x7FF8000000000123), -0.0, double.MinValue, 1e-310 },
        new List<char> { 'a', '\uD800', '\uFFFF' },
        new List<double>(),
    };

    [Theory]
    [MemberData(nameof(NumericLists))]
    public void A_numeric_List_is_one_tensor_item_and_restores_as_the_same_List_bit_for_bit(IList list)
    {
        var back = SaveAndRestore(new Dictionary<string, object?> { ["xs"] = list });

        var restored = Assert.IsAssignableFrom<IList>(back["xs"]);
        Assert.Equal(list.GetType(), restored.GetType());
        Assert.Equal(list.Count, restored.Count);
        Assert.Equal(Bits(list), Bits(restored));
        var item = Assert.Single(_handler.GetItems(_dir.Path, 1));
        Assert.Equal("xs", item.Name);
        Assert.Equal("tensor", item.Kind);
        Assert.Equal([list.Count], item.Shape);
    }

    public static TheoryData<string, object> BoxedContainers() => new()
    {
        { "object[] of double", Enumerable.Range(0, 20).Select(i => (object)(i == 3 ? double.NaN : i == 4 ? -0.0 : i * 0.25)).ToArray() },
        { "object[] of int (1..1000)", Enumerable.Range(1, 1000).Select(i => (object)i).ToArray() },
        { "ArrayList of long", new ArrayList(Enumerable.Range(0, 16).Select(i => (object)(long.MinValue + i)).ToArray()) },
        { "List<object> of float", Enumerable.Range(0, 64).Select(i => (object)(i / 3f)).ToList() },
        { "List<object> of byte", Enumerable.Range(0, 300).Select(i => (object)(byte)i).ToList() },
    };

    [Theory]
    [MemberData(nameof(BoxedContainers))]
    public void A_container_of_boxed_numbers_of_one_type_restores_as_the_same_container_of_the_same_boxed_type(string what, object value)
    {
        var list = (IList)value;
        var back = SaveAndRestore(new Dictionary<string, object?> { ["xs"] = list });

        var restored = Assert.IsAssignableFrom<IList>(back["xs"]);
        Assert.True(list.GetType() == restored.GetType(), what);
        Assert.Equal(list.Count, restored.Count);
        for (var i = 0; i < list.Count; i++)
        {
            Assert.Equal(list[i]!.GetType(), restored[i]!.GetType());
            Assert.Equal(Bits(new object?[] { list[i] }), Bits(new object?[] { restored[i] }));
        }

        var item = Assert.Single(_handler.GetItems(_dir.Path, 1));
        Assert.Equal(("xs", "tensor"), (item.Name, item.Kind));
    }

    [Fact]
    public void Short_mixed_or_null_holding_boxed_lists_stay_element_by_element()
    {
        var shortList = Enumerable.Range(0, 15).Select(i => (object)i).ToArray();
        var mixed = Enumerable.Range(0, 20).Select(i => i == 5 ? (object)5L : i).ToArray();
        var withNull = Enumerable.Range(0, 20).Select(i => i == 5 ? null : (object)1.5).ToList();
        var strings = new ArrayList(Enumerable.Range(0, 20).Select(i => (object)i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());

        var back = SaveAndRestore(new Dictionary<string, object?> { ["short"] = shortList, ["mixed"] = mixed, ["nulls"] = withNull, ["strings"] = strings });

        var items = _handler.GetItems(_dir.Path, 1).Select(i => i.Name).ToHashSet();
        Assert.Contains("short/14", items);
        Assert.Contains("mixed/19", items);
        Assert.Contains("nulls/19", items);
        Assert.Contains("strings/19", items);
        Assert.DoesNotContain(_handler.GetItems(_dir.Path, 1), i => i.Kind == "tensor");
        Assert.Equal(5L, ((object[])back["mixed"]!)[5]);
        Assert.Null(((List<object?>)back["nulls"]!)[5]);
        Assert.Equal(shortList, (object[])back["short"]!);
        Assert.IsType<ArrayList>(back["strings"]);
    }

    [Fact]
    public void Only_a_step_with_a_list_tensor_requires_the_list_tensors_feature()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["w"] = new float[] { 1, 2 }, ["xs"] = new object[] { 1, "a" } }, step: 1);
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["xs"] = new List<int> { 1, 2 } }, step: 2);

        // Every step of the merged writer requires items-from-state; only step 2 also requires list-tensors.
        Assert.Equal("[\"items-from-state\"]", StepFiles.ReadManifest(_dir.Path, 1)["requires"]!.ToJsonString());
        var manifest = StepFiles.ReadManifest(_dir.Path, 2);
        Assert.Equal("[\"items-from-state\",\"list-tensors\"]", manifest["requires"]!.ToJsonString());
        var node = manifest["state"]!["e"]![0]![1]!;
        Assert.Equal("{\"t\":\"tensor\",\"ct\":\"list\\u003Ci32\\u003E\",\"i\":0}", node.ToJsonString());
    }

    [Fact]
    public void Only_the_committed_sample_step_4_requires_the_feature_and_it_stores_its_lists_as_tensors()
    {
        var samples = ConformanceSamples.SamplesDirectory();

        // After the merge the numeric-lists sample is step 5 (docs/format-samples/README.md); step 4, written
        // again by the merged writer, stores its List<i32> as a tensor and so requires list-tensors too.
        var manifest = StepFiles.ReadManifest(samples, 5);

        Assert.Equal("[\"items-from-state\",\"list-tensors\"]", StepFiles.ReadManifest(samples, 4)["requires"]!.ToJsonString());
        Assert.Equal("[\"items-from-state\",\"list-tensors\"]", manifest["requires"]!.ToJsonString());
        Assert.Equal(8, manifest["tensors"]!.AsArray().Count);
        Assert.All(new[] { 1L, 2L, 3L }, step => Assert.False(StepFiles.ReadManifest(samples, step).ContainsKey("requires")));
    }

    [Fact]
    public void A_reader_that_does_not_know_the_feature_refuses_the_step_rather_than_misread_it()
    {
        // What an older engine sees: a required feature it does not know (here a renamed one stands in for it).
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["xs"] = new List<int> { 1, 2 } }, step: 1);
        StepFiles.Plant(_dir.Path, 1, m => m["requires"] = new JsonArray("list-tensors-v2"));

        var e = Assert.Throws<UnsupportedFormatVersionException>(() => _handler.Restore(_dir.Path, 1));

        Assert.Equal(["list-tensors-v2"], e.UnknownFeatures);
    }

    [Fact]
    public void A_list_stored_element_by_element_by_an_older_writer_still_restores_with_its_old_item_names()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["xs"] = new List<int> { 1, 2 } }, step: 1);
        StepFiles.Plant(_dir.Path, 1, m =>
        {
            // The step as an engine before the feature wrote it: no tensor, one node and one item per element.
            m.Remove("requires");
            m["tensors"] = new JsonArray();
            m["items"] = JsonNode.Parse("[[\"xs/0\",\"scalar\",\"i32\",null,4,-1],[\"xs/1\",\"scalar\",\"i32\",null,4,-1]]");
            m["state"] = JsonNode.Parse("{\"t\":\"dict<str,any>\",\"e\":[[\"xs\",{\"t\":\"list<i32>\",\"i\":[{\"t\":\"i32\",\"v\":1},{\"t\":\"i32\",\"v\":2}]}]]}");
            m["size"] = 8;
        }, keepIndex: false);

        var back = (Dictionary<string, object?>)_handler.Restore(_dir.Path, 1)!;

        Assert.Equal(new List<int> { 1, 2 }, Assert.IsType<List<int>>(back["xs"]));
        Assert.Equal(["xs/0", "xs/1"], _handler.GetItems(_dir.Path, 1).Select(i => i.Name));
    }

    [Theory]
    [InlineData("{\"t\":\"tensor\",\"ct\":\"list<i32>\",\"i\":0}", "f64")]
    [InlineData("{\"t\":\"tensor\",\"ct\":\"any[]\",\"i\":1}", "rank 2")]
    public void A_list_container_that_does_not_fit_its_tensor_is_corrupt_naming_the_item(string node, string problem)
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["xs"] = new List<double> { 1, 2 }, ["m"] = new float[2, 2] }, step: 1);
        StepFiles.Plant(_dir.Path, 1, m => m["state"]!["e"]![0]![1] = JsonNode.Parse(node));

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(_dir.Path, 1));

        Assert.Equal("xs", e.Item);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.False(_handler.Verify(_dir.Path, 1).Ok);
    }

    [Fact]
    public void RestoreInto_fills_a_List_of_the_same_count_in_place()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["xs"] = new List<double> { 1.5, double.NaN, -0.0 }, ["n"] = 3 }, step: 1);
        var target = new List<double> { 0, 0, 0 };
        var template = new Dictionary<string, object?> { ["xs"] = target, ["n"] = 0 };

        _handler.RestoreInto(_dir.Path, template);

        Assert.Same(target, template["xs"]);
        Assert.Equal(Bits(new List<double> { 1.5, double.NaN, -0.0 }), Bits(target));
        Assert.Equal(3, template["n"]);
    }

    [Theory]
    [InlineData("count")]
    [InlineData("type")]
    public void RestoreInto_a_List_of_another_count_or_type_is_IncompatibleState_naming_the_item_and_writes_nothing(string differs)
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["w"] = new float[] { 1, 2 }, ["xs"] = new List<int> { 1, 2, 3 }, ["n"] = 3 }, step: 1);
        var w = new float[] { 9, 9 };
        IList target = differs == "count" ? new List<int> { 7, 7 } : new List<long> { 7, 7, 7 };
        var template = new Dictionary<string, object?> { ["w"] = w, ["xs"] = target, ["n"] = 0 };
        var before = target.Cast<object>().ToList();

        var error = Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, template));

        Assert.Equal("xs", error.Item);
        Assert.Equal("a i32 tensor of shape [3]", error.Expected);
        Assert.Equal(differs == "count" ? "a List<Int32> of 2 elements" : "a List<Int64> of 3 elements", error.Found);
        Assert.Equal([9f, 9f], w);
        Assert.Equal(before, target.Cast<object>().ToList());
        Assert.Equal(0, template["n"]);
    }

    [Fact]
    public void RestoreInto_replaces_the_elements_of_a_boxed_list_of_the_same_count_and_refuses_another_count()
    {
        var saved = Enumerable.Range(0, 20).Select(i => (object)(i * 1.5)).ToArray();
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["xs"] = saved }, step: 1);
        var target = new object[20];
        var template = new Dictionary<string, object?> { ["xs"] = target };

        _handler.RestoreInto(_dir.Path, template);

        Assert.Same(target, template["xs"]);
        Assert.Equal(saved, target);
        var tooShort = new ArrayList { 1, 2 };
        var error = Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, new Dictionary<string, object?> { ["xs"] = tooShort }));
        Assert.Equal("xs", error.Item);
        Assert.Equal("a list of 20 items", error.Expected);
        Assert.Equal([1, 2], tooShort.Cast<int>());
    }

    [Fact]
    public void A_list_tensor_is_selected_by_its_name_in_partial_restores_statistics_and_comparisons()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["xs"] = new List<double> { 1, 2, double.NaN }, ["ys"] = Enumerable.Range(0, 16).Select(i => (object)i).ToArray(), ["k"] = "x" }, step: 1);
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["xs"] = new List<double> { 1, 4, double.NaN }, ["ys"] = Enumerable.Range(0, 16).Select(i => (object)i).ToArray(), ["k"] = "x" }, step: 2);

        var part = _handler.Restore(_dir.Path, 1, ["xs"]);
        var stats = _handler.GetStatistics(_dir.Path, 1, ["xs"]).Single();
        var ys = _handler.GetStatistics(_dir.Path, 1, ["ys"]).Single();
        var differences = _handler.Compare(_dir.Path, 1, 2);
        var numeric = _handler.CompareNumeric(_dir.Path, 1, 2);

        var restored = Assert.IsType<List<double>>(Assert.IsAssignableFrom<IDictionary>(part)["xs"]);
        Assert.Equal(3, restored.Count);
        Assert.Equal(("xs", "f64", 3L, 1L, 1.0, 2.0), (stats.Item, stats.DType, stats.Count, stats.NaNCount, stats.Min, stats.Max));
        Assert.Equal(("i32", 16L, 15.0), (ys.DType, ys.Count, ys.Max));
        var changed = Assert.Single(differences);
        Assert.Equal(("xs", "Changed"), (changed.Name, changed.Change));
        Assert.True(double.IsNaN(changed.MaxAbsDifference!.Value), "as for an array, a NaN element makes the largest difference NaN");
        var xs = numeric.Single(d => d.Item == "xs");
        Assert.Equal((1L, 2.0), (xs.DifferentCount, xs.MaxAbsoluteDifference));
        Assert.Equal(0, numeric.Single(d => d.Item == "ys").DifferentCount);
    }

    [Fact]
    public void Two_references_to_one_numeric_list_are_stored_once_and_restore_as_one_list()
    {
        var shared = new List<float> { 1, 2, 3 };
        var back = SaveAndRestore(new Dictionary<string, object?> { ["a"] = shared, ["b"] = shared });

        Assert.Same(back["a"], back["b"]);
        Assert.Equal(12, _handler.GetCheckpoint(_dir.Path, 1).Size);
    }

    [Fact]
    public void A_list_shrunk_after_it_was_encoded_is_refused_rather_than_read_past_its_end()
    {
        var source = DataraxCkpt.Values.TensorSource.FromList(new List<int> { 1, 2, 3, 4 }, typeof(int), "list<i32>");
        var list = new List<int> { 1, 2, 3, 4 };
        var shrinking = DataraxCkpt.Values.TensorSource.FromList(list, typeof(int), "list<i32>");
        list.RemoveAt(3);

        Assert.Equal(16, source.Bytes(0, 16).Length);
        Assert.Throws<InvalidOperationException>(() => shrinking.Bytes(0, 16).ToArray());
    }

    [Fact]
    public void Metadata_lists_stay_element_by_element()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["x"] = 1 }, step: 1,
            metadata: new Dictionary<string, object?> { ["losses"] = new List<double> { 0.5, 0.25 } });

        Assert.Equal(new List<double> { 0.5, 0.25 }, _handler.RestoreMetadata(_dir.Path, 1)!["losses"]);
        Assert.Equal("[\"items-from-state\"]", StepFiles.ReadManifest(_dir.Path, 1)["requires"]!.ToJsonString());
    }

    /// <summary>Every element's exact bits (NaN payloads and −0.0 included) and its type.</summary>
    private static List<string> Bits(IList list)
    {
        var result = new List<string>();
        foreach (var v in list)
        {
            result.Add(v switch
            {
                double d => "f64:" + BitConverter.DoubleToUInt64Bits(d).ToString("x16", System.Globalization.CultureInfo.InvariantCulture),
                float f => "f32:" + BitConverter.SingleToUInt32Bits(f).ToString("x8", System.Globalization.CultureInfo.InvariantCulture),
                Half h => "f16:" + BitConverter.HalfToUInt16Bits(h).ToString("x4", System.Globalization.CultureInfo.InvariantCulture),
                _ => v!.GetType().Name + ":" + Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture),
            });
        }

        return result;
    }
}
