using System.Collections;
using System.Numerics;
using System.Text.Json.Nodes;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The <c>items-from-state</c> feature (docs/format.md §4): new steps list no per-leaf <c>items</c>; a
/// reader derives them from the state node and gets exactly the items the encoder recorded, while steps
/// that list their items (every step written before the feature) read as before.
/// </summary>
public sealed class ItemsFromStateTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    /// <summary>A state of every derivation edge case: empty containers, shared tensors, null, keys, odd names.</summary>
    private static Dictionary<string, object?> EdgeCases()
    {
        var tied = new float[] { 1, 2, 3 };
        var ps = new StateObject();
        ps.Add("a/b~c", 1);
        ps.Add("x\uD800y", "lone \uDC00 surrogate");
        ps.Add(string.Empty, null);
        return new Dictionary<string, object?>
        {
            ["null"] = null,
            ["empty_dict"] = new Dictionary<string, object?>(),
            ["empty_list"] = new List<int>(),
            ["empty_psobject"] = new StateObject(),
            ["embed"] = tied,
            ["head"] = new Hashtable { ["w"] = tied, [1] = 2L, ["1"] = (byte)3 },
            ["int_keys"] = new Dictionary<long, string?> { [-5] = "minus five", [7] = null },
            ["key"] = new PrngKey(PrngKey.Threefry2x32Impl, [1u, 2u]),
            ["keys"] = new PrngKey?[] { new(PrngKey.Threefry2x32Impl, [3u, 4u]), null },
            ["big"] = BigInteger.Pow(3, 200),
            ["dto"] = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromHours(2)),
            ["dec"] = 1.5m,
            ["nullable"] = new List<int?> { 1, null },
            ["psobject"] = ps,
            ["empty_tensor"] = new double[0, 4],
            ["any"] = new object?[] { "s", 'c', (Half)1, Guid.Empty, TimeSpan.Zero, new ArrayList { 1.0f } },
        };
    }

    private static string Describe(StoredItem i) =>
        $"{i.Name}|{i.Kind}|{i.DType}|{(i.Shape is null ? "null" : string.Join(",", i.Shape))}|{i.Size}|{i.TensorIndex}";

    private static StepManifest Parse(string dir, long step)
    {
        var json = PlantedManifest.ReadJson(dir, step);
        var data = new FileInfo(Path.Combine(dir, step.ToString(System.Globalization.CultureInfo.InvariantCulture), StepFormat.DataFile)).Length;
        return ManifestCodec.Parse(json, data);
    }

    [Theory]
    [MemberData(nameof(States))]
    public void A_new_step_lists_no_items_and_derives_exactly_the_items_the_encoder_recorded(string label)
    {
        var state = StateOf(label);
        var dir = _dir.Sub(label);
        _handler.Save(dir, state, step: 1);

        var node = PlantedManifest.ReadNode(dir, 1);
        Assert.Null(node["items"]);
        // The edge state holds a List<int>, which the merged writer stores as a tensor (list-tensors).
        var requires = node["requires"]!.AsArray().Select(f => f!.GetValue<string>()).ToList();
        Assert.Equal("items-from-state", requires[0]);
        Assert.Equal(label == "edge" ? ["items-from-state", "list-tensors"] : ["items-from-state"], requires);
        var recorded = StateEncoder.Encode(state, null).Items.Select(Describe).ToList();
        using var manifest = Parse(dir, 1);
        Assert.Equal(recorded, manifest.Items.Select(Describe).ToList());
        Assert.Equal(recorded.Select(r => r.Split('|')[0]), _handler.GetItems(dir, 1).Select(i => i.Name));
    }

    public static TheoryData<string> States => new() { "edge", "root_scalar", "root_tensor", "root_null", "empty_root" };

    private static object? StateOf(string label) => label switch
    {
        "edge" => EdgeCases(),
        "root_scalar" => 42,
        "root_tensor" => new int[] { 1, 2 },
        "root_null" => null,
        _ => new Hashtable(),
    };

    [Fact]
    public void The_same_step_written_the_old_way_lists_the_same_items_and_restores_the_same_values()
    {
        var state = EdgeCases();
        var dir = _dir.Sub("legacy");
        _handler.Save(dir, state, step: 1);
        var newItems = _handler.GetItems(dir, 1).Select(i => (i.Name, i.Kind, i.DType, i.Size, i.StoredSize)).ToList();

        var node = PlantedManifest.ToLegacy(PlantedManifest.ReadNode(dir, 1));
        Assert.Null(node["requires"]);
        Assert.Equal(newItems.Count, node["items"]!.AsArray().Count);
        StepFiles.WriteManifest(dir, 1, node, keepIndex: false);

        Assert.Equal(newItems, _handler.GetItems(dir, 1).Select(i => (i.Name, i.Kind, i.DType, i.Size, i.StoredSize)).ToList());
        Assert.Equal(ConformanceSamples.Canonical(state).ToJsonString(), ConformanceSamples.Canonical(_handler.Restore(dir, 1)).ToJsonString());
        Assert.True(_handler.Verify(dir, 1).Ok);
        Assert.Equal(newItems.Count, _handler.Verify(dir, 1).ItemsChecked);
    }

    [Fact]
    public void Partial_restore_compare_statistics_and_index_rebuild_work_on_a_derived_step()
    {
        // Compare does not diff PRNG keys; they are left out here (their derivation is covered above).
        static Dictionary<string, object?> Comparable()
        {
            var s = EdgeCases();
            s.Remove("key");
            s.Remove("keys");
            return s;
        }

        var dir = _dir.Sub("ops");
        _handler.Save(dir, Comparable(), step: 1);
        var changed = Comparable();
        changed["big"] = BigInteger.One;
        _handler.Save(dir, changed, step: 2);

        var picked = (IDictionary)_handler.Restore(dir, 1, ["psobject/a~1b~0c", "head/*"])!;
        Assert.Equal(["head/1", "head/w", "head/~i32:1", "psobject/a~1b~0c"], picked.Keys.Cast<string>().Order(StringComparer.Ordinal).ToList());
        Assert.Equal(3L, picked["head/~i32:1"] is long two ? two + 1 : 0);
        Assert.Equal("big", Assert.Single(_handler.Compare(dir, 1, 2)).Name);
        Assert.Equal(2, _handler.GetStatistics(dir, 1).Count(s => s.Item is "embed" or "head/w"));

        StepFiles.DropIndex(dir);
        var before = _handler.GetItems(dir, 1).Count;
        Assert.Equal(StateEncoder.Encode(Comparable(), null).Items.Count, before);
        Assert.Equal(before, _handler.GetCheckpoint(dir, 1).ItemCount);
    }

    [Theory]
    [InlineData("an items array as well")]
    [InlineData("a tensor node past the tensor table")]
    [InlineData("a leaf node of a container type without entries")]
    [InlineData("a bigint of letters")]
    public void A_manifest_declaring_the_feature_but_malformed_is_corrupt_for_items_and_restore(string problem)
    {
        var dir = _dir.Sub("bad");
        _handler.Save(dir, new Dictionary<string, object?> { ["w"] = new float[] { 1 }, ["n"] = BigInteger.One, ["s"] = "x" }, step: 1);
        StepFiles.Plant(dir, 1, m =>
        {
            var entries = m["state"]!["e"]!.AsArray();
            JsonNode Value(string key) => entries.First(e => e![0]!.GetValue<string>() == key)![1]!;
            switch (problem)
            {
                case "an items array as well":
                    m["items"] = new JsonArray();
                    break;
                case "a tensor node past the tensor table":
                    Value("w")["i"] = 5;
                    break;
                case "a leaf node of a container type without entries":
                    entries.First(e => e![0]!.GetValue<string>() == "s")![1] = new JsonObject { ["t"] = "list<i32>" };
                    break;
                default:
                    Value("n")["v"] = "12ab";
                    break;
            }
        });

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(dir, 1, ["s"]));
        Assert.Equal(1, e.Step);
        Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(dir, 1));
        Assert.False(_handler.Verify(dir, 1).Ok);
    }
}
