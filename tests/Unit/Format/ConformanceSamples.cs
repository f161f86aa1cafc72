using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Numerics.Tensors;
using System.Text.Json;
using System.Text.Json.Nodes;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The generator of the conformance corpus in <c>docs/format-samples/</c>: a few small states, saved
/// as steps, and for each step the values a reader must produce, in a language-neutral JSON form
/// (<see cref="Canonical"/>). Regenerate with
/// <c>DATARAXCKPT_WRITE_FORMAT_SAMPLES=1 dotnet test tests/Unit --filter ConformanceSampleTests</c>;
/// only a format change should ever need it, and then the format version changes too.
/// </summary>
internal static class ConformanceSamples
{
    public const string RegenerateVariable = "DATARAXCKPT_WRITE_FORMAT_SAMPLES";

    /// <summary>The sample steps: step number, state, metadata.</summary>
    public static IEnumerable<(long Step, object State, Dictionary<string, object?> Metadata)> States()
    {
        yield return (1, Scalars(), new Dictionary<string, object?> { ["sample"] = "scalars", ["epoch"] = 3 });
        yield return (2, Tensors(), new Dictionary<string, object?> { ["sample"] = "tensors" });
        var tied = Enumerable.Range(0, 64).Select(i => (float)Math.Sin(i)).ToArray();
        yield return (3, new Dictionary<string, object?>
        {
            ["embed"] = tied,
            ["head"] = new Dictionary<string, object?> { ["w"] = tied, ["b"] = new float[] { 0.5f, -0.5f } },
        }, new Dictionary<string, object?> { ["sample"] = "shared references" });

        // Written with items-from-state: no items array, so a reader must derive every item below.
        var shared = new[] { 1L, -1L };
        var mixed = Scalars();
        mixed["tensor"] = shared;
        mixed["again"] = new object?[] { shared, new List<string>(), new StateObject() };
        mixed["matrix"] = new float[2, 0];
        yield return (4, mixed, new Dictionary<string, object?> { ["sample"] = "items derived from the state" });
        yield return (5, NumericLists(), new Dictionary<string, object?> { ["sample"] = "numeric lists as tensors" });
        yield return (6, PackedPlanes(), new Dictionary<string, object?> { ["sample"] = "packed byte planes" });
    }

    /// <summary>
    /// Step 6: the <c>planes</c> filter (docs/format.md §2.2, feature <c>planes-filter</c>): bf16-like floats
    /// (normal values, low 16 bits zero), an odd count; the sign/exponent plane is packed with escapes (one at
    /// the last element), the other planes are stored as they are.
    /// </summary>
    private static Dictionary<string, object?> PackedPlanes()
    {
        var rng = new Random(66);
        var values = new float[1_001];
        for (var i = 0; i < values.Length; i++)
        {
            var normal = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            values[i] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits((float)normal) & unchecked((int)0xFFFF0000));
        }

        // Exponents no other element has, twice each: the table's last free slots take the lowest of them (ties go
        // to the lowest byte value; the writer's sample counts the last element twice), the rest are escaped, the
        // last element's among them.
        values[^7] = values[^6] = 1e-37f;
        values[^5] = values[^4] = 1e-35f;
        values[^3] = values[^2] = 1e-33f;
        values[^1] = 1e-30f;
        return new Dictionary<string, object?> { ["w"] = values };
    }

    /// <summary>Step 5: numeric lists stored as tensors (docs/format.md §6.5, feature <c>list-tensors</c>).</summary>
    private static Dictionary<string, object?> NumericLists()
    {
        var doubles = new List<double> { double.NaN, BitConverter.UInt64BitsToDouble(0x7FF8000000000123), -0.0, double.NegativeInfinity, 1.5, 1e300 };
        return new Dictionary<string, object?>
        {
            ["f64"] = doubles,
            ["i32"] = new List<int> { int.MinValue, -1, 0, int.MaxValue },
            ["u8"] = new List<byte> { 0, 255 },
            ["bool"] = new List<bool> { true, false, true },
            ["empty"] = new List<float>(),
            ["boxed_f64"] = Enumerable.Range(0, 20).Select(i => (object)(i * 0.5 - 3)).ToArray(),
            ["boxed_i64"] = new ArrayList(Enumerable.Range(0, 16).Select(i => (object)(long.MaxValue - i)).ToArray()),
            ["boxed_f32"] = Enumerable.Range(0, 17).Select(i => (object)(i == 0 ? -0.0f : i / 4f)).ToList(),
            ["boxed_short"] = new object[] { 1, 2, 3 }, // below the threshold: element by element
            ["boxed_mixed"] = Enumerable.Range(0, 20).Select(i => i == 7 ? (object)7L : i).ToArray(), // mixed types: element by element
        };
    }

    /// <summary>
    /// Steps written by an engine before <c>items-from-state</c> (they list their items). The current
    /// writer cannot reproduce them, so regenerating the corpus leaves them as committed.
    /// </summary>
    public static readonly IReadOnlySet<long> ItemsListedSteps = new HashSet<long> { 1, 2, 3 };

    private static Dictionary<string, object?> Scalars()
    {
        var ps = new StateObject();
        ps.Add("Name", "run-7");
        ps.Add("a/b~c", 1);
        var hashtable = new Hashtable { ["lr"] = 0.001, ["beta"] = 0.9f };
        var ordered = new System.Collections.Specialized.OrderedDictionary { ["z"] = 1L, ["a"] = 2L };
        return new Dictionary<string, object?>
        {
            ["null"] = null,
            ["bool"] = true,
            ["i8"] = (sbyte)-8,
            ["u8"] = (byte)200,
            ["i16"] = (short)-1600,
            ["u16"] = (ushort)60000,
            ["i32"] = int.MinValue,
            ["u32"] = uint.MaxValue,
            ["i64"] = long.MinValue,
            ["u64"] = ulong.MaxValue,
            ["i128"] = Int128.MinValue,
            ["u128"] = UInt128.MaxValue,
            ["nint"] = (nint)(-5),
            ["nuint"] = (nuint)5,
            ["bigint"] = BigInteger.Pow(7, 80),
            ["f16"] = (Half)1.5,
            ["f32_negzero"] = -0.0f,
            ["f32_nan_payload"] = BitConverter.UInt32BitsToSingle(0x7FC00123),
            ["f64"] = Math.PI,
            ["dec"] = 1.50m,
            ["char"] = 'λ',
            ["str"] = "héllo 🌍",
            ["str_lone_surrogate"] = "a\uD800b",
            ["datetime"] = new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc),
            ["dto"] = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.FromMinutes(-330)),
            ["timespan"] = TimeSpan.FromMilliseconds(1234.5),
            ["guid"] = new Guid("0f8fad5b-d9cb-469f-a165-70867728950e"),
            ["key"] = new PrngKey(PrngKey.Threefry2x32Impl, [0u, 42u]),
            ["keys"] = new PrngKey?[] { new(PrngKey.Threefry2x32Impl, [1u, 2u]), null },
            ["list"] = new List<int> { 1, 2, 3 },
            ["strings"] = new[] { "a", "b" },
            ["any"] = new object?[] { 1, "two", null },
            ["int_keys"] = new Dictionary<int, string> { [1] = "one", [-2] = "minus two" },
            ["hashtable"] = hashtable,
            ["ordered"] = ordered,
            ["psobject"] = ps,
            ["empty_dict"] = new Dictionary<string, object?>(),
        };
    }

    private static Dictionary<string, object?> Tensors()
    {
        var matrix = new float[3, 4];
        for (var i = 0; i < 3; i++)
        {
            for (var j = 0; j < 4; j++)
            {
                matrix[i, j] = i * 10 + j + 0.25f;
            }
        }

        // Two chunks (5 MiB raw) that compress to a few KiB.
        var big = new byte[5 << 20];
        for (var i = 0; i < big.Length; i++)
        {
            big[i] = (byte)(i / 65536);
        }

        return new Dictionary<string, object?>
        {
            ["matrix"] = matrix,
            ["smooth"] = Enumerable.Range(0, 512).Select(i => 1000.0 + i * 0.125).ToArray(), // shuffle filter
            ["bools"] = new[] { true, false, true },
            ["halves"] = new[] { (Half)0.5, Half.NegativeInfinity },
            ["chars"] = "abc".ToCharArray(),
            ["i64s"] = new[] { long.MinValue, 0L, long.MaxValue },
            ["empty"] = Array.Empty<float>(),
            ["empty2d"] = new int[0, 3],
            ["cube"] = new short[2, 2, 2] { { { 1, 2 }, { 3, 4 } }, { { 5, 6 }, { 7, 8 } } },
            ["tensor"] = Tensor.Create(new double[] { 1, 2, 3, 4, 5, 6 }, [3, 2]),
            ["big"] = big,
        };
    }

    /// <summary>What a step must restore to: its header figures, its items, its metadata and its whole state.</summary>
    public static JsonObject Expected(CheckpointHandler handler, string checkpointDir, long step)
    {
        var info = handler.GetCheckpoint(checkpointDir, step);
        var items = new JsonArray();
        foreach (var item in handler.GetItems(checkpointDir, step))
        {
            items.Add(new JsonObject
            {
                ["name"] = item.Name,
                ["kind"] = item.Kind,
                ["dtype"] = item.DType,
                ["shape"] = item.Shape is null ? null : new JsonArray(item.Shape.Select(d => (JsonNode)d).ToArray()),
                ["size"] = item.Size,
                ["storedSize"] = item.StoredSize,
            });
        }

        var state = handler.Restore(checkpointDir, step);
        var metadata = handler.RestoreMetadata(checkpointDir, step)!;
        return new JsonObject
        {
            ["step"] = step,
            ["size"] = info.Size,
            ["storedSize"] = info.StoredSize,
            ["itemCount"] = info.ItemCount,
            ["items"] = items,
            ["metadata"] = Canonical(metadata),
            ["state"] = Canonical(state),
            ["shared"] = SharedGroups(state),
        };
    }

    /// <summary>Item names that restore to one and the same array or tensor object.</summary>
    public static JsonArray SharedGroups(object? state)
    {
        var seen = new Dictionary<object, List<string>>(ReferenceEqualityComparer.Instance);
        Walk(state, string.Empty, seen);
        return new JsonArray(seen.Values.Where(g => g.Count > 1).Select(g => (JsonNode)new JsonArray(g.Select(n => (JsonNode)n).ToArray())).ToArray());
    }

    private static void Walk(object? value, string name, Dictionary<object, List<string>> seen)
    {
        switch (value)
        {
            case null or string:
                return;
            case Array array when TypeCodes.IsTensorElement(array.GetType().GetElementType()!):
                Add(array);
                return;
            case IDictionary dict:
                foreach (DictionaryEntry e in dict)
                {
                    Walk(e.Value, ItemNames.Join(name, ItemNames.KeySegment(e.Key, mixedKeys: dict is Hashtable or System.Collections.Specialized.OrderedDictionary || dict.GetType().GetGenericArguments() is [var k, _] && k == typeof(object))), seen);
                }

                return;
            case StateObject obj:
                foreach (var p in obj)
                {
                    Walk(p.Value, ItemNames.Join(name, ItemNames.Escape(p.Key)), seen);
                }

                return;
            case IList list when !TypeCodes.IsTensorType(value.GetType(), out _):
                for (var i = 0; i < list.Count; i++)
                {
                    Walk(list[i], ItemNames.Join(name, i.ToString(CultureInfo.InvariantCulture)), seen);
                }

                return;
        }

        if (TypeCodes.IsTensorType(value.GetType(), out _))
        {
            Add(value);
        }

        void Add(object o)
        {
            if (!seen.TryGetValue(o, out var names))
            {
                seen[o] = names = new List<string>();
            }

            names.Add(name.Length == 0 ? "." : name);
        }
    }

    /// <summary>
    /// A value as language-neutral JSON: <c>type</c> is the format's type code of the restored value;
    /// integers are decimal strings, floats their IEEE bits in lower-case hex, arrays and tensors their
    /// shape and their elements in row-major order. Hashtable entries are sorted by key (a hashtable
    /// has no order); every other container keeps its order.
    /// </summary>
    public static JsonNode Canonical(object? value)
    {
        if (value is null)
        {
            return new JsonObject { ["type"] = "null" };
        }

        var type = value.GetType();
        var code = TypeCodes.TryGetCode(type) ?? (value is IReadOnlyDictionary<string, object?> ? "dict<str,any>" : type.FullName);
        switch (value)
        {
            case string s:
                return IsWellFormed(s)
                    ? new JsonObject { ["type"] = "str", ["value"] = s }
                    : new JsonObject { ["type"] = "str", ["utf16"] = new JsonArray(s.Select(c => (JsonNode)(int)c).ToArray()) };
            case PrngKey key:
                return new JsonObject { ["type"] = "key", ["impl"] = key.Impl, ["data"] = new JsonArray(key.KeyDataSpan.ToArray().Select(w => (JsonNode)w).ToArray()) };
            case DateTime dt:
                return new JsonObject { ["type"] = code, ["ticks"] = Text(dt.Ticks), ["kind"] = dt.Kind.ToString() };
            case DateTimeOffset dto:
                return new JsonObject { ["type"] = code, ["ticks"] = Text(dto.Ticks), ["offsetMinutes"] = (int)dto.Offset.TotalMinutes };
            case TimeSpan ts:
                return new JsonObject { ["type"] = code, ["ticks"] = Text(ts.Ticks) };
            case Array array when TypeCodes.IsTensorElement(type.GetElementType()!):
                return TensorNode(code!, Enumerable.Range(0, array.Rank).Select(d => (long)array.GetLength(d)).ToArray(), array);
            case IDictionary dict:
                var entries = new List<(string Sort, JsonNode Node)>();
                foreach (DictionaryEntry e in dict)
                {
                    var k = Canonical(e.Key);
                    entries.Add((k.ToJsonString(), new JsonArray(k, Canonical(e.Value))));
                }

                if (value is Hashtable)
                {
                    entries.Sort((a, b) => string.CompareOrdinal(a.Sort, b.Sort));
                }

                return new JsonObject { ["type"] = code, ["entries"] = new JsonArray(entries.Select(e => e.Node).ToArray()) };
            case StateObject obj:
                return new JsonObject { ["type"] = code, ["properties"] = new JsonArray(obj.Select(p => (JsonNode)new JsonArray(p.Key, Canonical(p.Value))).ToArray()) };
            case IList list when !TypeCodes.IsTensorType(type, out _):
                return new JsonObject { ["type"] = code, ["items"] = new JsonArray(list.Cast<object?>().Select(Canonical).ToArray()) };
        }

        if (TypeCodes.IsTensorType(type, out var element))
        {
            var (data, shape) = TensorInterop.Flatten(value, element);
            return TensorNode(code!, shape, data);
        }

        return new JsonObject { ["type"] = code, ["value"] = Element(value) };
    }

    private static JsonObject TensorNode(string code, long[] shape, Array data) => new()
    {
        ["type"] = code,
        ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()),
        // Long runs would make the file large: elements are listed, runs of one value compressed to [value, count].
        ["values"] = Runs(data.Cast<object>().Select(Element)),
    };

    private static JsonArray Runs(IEnumerable<string> elements)
    {
        var runs = new JsonArray();
        string? current = null;
        var count = 0;
        foreach (var e in elements)
        {
            if (e == current)
            {
                count++;
                continue;
            }

            Flush();
            current = e;
            count = 1;
        }

        Flush();
        return runs;

        void Flush()
        {
            if (current is not null)
            {
                runs.Add(new JsonArray(current, count));
            }
        }
    }

    /// <summary>One scalar as text: integers in decimal, floats as their bits in hex, bool as true/false, char as its code unit.</summary>
    private static string Element(object value) => value switch
    {
        bool b => b ? "true" : "false",
        char c => Text((int)c),
        Half h => BitConverter.HalfToUInt16Bits(h).ToString("x4", CultureInfo.InvariantCulture),
        float f => BitConverter.SingleToUInt32Bits(f).ToString("x8", CultureInfo.InvariantCulture),
        double d => BitConverter.DoubleToUInt64Bits(d).ToString("x16", CultureInfo.InvariantCulture),
        Guid g => g.ToString("D"),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => throw new ArgumentException($"no canonical form for {value.GetType()}"),
    };

    private static string Text(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static bool IsWellFormed(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Writes the corpus: the step folders (no index) and one <c>N.expected.json</c> per step.</summary>
    public static void Generate(string samplesDir, string workDir)
    {
        using var handler = new CheckpointHandler();
        foreach (var (step, state, metadata) in States())
        {
            handler.Save(workDir, state, step: step, metadata: metadata);
        }

        foreach (var (step, _, _) in States().Where(s => !ItemsListedSteps.Contains(s.Step)))
        {
            var name = step.ToString(CultureInfo.InvariantCulture);
            var target = Path.Combine(samplesDir, name);
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }

            Directory.CreateDirectory(target);
            foreach (var file in new[] { "manifest.json.lz4", "tensors.lz4" })
            {
                File.Copy(Path.Combine(workDir, name, file), Path.Combine(target, file));
            }

            File.WriteAllText(Path.Combine(samplesDir, $"{name}.expected.json"),
                Expected(handler, workDir, step).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
    }

    /// <summary>The repository's <c>docs/format-samples</c>, found upwards from the test binaries.</summary>
    public static string SamplesDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "docs", "format-samples");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("docs/format-samples was not found above " + AppContext.BaseDirectory);
    }
}
