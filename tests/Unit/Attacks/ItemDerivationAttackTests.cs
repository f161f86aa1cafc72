using System.Collections;
using System.Collections.Specialized;
using System.Numerics;
using System.Text.Json.Nodes;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Format;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Attacks on the <c>items-from-state</c> feature: items derived from the state node must be exactly the
/// items the encoder handed the index at save, for any state; a hostile manifest declaring the feature is
/// corrupt naming its step for every operation, never a crash.
/// </summary>
public sealed class ItemDerivationAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private static readonly string[] OddKeys = ["", "/", "~", "~0", "~1", "a/b", "1", "01", "-1", "~e", "x\uD800", "\uDC00y", ".", "*", "A", "a"];

    /// <summary>A random state mixing every container kind, key type and leaf kind.</summary>
    internal static object? Generate(Random r, int depth, List<object> shared)
    {
        var pick = depth > 4 ? r.Next(12) : r.Next(20);
        switch (pick)
        {
            case 0: return null;
            case 1: return r.Next(2) == 0;
            case 2: return OddKeys[r.Next(OddKeys.Length)];
            case 3: return (object)r.Next(6) switch { 0 => (byte)r.Next(), 1 => (short)r.Next(), 2 => r.Next(), 3 => (long)r.Next(), 4 => (ulong)r.Next(), _ => (sbyte)1 };
            case 4: return r.Next(5) switch { 0 => (object)1.5, 1 => 2.5f, 2 => (Half)3, 3 => 1.25m, _ => BigInteger.Pow(7, r.Next(1, 60)) };
            case 5: return r.Next(5) switch { 0 => (object)'c', 1 => Guid.Empty, 2 => TimeSpan.FromSeconds(3), 3 => new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc), _ => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromHours(-3)) };
            case 6: return new PrngKey(PrngKey.Threefry2x32Impl, [(uint)r.Next(), 2u]);
            case 7: return new PrngKey?[] { new(PrngKey.Threefry2x32Impl, [1u, 2u]), null, new(PrngKey.Threefry2x32Impl, [3u, 4u]) }.Take(r.Next(4)).ToArray();
            case 8:
                if (shared.Count > 0 && r.Next(2) == 0)
                {
                    return shared[r.Next(shared.Count)];
                }

                object t = r.Next(4) switch { 0 => new float[r.Next(4)], 1 => new int[2, r.Next(3)], 2 => new List<double> { 1, 2 }, _ => Enumerable.Range(0, 16 + r.Next(3)).Select(i => (object)(long)i).ToArray() };
                shared.Add(t);
                return t;
            case 9: return new List<int?> { 1, null };
            case 10: return Enumerable.Range(0, 17).Select(i => (object)(i % 2 == 0 ? (object)i : (long)i)).ToArray();
            case 11: return new ArrayList { 1, "1", null };
            case 12:
            {
                var h = new Hashtable();
                for (var i = r.Next(4); i > 0; i--)
                {
                    object key = r.Next(4) switch { 0 => OddKeys[r.Next(OddKeys.Length)], 1 => r.Next(3), 2 => (long)r.Next(3), _ => (byte)r.Next(3) };
                    h[key] = Generate(r, depth + 1, shared);
                }

                return h;
            }
            case 13:
            {
                var d = new OrderedDictionary();
                // OrderedDictionary's int indexer is positional: Add keys by value.
                d.Add("1", Generate(r, depth + 1, shared));
                d.Add(1, Generate(r, depth + 1, shared));
                d.Add(1L, Generate(r, depth + 1, shared));
                return d;
            }
            case 14:
            {
                var d = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
                foreach (var k in OddKeys.Where(_ => r.Next(3) == 0))
                {
                    d.TryAdd(k, Generate(r, depth + 1, shared));
                }

                return d;
            }
            case 15:
            {
                var d = new Dictionary<int, object?>();
                for (var i = r.Next(3); i > 0; i--)
                {
                    d[r.Next(-3, 3)] = Generate(r, depth + 1, shared);
                }

                return d;
            }
            case 16:
            {
                var p = new StateObject();
                foreach (var k in OddKeys.Where(_ => r.Next(4) == 0))
                {
                    if (!p.TryGetValue(k, out _))
                    {
                        p.Add(k, Generate(r, depth + 1, shared));
                    }
                }

                return p;
            }
            case 17: return Enumerable.Range(0, r.Next(4)).Select(_ => Generate(r, depth + 1, shared)).ToArray();
            case 18: return Enumerable.Range(0, r.Next(4)).Select(_ => Generate(r, depth + 1, shared)).ToList();
            default:
            {
                var d = new Dictionary<object, object?>();
                d["2"] = Generate(r, depth + 1, shared);
                d[2] = Generate(r, depth + 1, shared);
                d[(ushort)2] = Generate(r, depth + 1, shared);
                return d;
            }
        }
    }

    private static string Describe(StoredItem i) =>
        $"{i.Name}|{i.Kind}|{i.DType}|{(i.Shape is null ? "null" : string.Join(",", i.Shape))}|{i.Size}|{i.TensorIndex}";

    private static string Describe(CheckpointItemInfo i) =>
        $"{i.Name}|{i.Kind}|{i.DType}|{(i.Shape is null ? "null" : string.Join(",", i.Shape))}|{i.Size}|{i.StoredSize}";

    [Fact]
    public void Derived_items_equal_the_encoders_items_and_the_index_rows_for_generated_states()
    {
        var r = new Random(20261201);
        for (var n = 0; n < 60; n++)
        {
            var shared = new List<object>();
            var state = Generate(r, 0, shared);
            var dir = _dir.Sub("fuzz" + n);
            _handler.Save(dir, state, step: 1);

            var recorded = StateEncoder.Encode(state, null).Items.Select(Describe).ToList();
            var json = PlantedManifestJson(dir, 1);
            using (var manifest = ManifestCodec.Parse(json, new FileInfo(Path.Combine(dir, "1", StepFormat.DataFile)).Length))
            {
                Assert.Equal(recorded, manifest.Items.Select(Describe).ToList());
            }

            var fromSave = _handler.GetItems(dir, 1).Select(Describe).ToList();
            StepFiles.DropIndex(dir);
            var rebuilt = _handler.GetItems(dir, 1).Select(Describe).ToList();
            Assert.Equal(fromSave, rebuilt);
            Assert.Equal(recorded.Count, _handler.GetCheckpoint(dir, 1).ItemCount);
            Assert.True(_handler.Verify(dir, 1).Ok, $"state {n}");
        }
    }

    private static byte[] PlantedManifestJson(string dir, long step) => Reliability.PlantedManifest.ReadJson(dir, step);

    public static TheoryData<string> Hostile => new()
    {
        "type not a string in a container", "unknown node type", "tensor without ct", "tensor index huge",
        "tensor index negative", "tensor index a string", "dictionary key an object", "key[] items not an array", "deep nesting", "entries not an array", "items and requires",
        "type not a string at a leaf", "p of non-pairs",
    };

    internal static void Tamper(JsonObject m, string problem)
    {
        var entries = m["state"]!["e"]!.AsArray();
        JsonNode Value(string key) => entries.First(e => e![0]!.GetValue<string>() == key)![1]!;
        void Set(string key, JsonNode node) => entries.First(e => e![0]!.GetValue<string>() == key)![1] = node;
        switch (problem)
        {
            case "type not a string in a container":
                Set("s", new JsonObject { ["t"] = 5, ["e"] = new JsonArray() });
                break;
            case "type not a string at a leaf":
                Set("s", new JsonObject { ["t"] = 5 });
                break;
            case "unknown node type":
                Set("s", new JsonObject { ["t"] = "quaternion", ["v"] = "1" });
                break;
            case "tensor without ct":
                Value("w").AsObject().Remove("ct");
                break;
            case "tensor index huge":
                Value("w")["i"] = int.MaxValue;
                break;
            case "tensor index a string":
                Value("w")["i"] = "0";
                break;
            case "dictionary key an object":
                Set("s", new JsonObject { ["t"] = "hashtable", ["e"] = new JsonArray(new JsonArray(new JsonObject { ["t"] = 1 }, 1)) });
                break;
            case "tensor index negative":
                Value("w")["i"] = -1;
                break;
            case "key[] items not an array":
                Set("s", new JsonObject { ["t"] = "key[]", ["i"] = 1_000_000 });
                break;
            case "deep nesting":
                JsonNode deep = new JsonObject { ["t"] = "i32", ["v"] = 1 };
                for (var i = 0; i < 250; i++)
                {
                    deep = new JsonObject { ["t"] = "list<any>", ["i"] = new JsonArray(deep) };
                }

                Set("s", deep);
                break;
            case "entries not an array":
                Set("s", new JsonObject { ["t"] = "hashtable", ["e"] = 3 });
                break;
            case "p of non-pairs":
                Set("s", new JsonObject { ["t"] = "psobject", ["p"] = new JsonArray(1, 2) });
                break;
            default:
                m["items"] = new JsonArray();
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void A_hostile_manifest_declaring_the_feature_is_corrupt_naming_its_step_for_every_operation(string problem)
    {
        var dir = _dir.Sub("hostile");
        _handler.Save(dir, new Dictionary<string, object?> { ["w"] = new float[] { 1, 2 }, ["s"] = "x" }, step: 1);
        _handler.Save(dir, new Dictionary<string, object?> { ["w"] = new float[] { 1, 3 }, ["s"] = "y" }, step: 2);
        StepFiles.Plant(dir, 2, m => Tamper(m, problem));

        Assert.Equal(2, Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(dir, 2)).Step);
        Assert.Equal(2, Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(dir, 2, ["w"])).Step);
        Assert.Equal(2, Assert.Throws<CorruptCheckpointException>(() => _handler.Compare(dir, 1, 2)).Step);
        Assert.Equal(2, Assert.Throws<CorruptCheckpointException>(() => _handler.GetStatistics(dir, 2)).Step);
        Assert.False(_handler.Verify(dir, 2).Ok);

        // Without the index the folder is unreadable: the rebuild leaves it out and reports it, and the store still works.
        StepFiles.DropIndex(dir);
        var report = _handler.RepairIndex(dir);
        Assert.Contains(report.Problems, p => p.StartsWith("step 2:", StringComparison.Ordinal));
        Assert.Equal(2, _handler.GetItems(dir, 1).Count);
    }

    public static TheoryData<string, string> BadValuePaths => new()
    {
        { "nested list", "state.a.b[3]" },
        { "psobject property", "state.p['x y'][1]" },
        { "integer keys", "state.h[7][0]" },
        { "bad key", "state.h[" },
        { "boxed list that is not a tensor", "state.l[16]" },
        { "metadata", "metadata.m[0]" },
    };

    [Theory]
    [MemberData(nameof(BadValuePaths))]
    public void A_value_refused_at_save_is_named_by_its_value_path(string where, string path)
    {
        var bad = new Uri("http://x");
        var ps = new StateObject();
        ps.Add("x y", new object?[] { 1, bad });
        var state = new Dictionary<string, object?> { ["ok"] = new float[] { 1 } };
        Dictionary<string, object?>? metadata = null;
        switch (where)
        {
            case "nested list":
                state["a"] = new Hashtable { ["b"] = new List<object?> { 1, new int[] { 2 }, null, bad } };
                break;
            case "psobject property":
                state["p"] = ps;
                break;
            case "integer keys":
                state["h"] = new Hashtable { [7] = new object[] { bad } };
                break;
            case "bad key":
                state["h"] = new Hashtable { [Guid.Empty] = 1 };
                break;
            case "boxed list that is not a tensor":
                state["l"] = Enumerable.Range(0, 16).Select(i => (object)(double)i).Append(bad).ToArray();
                break;
            default:
                metadata = new Dictionary<string, object?> { ["m"] = new object[] { bad } };
                break;
        }

        var e = Assert.Throws<UnsupportedValueException>(() => _handler.Save(_dir.Sub("paths"), state, step: 1, metadata: metadata));
        Assert.StartsWith(path, e.ValuePath, StringComparison.Ordinal);
        Assert.Equal(where == "bad key" ? e.ValuePath : path, e.ValuePath);
    }

    /// <summary>A key of 2^20 characters over 1,025 leaves: names of just over 2^30 characters in all (the bound is 2^28).</summary>
    private static readonly string LongKey = new('k', 1 << 20);

    [Fact]
    public void A_small_manifest_whose_derived_names_would_fill_gigabytes_is_corrupt_for_items_and_verify()
    {
        var dir = _dir.Sub("names");
        _handler.Save(dir, new Dictionary<string, object?> { ["w"] = new float[] { 1, 2 }, ["s"] = "x" }, step: 1);
        _handler.Save(dir, new Dictionary<string, object?> { ["w"] = new float[] { 1, 3 }, ["s"] = "y" }, step: 2);
        StepFiles.Plant(dir, 2, m =>
        {
            var leaves = new JsonArray(Enumerable.Repeat<JsonNode?>(null, 1025).ToArray());
            m["state"]!["e"]!.AsArray().Add(new JsonArray(LongKey, new JsonObject { ["t"] = "any[]", ["i"] = leaves }));
        });

        // The manifest file stays small (LZ4 folds the long key), yet listing its items would hold 2 GiB of names.
        Assert.True(new FileInfo(Path.Combine(dir, "2", StepFormat.ManifestFile)).Length < 64 * 1024);
        Assert.Equal(2, Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(dir, 2, ["w"])).Step);
        Assert.False(_handler.Verify(dir, 2).Ok);
        StepFiles.DropIndex(dir);
        Assert.Contains(_handler.RepairIndex(dir).Problems, p => p.StartsWith("step 2:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_state_whose_item_names_exceed_the_readers_bound_is_refused_at_save()
    {
        var state = new Dictionary<string, object?> { [LongKey] = new object?[1025] };
        var e = Assert.Throws<UnsupportedValueException>(() => _handler.Save(_dir.Sub("long"), state, step: 1));
        Assert.Equal("state", e.ValuePath);
        Assert.Contains("item names", e.Problem, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir.Sub("long"), "1")));
    }

    [Fact]
    public void Item_names_just_within_the_bound_save_list_and_rebuild()
    {
        // 255 leaves under a 2^20-character key: just under 2^28 characters of names.
        var dir = _dir.Sub("within");
        var state = new Dictionary<string, object?> { [LongKey] = new object?[255] };
        _handler.Save(dir, state, step: 1);
        StepFiles.DropIndex(dir);
        Assert.Equal(255, _handler.GetItems(dir, 1).Count);
        Assert.True(_handler.Verify(dir, 1).Ok);
    }
}
