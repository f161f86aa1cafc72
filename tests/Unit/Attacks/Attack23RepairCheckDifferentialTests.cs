using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DataraxCkpt.Format;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Attack on session 23's repair check (<see cref="StateDecoder.CheckItems"/>): a differential of the check against the
/// full item derivation on real manifests' state nodes mutated at random (fields dropped, duplicated at the end so they win
/// a lookup, moved after the child array, type codes swapped, hostile values, escaped lone surrogates, deep wrapping,
/// tensors referenced twice, leaves given child arrays). Every sample must be refused by both with the same words or
/// accepted by both, and nothing but <see cref="InvalidDataException"/> may escape either.
/// </summary>
public sealed class Attack23RepairCheckDifferentialTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private static readonly string[] Codes =
    [
        "bool", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "i128", "u128", "nint", "nuint", "bigint", "f16", "f32", "f64",
        "dec", "char", "str", "datetime", "dto", "timespan", "guid", "key", "any", "hashtable", "ordered", "psobject", "arraylist",
        "any[]", "key[]", "tensor", "list<any>", "dict<str,any>", "i32[]", "str[]", "list<i32>", "dict<i32,any>", "quaternion", "", "T",
        "list<", "dict<str>", "i32[][]", "hashtable ", "\u00e9",
    ];

    private static readonly string[] Fields = ["t", "v", "b", "e", "p", "i", "ct", "cmp", "kind", "ticks", "offsetMinutes", "impl", "data", "x", "T", "i "];

    private static JsonNode? Hostile(Random r) => r.Next(16) switch
    {
        0 => null,
        1 => JsonValue.Create(-1),
        2 => JsonValue.Create(int.MaxValue),
        3 => JsonValue.Create(1L << 40),
        4 => JsonValue.Create(1.5),
        5 => JsonValue.Create("0"),
        6 => JsonValue.Create(""),
        7 => new JsonArray(),
        8 => new JsonObject(),
        9 => JsonValue.Create(true),
        10 => new JsonArray(1, 2),
        11 => new JsonArray(new JsonArray("k", 1)),
        12 => new JsonObject { ["t"] = Codes[r.Next(Codes.Length)], ["v"] = 1 },
        13 => new JsonObject { ["t"] = "str", ["v"] = "x" },
        14 => new JsonObject { ["t"] = "any[]", ["i"] = new JsonArray(1, null) },
        _ => JsonValue.Create(ulong.MaxValue),
    };

    /// <summary>Raw JSON values a node cannot hold: escaped lone surrogates, numbers beyond every range.</summary>
    private static readonly string[] RawValues = ["\"\\ud800\"", "\"a\\udc00\"", "1e400", "-0", "123456789012345678901234567890", "\"\\u0000\"", "{\"t\":\"\\ud800\"}", "{\"t\":\"str\",\"v\":\"\\udfff\"}", "{\"t\":\"tensor\",\"ct\":\"\\ud800\",\"i\":0}"];

    private sealed class Sample
    {
        public required JsonNode Root { get; set; }

        /// <summary>Fields appended (raw) at the end of an object, after its own: duplicates win a lookup.</summary>
        public Dictionary<JsonObject, List<(string Name, string Raw)>> Extra { get; } = new(ReferenceEqualityComparer.Instance);

        /// <summary>Values replaced by raw JSON.</summary>
        public Dictionary<JsonNode, string> Raw { get; } = new(ReferenceEqualityComparer.Instance);
    }

    private static List<JsonNode> Nodes(JsonNode root)
    {
        var all = new List<JsonNode>();
        void Walk(JsonNode? n)
        {
            if (n is null)
            {
                return;
            }

            all.Add(n);
            if (n is JsonObject o)
            {
                foreach (var (_, v) in o.ToList())
                {
                    Walk(v);
                }
            }
            else if (n is JsonArray a)
            {
                foreach (var v in a.ToList())
                {
                    Walk(v);
                }
            }
        }

        Walk(root);
        return all;
    }

    private static void Replace(Sample s, JsonNode target, JsonNode? with)
    {
        var parent = target.Parent;
        if (parent is null)
        {
            s.Root = with ?? new JsonObject();
            return;
        }

        if (parent is JsonObject po)
        {
            po[target.GetPropertyName()] = with;
        }
        else if (parent is JsonArray pa)
        {
            pa[target.GetElementIndex()] = with;
        }
    }

    private static string RawOf(Random r, JsonNode? fallback) =>
        r.Next(3) == 0 ? RawValues[r.Next(RawValues.Length)] : (Hostile(r) ?? fallback)?.ToJsonString() ?? "null";

    private static void Mutate(Random r, Sample s)
    {
        var nodes = Nodes(s.Root);
        var objects = nodes.OfType<JsonObject>().ToList();
        var target = nodes[r.Next(nodes.Count)];
        var obj = objects.Count > 0 ? objects[r.Next(objects.Count)] : null;
        switch (r.Next(12))
        {
            case 0 when obj is not null && obj.Count > 0:
                obj.Remove(obj.ElementAt(r.Next(obj.Count)).Key);
                break;
            case 1:
                Replace(s, target, Hostile(r));
                break;
            case 2 when obj is not null:
                obj["t"] = Codes[r.Next(Codes.Length)];
                break;
            case 3 when obj is not null && obj.ContainsKey("t"):
            {
                // The type after the child array.
                var t = obj["t"];
                obj.Remove("t");
                obj["t"] = t;
                break;
            }

            case 4 when obj is not null:
            {
                // A known field again, at the end (a lookup takes the last one): the same value or another.
                var name = obj.Count > 0 && r.Next(2) == 0 ? obj.ElementAt(r.Next(obj.Count)).Key : Fields[r.Next(Fields.Length)];
                var raw = r.Next(3) switch
                {
                    0 when obj.TryGetPropertyValue(name, out var same) => same?.ToJsonString() ?? "null",
                    1 => JsonSerializer.Serialize(Codes[r.Next(Codes.Length)]),
                    _ => RawOf(r, null),
                };
                if (!s.Extra.TryGetValue(obj, out var list))
                {
                    s.Extra[obj] = list = [];
                }

                list.Add((name, raw));
                break;
            }

            case 5 when obj is not null:
                obj[Fields[r.Next(Fields.Length)] + (r.Next(2) == 0 ? string.Empty : "z")] = Hostile(r);
                break;
            case 6 when obj is not null:
                // A leaf given a child array, or a container a second kind of child array.
                obj[new[] { "i", "e", "p" }[r.Next(3)]] = r.Next(2) == 0 ? new JsonArray(new JsonObject { ["t"] = "i32", ["v"] = 1 }) : new JsonArray(new JsonArray("k", new JsonObject { ["t"] = "i32", ["v"] = 2 }));
                break;
            case 7:
            {
                // Deep nesting around a node, near and beyond the bound.
                var depth = 190 + r.Next(20);
                var copy = target.DeepClone();
                JsonNode deep = copy;
                for (var i = 0; i < depth; i++)
                {
                    deep = new JsonObject { ["t"] = "any[]", ["i"] = new JsonArray(deep) };
                }

                Replace(s, target, deep);
                break;
            }

            case 8:
            {
                // A tensor node copied over another node (a tensor referenced twice), or its index moved.
                var tensors = objects.Where(o => o.TryGetPropertyValue("t", out var t) && t is JsonValue v && v.TryGetValue<string>(out var c) && c == "tensor").ToList();
                if (tensors.Count > 0)
                {
                    var tensor = tensors[r.Next(tensors.Count)];
                    if (r.Next(2) == 0 && target != s.Root && !ReferenceEquals(target, tensor))
                    {
                        Replace(s, target, tensor.DeepClone());
                    }
                    else
                    {
                        tensor["i"] = r.Next(-1, 4);
                    }
                }

                break;
            }

            case 9:
                s.Raw[target] = RawValues[r.Next(RawValues.Length)];
                break;
            case 10:
            {
                // A dictionary key or property name made hostile.
                var pairs = nodes.OfType<JsonArray>().Where(a => a.Count == 2 && a.Parent is JsonArray pp && pp.Parent is JsonObject).ToList();
                if (pairs.Count > 0)
                {
                    var pair = pairs[r.Next(pairs.Count)];
                    if (r.Next(2) == 0)
                    {
                        s.Raw[pair[0] ?? (pair[0] = JsonValue.Create("k"))!] = RawValues[r.Next(RawValues.Length)];
                    }
                    else
                    {
                        pair[0] = r.Next(3) switch { 0 => new JsonObject { ["t"] = "str", ["v"] = "k" }, 1 => JsonValue.Create(new string('n', 300)), _ => Hostile(r) };
                    }
                }

                break;
            }

            default:
            {
                // Two sibling entries with one name (item-name collisions).
                var arrays = nodes.OfType<JsonArray>().Where(a => a.Count > 0).ToList();
                if (arrays.Count > 0)
                {
                    var a = arrays[r.Next(arrays.Count)];
                    a.Add(a[r.Next(a.Count)]?.DeepClone());
                }

                break;
            }
        }
    }

    private static void Write(Utf8JsonWriter w, JsonNode? n, Sample s)
    {
        if (n is not null && s.Raw.TryGetValue(n, out var raw))
        {
            w.WriteRawValue(raw, skipInputValidation: true);
            return;
        }

        switch (n)
        {
            case null:
                w.WriteNullValue();
                break;
            case JsonObject o:
                w.WriteStartObject();
                foreach (var (k, v) in o)
                {
                    w.WritePropertyName(k);
                    Write(w, v, s);
                }

                if (s.Extra.TryGetValue(o, out var extra))
                {
                    foreach (var (name, value) in extra)
                    {
                        w.WritePropertyName(name);
                        w.WriteRawValue(value, skipInputValidation: true);
                    }
                }

                w.WriteEndObject();
                break;
            case JsonArray a:
                w.WriteStartArray();
                foreach (var v in a)
                {
                    Write(w, v, s);
                }

                w.WriteEndArray();
                break;
            default:
                n.WriteTo(w);
                break;
        }
    }

    private static byte[] Serialize(Sample s)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true, MaxDepth = 100_000, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            Write(w, s.Root, s);
        }

        return buffer.ToArray();
    }

    private static string Describe(StoredItem i) =>
        $"{i.Name}|{i.Kind}|{i.DType}|{(i.Shape is null ? "null" : string.Join(",", i.Shape))}|{i.Size}|{i.TensorIndex}";

    private static string Outcome(Func<string> f)
    {
        try
        {
            return "ok " + f();
        }
        catch (InvalidDataException e)
        {
            return $"refused {e.Message} [{e.InnerException?.GetType().Name}]";
        }
        catch (Exception e)
        {
            return $"ESCAPED {e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>The real manifests the mutations start from: generated states of every container and leaf kind.</summary>
    private List<(byte[] State, IReadOnlyList<TensorLayout> Tensors)> Seeds(int count)
    {
        var r = new Random(2323);
        var seeds = new List<(byte[], IReadOnlyList<TensorLayout>)>();
        for (var n = 0; n < count; n++)
        {
            var dir = _dir.Sub($"seed{n}");
            var state = new Dictionary<string, object?>
            {
                ["a"] = ItemDerivationAttackTests.Generate(r, 0, []),
                ["w"] = new float[] { 1, 2, 3 },
                ["b"] = ItemDerivationAttackTests.Generate(r, 1, []),
            };
            _handler.Save(dir, state, step: 1);
            var folders = new StepFolders(dir);
            using var files = folders.OpenStep(folders.StepPath(1));
            using var manifest = StepReader.ParseManifestFile(files.ManifestFile, files.DataLength);
            seeds.Add((manifest.StateJson.ToArray(), manifest.Tensors));
        }

        return seeds;
    }

    [Fact]
    public void Checking_refuses_exactly_what_deriving_refuses_on_mutated_real_state_nodes()
    {
        var check = typeof(StateDecoder).GetMethod("CheckItems", BindingFlags.Public | BindingFlags.Static, [typeof(JsonElement), typeof(IReadOnlyList<TensorLayout>)]);
        Assert.NotNull(check);
        var log = Environment.GetEnvironmentVariable("ATTACK23_DIFF_LOG");
        var lines = new List<string>();
        var r = new Random(23_2323);
        var refused = 0;
        var accepted = 0;
        var disagreements = new List<string>();
        foreach (var (stateJson, tensors) in Seeds(40))
        {
            for (var k = 0; k < 60; k++)
            {
                var sample = new Sample { Root = JsonNode.Parse(stateJson)! };
                for (var m = 1 + r.Next(3); m > 0; m--)
                {
                    Mutate(r, sample);
                }

                var bytes = Serialize(sample);
                JsonDocument doc;
                try
                {
                    doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = StateEncoder.MaxJsonDepth });
                }
                catch (JsonException)
                {
                    continue;
                }

                using (doc)
                {
                    var root = doc.RootElement;
                    var derived = Outcome(() =>
                    {
                        var items = StateDecoder.DeriveItems(root, tensors);
                        return $"{items.Count} {string.Join(";", items.Select(Describe)).GetHashCode(StringComparison.Ordinal)}";
                    });
                    var derivedPlain = Outcome(() => string.Join(";", StateDecoder.DeriveItems(root, tensors).Select(Describe)));
                    lines.Add($"{Convert.ToBase64String(bytes)}\t{string.Join("|", tensors.Select(t => $"{t.DType}:{string.Join(",", t.Shape)}:{t.RawLength}"))}\t{derivedPlain}");
                    if (derived.StartsWith("ESCAPED", StringComparison.Ordinal))
                    {
                        disagreements.Add($"derivation: {derived} on {Encoding.UTF8.GetString(bytes)[..Math.Min(bytes.Length, 600)]}");
                    }

                    if (derived.StartsWith("ok", StringComparison.Ordinal))
                    {
                        accepted++;
                    }
                    else
                    {
                        refused++;
                    }

                    var checkedOnly = Outcome(() =>
                    {
                        try
                        {
                            check!.Invoke(null, [root, tensors]);
                        }
                        catch (TargetInvocationException e) when (e.InnerException is not null)
                        {
                            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
                        }

                        return string.Empty;
                    });
                    var expected = derived.StartsWith("ok", StringComparison.Ordinal) ? "ok " : derived;
                    if (checkedOnly != expected)
                    {
                        disagreements.Add($"check '{checkedOnly}' vs derivation '{derived}' on {Encoding.UTF8.GetString(bytes)[..Math.Min(bytes.Length, 600)]}");
                    }
                }
            }
        }

        if (log is not null)
        {
            File.WriteAllLines(log, lines);
        }

        Assert.True(disagreements.Count == 0, $"{disagreements.Count} disagreements:\n{string.Join("\n", disagreements.Take(5))}");
        Assert.True(refused > 300 && accepted > 300, $"{refused} refused, {accepted} accepted");
    }

    private static void SetRowHash(string dir, long step, string hash)
    {
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dir, "index.sqlite")};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "UPDATE steps SET manifest_hash = $h WHERE step = $s";
        cmd.Parameters.AddWithValue("$h", hash);
        cmd.Parameters.AddWithValue("$s", step);
        Assert.Equal(1, cmd.ExecuteNonQuery());
    }

    private static string Describe(CheckpointItemInfo i) =>
        $"{i.Name}|{i.Kind}|{i.DType}|{(i.Shape is null ? "null" : string.Join(",", i.Shape))}|{i.Size}|{i.StoredSize}";

    /// <summary>
    /// A listed step whose folder was swapped for another store's step of the same number (the row's hash no longer
    /// matches): the folder is read with its items only checked, and derived later by the indexing. The re-indexed row
    /// must hold exactly the items a rebuild from the folder derives, and a dry run must leave the old row as it was.
    /// </summary>
    [Fact]
    public void A_repair_reindexing_a_swapped_folder_whose_row_disagrees_lists_the_folders_own_items()
    {
        var dir = _dir.Sub("swapped");
        var other = _dir.Sub("other");
        var r = new Random(77);
        _handler.Save(dir, new Dictionary<string, object?> { ["w"] = new float[] { 1, 2 }, ["s"] = "x" }, step: 1);
        _handler.Save(dir, new Dictionary<string, object?> { ["w"] = new float[] { 1, 3 }, ["s"] = "y" }, step: 2);
        _handler.Save(other, new Dictionary<string, object?> { ["z"] = ItemDerivationAttackTests.Generate(r, 0, []), ["t"] = new int[] { 4, 5, 6 }, ["s"] = new object?[] { 1, "a", null } }, step: 2);
        var before = _handler.GetItems(dir, 2).Select(Describe).ToList();
        var folder2 = Path.Combine(dir, "2");
        Directory.Delete(folder2, recursive: true);
        Directory.CreateDirectory(folder2);
        foreach (var f in Directory.GetFiles(Path.Combine(other, "2")))
        {
            File.Copy(f, Path.Combine(folder2, Path.GetFileName(f)));
        }

        var dry = _handler.RepairIndex(dir, dryRun: true);
        Assert.Equal([2L], dry.StepsAdded);
        Assert.Empty(dry.Problems);
        Assert.Equal(before, _handler.GetItems(dir, 2).Select(Describe).ToList());

        var real = _handler.RepairIndex(dir);
        Assert.Equal([2L], real.StepsAdded);
        Assert.Empty(real.Problems);
        var listed = _handler.GetItems(dir, 2).Select(Describe).ToList();
        Format.StepFiles.DropIndex(dir);
        Assert.Equal(listed, _handler.GetItems(dir, 2).Select(Describe).ToList());
        Assert.NotEqual(before, listed);
    }

    /// <summary>
    /// A planted state node under a row that does not match it (the path where the items are derived by the indexing, after
    /// the check): the check must refuse it before the indexing, so the repair reports the folder and unlists it instead of
    /// failing as a whole when the indexing's derivation throws.
    /// </summary>
    [Theory]
    [MemberData(nameof(ItemDerivationAttackTests.Hostile), MemberType = typeof(ItemDerivationAttackTests))]
    public void A_planted_state_node_under_a_row_that_disagrees_is_a_problem_of_the_repair_not_its_failure(string problem)
    {
        var dir = _dir.Sub("planted");
        _handler.Save(dir, new Dictionary<string, object?> { ["w"] = new float[] { 1, 2 }, ["s"] = "x" }, step: 1);
        _handler.Save(dir, new Dictionary<string, object?> { ["w"] = new float[] { 1, 3 }, ["s"] = "y" }, step: 2);
        Format.StepFiles.Plant(dir, 2, m => ItemDerivationAttackTests.Tamper(m, problem), keepIndex: true);
        SetRowHash(dir, 2, new string('0', 64));

        var dry = _handler.RepairIndex(dir, dryRun: true);
        Assert.Single(dry.Problems, p => p.StartsWith("step 2:", StringComparison.Ordinal));
        var real = _handler.RepairIndex(dir);
        Assert.Single(real.Problems, p => p.StartsWith("step 2:", StringComparison.Ordinal));
        Assert.Equal([2L], real.RowsRemoved);
        Assert.Equal([1L], _handler.GetCheckpointSteps(dir));
    }
}
