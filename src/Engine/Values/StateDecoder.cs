using System.Collections;
using System.Collections.Specialized;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace DataraxCkpt.Values;

/// <summary>
/// Rebuilds values from manifest nodes (the inverse of <see cref="StateEncoder"/>). Only types of
/// the fixed set in <see cref="TypeCodes"/> are created; any node that does not fit raises
/// <see cref="InvalidDataException"/> naming the item.
/// </summary>
internal sealed partial class StateDecoder
{
    /// <summary>Loads tensor <c>index</c> as an array or tensor of the given container type.</summary>
    public delegate object TensorLoader(int index, Type containerType, string itemName);

    private readonly TensorLoader _loadTensor;

    /// <summary>
    /// Tensors already decoded, by index: a tensor referenced many times (tied weights, or a hostile
    /// manifest repeating one index) is loaded and allocated once and restored as one shared object.
    /// </summary>
    private readonly Dictionary<int, (Type Container, object Value)> _tensors = new();

    public StateDecoder(TensorLoader loadTensor) => _loadTensor = loadTensor;

    /// <summary>Decodes a whole tree.</summary>
    public object? Decode(JsonElement node) => Read(node, ItemPath.Root, 0);

    /// <summary>Decodes only the leaves whose names match a pattern, into an ordered name → value map.</summary>
    /// <param name="node">The state node.</param>
    /// <param name="patterns">Wildcard patterns of the leaves wanted.</param>
    /// <param name="storedNames">
    /// The names the manifest lists for its leaves, in leaf order. A step written before the item-name
    /// grammar changed (docs/format.md §6.3) stores other names than the decoder would make; its leaves keep
    /// the stored names, which are the ones Get-CheckpointItem lists and Compare matches. Ignored when their
    /// number differs from the number of leaves.
    /// </param>
    public OrderedDictionary DecodeMatching(JsonElement node, IReadOnlyCollection<string> patterns, IReadOnlyList<string>? storedNames = null)
    {
        var result = new OrderedDictionary(StringComparer.Ordinal);
        var names = storedNames is not null && CountLeaves(node, 0) == storedNames.Count ? storedNames : null;
        var leaf = 0;
        Collect(node, string.Empty, patterns, result, 0, names, ref leaf);
        return result;
    }

    /// <summary>
    /// The items of a step under the names its leaves are selected and compared by: the stored names, or,
    /// where a step written before the item-name grammar stored one name for two leaves (<c>{"": {"x": 1},
    /// "x": 2}</c>), the names the grammar derives (<c>~e/x</c>, <c>x</c>), so each leaf stays reachable.
    /// </summary>
    public IReadOnlyList<StoredItem> ItemsByUsableName(JsonElement state, IReadOnlyList<StoredItem> stored)
    {
        if (stored.Select(i => i.Name).Distinct(StringComparer.Ordinal).Count() == stored.Count)
        {
            return stored;
        }

        var derived = new List<string>(stored.Count);
        LeafNames(state, string.Empty, 0, derived);
        return derived.Count == stored.Count && derived.Distinct(StringComparer.Ordinal).Count() == derived.Count
            ? stored.Select((item, k) => item with { Name = derived[k] }).ToList()
            : stored;
    }

    private void LeafNames(JsonElement node, string itemName, int depth, List<string> names)
    {
        CheckDepth(depth, itemName);
        if (!IsContainer(node))
        {
            names.Add(itemName.Length == 0 ? ItemNames.RootLeaf : itemName);
            return;
        }

        foreach (var (name, child) in Children(node, itemName))
        {
            LeafNames(child, name, depth + 1, names);
        }
    }

    private int CountLeaves(JsonElement node, int depth)
    {
        CheckDepth(depth, string.Empty);
        if (!IsContainer(node))
        {
            return 1;
        }

        var count = 0;
        foreach (var (_, child) in Children(node, string.Empty))
        {
            count += CountLeaves(child, depth + 1);
        }

        return count;
    }

    private static bool IsContainer(JsonElement node)
    {
        // A type that is not a string is not a container: the leaf check then reports it as malformed.
        var code = node.ValueKind == JsonValueKind.Object && node.TryGetProperty("t", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        return code is not null && (node.TryGetProperty("e", out _) || node.TryGetProperty("p", out _) || (node.TryGetProperty("i", out var items) && items.ValueKind == JsonValueKind.Array && code != "key[]"));
    }

    private void Collect(JsonElement node, string itemName, IReadOnlyCollection<string> patterns, OrderedDictionary result, int depth, IReadOnlyList<string>? storedNames, ref int leaf)
    {
        CheckDepth(depth, itemName);
        if (IsContainer(node))
        {
            foreach (var (name, child) in Children(node, itemName))
            {
                Collect(child, name, patterns, result, depth + 1, storedNames, ref leaf);
            }

            return;
        }

        var leafName = storedNames is not null ? storedNames[leaf] : itemName.Length == 0 ? ItemNames.RootLeaf : itemName;
        leaf++;
        if (patterns.Any(p => ItemNames.Matches(leafName, p)))
        {
            result[leafName] = Read(node, itemName, depth);
        }
    }

    private IEnumerable<(string Name, JsonElement Child)> Children(JsonElement node, string itemName)
    {
        if (node.TryGetProperty("e", out var entries))
        {
            var mixedKeys = ItemNames.HasMixedKeys(node.GetProperty("t").GetString()!);
            foreach (var pair in Pairs(entries, itemName))
            {
                var key = ReadDictionaryKey(pair[0], itemName);
                yield return (ItemNames.Join(itemName, ItemNames.KeySegment(key, mixedKeys)), pair[1]);
            }
        }
        else if (node.TryGetProperty("p", out var props))
        {
            foreach (var pair in Pairs(props, itemName))
            {
                yield return (ItemNames.Join(itemName, ItemNames.Escape(ReadPropertyName(pair[0], itemName))), pair[1]);
            }
        }
        else
        {
            var i = 0;
            foreach (var child in node.GetProperty("i").EnumerateArray())
            {
                yield return (ItemNames.Join(itemName, (i++).ToString(CultureInfo.InvariantCulture)), child);
            }
        }
    }

    private object? Read(JsonElement node, ItemPath itemName, int depth)
    {
        CheckDepth(depth, itemName);
        switch (node.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            case JsonValueKind.String:
                return node.GetString();
            case JsonValueKind.Object:
                break;
            default:
                throw Bad(itemName, $"unexpected JSON {node.ValueKind}");
        }

        // Property names as UTF-8 literals: the string overloads transcode the name on every call, once a leaf.
        if (!node.TryGetProperty("t"u8, out var t) || t.ValueKind != JsonValueKind.String)
        {
            throw Bad(itemName, "node has no type");
        }

        if (t.ValueEquals("i32"u8))
        {
            // The commonest leaf, answered before the switch over every type code.
            return (int)IntIn(node, itemName, int.MinValue, int.MaxValue, "i32");
        }

        var code = TypeCodeOf(t);
        switch (code)
        {
            case "i8": return (sbyte)IntIn(node, itemName, sbyte.MinValue, sbyte.MaxValue, code);
            case "u8": return (byte)IntIn(node, itemName, byte.MinValue, byte.MaxValue, code);
            case "i16": return (short)IntIn(node, itemName, short.MinValue, short.MaxValue, code);
            case "u16": return (ushort)IntIn(node, itemName, ushort.MinValue, ushort.MaxValue, code);
            case "i32": return (int)IntIn(node, itemName, int.MinValue, int.MaxValue, code);
            case "u32": return (uint)IntIn(node, itemName, uint.MinValue, uint.MaxValue, code);
            case "char": return (char)IntIn(node, itemName, char.MinValue, char.MaxValue, code);
            case "i64": return long.Parse(Text(node, "v", itemName), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            case "u64": return ulong.Parse(Text(node, "v", itemName), NumberStyles.None, CultureInfo.InvariantCulture);
            case "i128": return Int128.Parse(Text(node, "v", itemName), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            case "u128": return UInt128.Parse(Text(node, "v", itemName), NumberStyles.None, CultureInfo.InvariantCulture);
            case "nint": return checked((nint)long.Parse(Text(node, "v", itemName), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
            case "nuint": return checked((nuint)ulong.Parse(Text(node, "v", itemName), NumberStyles.None, CultureInfo.InvariantCulture));
            case "bigint":
                var digits = Text(node, "v", itemName);
                return digits.Length > StateEncoder.MaxBigIntegerDigits ? throw Bad(itemName, "integer is too long") : BigInteger.Parse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            case "f16": return BitConverter.UInt16BitsToHalf(ushort.Parse(Text(node, "b", itemName), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
            case "f32": return BitConverter.UInt32BitsToSingle(uint.Parse(Text(node, "b", itemName), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
            case "f64": return BitConverter.UInt64BitsToDouble(ulong.Parse(Text(node, "b", itemName), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
            case "dec": return ReadDecimal(node, itemName);
            case "str": return ReadRawString(node, itemName);
            case "datetime": return ReadDateTime(node, itemName);
            case "dto": return ReadDateTimeOffset(node, itemName);
            case "timespan": return new TimeSpan(Ticks(node, itemName));
            case "guid": return Guid.ParseExact(Text(node, "v", itemName), "D");
            case "key": return ReadKey(node, itemName);
            case "key[]":
                var keyNodes = Items(node, itemName);
                var keys = new PrngKey?[keyNodes.GetArrayLength()];
                var n = 0;
                foreach (var kn in keyNodes.EnumerateArray())
                {
                    keys[n++] = kn.ValueKind == JsonValueKind.Null ? null : ReadKey(kn, itemName);
                }

                return keys;
            case "tensor":
                var containerType = ResolveType(Text(node, "ct", itemName), itemName);
                var index = node.TryGetProperty("i", out var ti) && ti.ValueKind == JsonValueKind.Number && ti.TryGetInt32(out var tIndex) ? tIndex : throw Bad(itemName, "tensor index missing");
                if (_tensors.TryGetValue(index, out var loaded))
                {
                    return loaded.Container == containerType ? loaded.Value
                        : throw Bad(itemName, $"tensor {index} is referenced as two container types ({loaded.Container.Name} and {containerType.Name})");
                }

                // The loader normalises restored bools (possibly after decoding them all at once).
                var tensor = _loadTensor(index, containerType, itemName.Name.Length == 0 ? ItemNames.RootLeaf : itemName.Name);
                _tensors.Add(index, (containerType, tensor));
                return tensor;
            case "psobject":
                var obj = new StateObject();
                var owner = itemName.AsParent();
                foreach (var pair in Pairs(Member(node, "p", itemName), itemName))
                {
                    var name = ReadPropertyName(pair[0], itemName);
                    try
                    {
                        obj.Add(name, Read(pair[1], owner.Property(name), depth + 1));
                    }
                    catch (ArgumentException e)
                    {
                        throw Bad(itemName, e.Message);
                    }
                }

                return obj;
            case "hashtable":
            case "ordered":
                var keyComparer = ReadComparer(node, itemName);
                var capacity = EntryCount(node);
                IDictionary dict = code == "hashtable" ? new Hashtable(capacity, keyComparer) : new OrderedDictionary(capacity, keyComparer);
                FillDictionary(dict, node, code, itemName, depth);
                return dict;
            case "arraylist":
                var arrayList = new ArrayList();
                var elements = itemName.AsParent();
                var position = 0;
                foreach (var child in Items(node, itemName).EnumerateArray())
                {
                    arrayList.Add(Read(child, elements.Position(position++), depth + 1));
                }

                return arrayList;
        }

        var type = ResolveType(code, itemName);
        if (type.IsArray)
        {
            var items = Items(node, itemName);
            var array = Array.CreateInstance(type.GetElementType()!, items.GetArrayLength());
            var parent = itemName.AsParent();
            var i = 0;
            foreach (var child in items.EnumerateArray())
            {
                array.SetValue(Convert(Read(child, parent.Position(i), depth + 1), type.GetElementType()!, itemName), i);
                i++;
            }

            return array;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var list = (IList)Activator.CreateInstance(type)!;
            var element = type.GetGenericArguments()[0];
            var parent = itemName.AsParent();
            var i = 0;
            foreach (var child in Items(node, itemName).EnumerateArray())
            {
                list.Add(Convert(Read(child, parent.Position(i), depth + 1), element, itemName));
                i++;
            }

            return list;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            var keyComparer = ReadComparer(node, itemName);
            var capacity = EntryCount(node);
            IDictionary dict;
            if (keyComparer is null)
            {
                dict = (IDictionary)Activator.CreateInstance(type, capacity)!;
            }
            else if (type.GetGenericArguments()[0] == typeof(string))
            {
                dict = (IDictionary)type.GetConstructor([typeof(int), typeof(IEqualityComparer<string>)])!.Invoke([capacity, keyComparer]);
            }
            else
            {
                throw Bad(itemName, "a key comparer is recorded for a dictionary whose keys are not strings");
            }

            FillDictionary(dict, node, code, itemName, depth);
            return dict;
        }

        throw Bad(itemName, $"node type '{code}' cannot stand here");
    }

    /// <summary>Most entries a dictionary is created for before any of them has been read (<see cref="EntryCount"/>).</summary>
    private const int MaxPresizedEntries = 1 << 17;

    /// <summary>
    /// The number of entries a dictionary node lists (0 when it has no entry array: filling it then reports
    /// that), at most <see cref="MaxPresizedEntries"/>. A dictionary is created at this size, so 100,000
    /// entries are inserted without the table growing and rehashing a dozen times, and without the large
    /// arrays each growth left behind. The count is of elements not yet checked: a hostile array of
    /// millions of <c>0</c> (a few KiB once compressed) would otherwise cost a table of 30 bytes per
    /// element, several times the parsed document, before its first element is refused; past the cap the
    /// table grows as valid entries arrive.
    /// </summary>
    private static int EntryCount(JsonElement node) =>
        node.TryGetProperty("e"u8, out var entries) && entries.ValueKind == JsonValueKind.Array ? Math.Min(entries.GetArrayLength(), MaxPresizedEntries) : 0;

    /// <summary>
    /// A node's type code. The most frequent codes are matched in place and answered with a constant, which
    /// spares one short string per leaf; any other code is read as text.
    /// </summary>
    private static string TypeCodeOf(JsonElement t) =>
        t.ValueEquals("i32"u8) ? "i32"
        : t.ValueEquals("f64"u8) ? "f64"
        : t.ValueEquals("i64"u8) ? "i64"
        : t.ValueEquals("hashtable"u8) ? "hashtable"
        : t.GetString()!;

    private void FillDictionary(IDictionary dict, JsonElement node, string code, ItemPath itemName, int depth)
    {
        var args = dict.GetType().IsGenericType ? dict.GetType().GetGenericArguments() : null;
        var mixedKeys = ItemNames.HasMixedKeys(code);
        var parent = itemName.AsParent();
        foreach (var pair in Pairs(Member(node, "e", itemName), itemName))
        {
            var key = ReadDictionaryKey(pair[0], itemName);
            var childName = parent.Key(key, mixedKeys);
            var value = Read(pair[1], childName, depth + 1);
            try
            {
                if (args is not null)
                {
                    dict.Add(Convert(key, args[0], itemName)!, Convert(value, args[1], itemName));
                }
                else
                {
                    dict.Add(key, value);
                }
            }
            catch (ArgumentException)
            {
                throw Bad(itemName, $"duplicate key '{ItemNames.KeySegment(key, mixedKeys)}'");
            }
        }
    }

    /// <summary>The optional <c>cmp</c> field of a dictionary node: its key comparer, or null for the default.</summary>
    private static StringComparer? ReadComparer(JsonElement node, ItemPath itemName)
    {
        if (!node.TryGetProperty("cmp", out var cmp))
        {
            return null;
        }

        try
        {
            return cmp.ValueKind == JsonValueKind.String ? KeyComparers.Resolve(cmp.GetString()!) : throw Bad(itemName, "the key comparer is not a string");
        }
        catch (FormatException e)
        {
            throw Bad(itemName, e.Message);
        }
    }

    /// <summary>A property name: a JSON string, or a <c>str</c> node for a name with lone surrogates.</summary>
    private static string ReadPropertyName(JsonElement nameNode, ItemPath itemName) => nameNode.ValueKind switch
    {
        JsonValueKind.String => nameNode.GetString()!,
        JsonValueKind.Object when nameNode.TryGetProperty("t", out var t) && t.ValueEquals("str") => ReadRawString(nameNode, itemName),
        _ => throw Bad(itemName, "property name is not a string"),
    };

    private static object ReadDictionaryKey(JsonElement keyNode, ItemPath itemName) => keyNode.ValueKind switch
    {
        JsonValueKind.String => keyNode.GetString()!,
        JsonValueKind.Object when keyNode.TryGetProperty("t", out var t) && t.ValueEquals("str") => ReadRawString(keyNode, itemName),
        JsonValueKind.Object when keyNode.TryGetProperty("t", out var t) && t.GetString() is "i8" or "u8" or "i16" or "u16" or "i32" or "u32" =>
            ReadSmallInt(keyNode, t.GetString()!, itemName),
        JsonValueKind.Object when keyNode.TryGetProperty("t", out var t) && t.GetString() is "i64" =>
            long.Parse(Text(keyNode, "v", itemName), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
        JsonValueKind.Object when keyNode.TryGetProperty("t", out var t) && t.GetString() is "u64" =>
            ulong.Parse(Text(keyNode, "v", itemName), NumberStyles.None, CultureInfo.InvariantCulture),
        _ => throw Bad(itemName, "dictionary key is neither a string nor an integer"),
    };

    private static object ReadSmallInt(JsonElement node, string code, ItemPath itemName)
    {
        var v = Int(node, itemName);
        return code switch
        {
            "i8" => checked((sbyte)v),
            "u8" => checked((byte)v),
            "i16" => checked((short)v),
            "u16" => checked((ushort)v),
            "i32" => checked((int)v),
            _ => checked((uint)v),
        };
    }

    private static PrngKey ReadKey(JsonElement node, ItemPath itemName)
    {
        var impl = Text(node, "impl", itemName);
        var data = Member(node, "data", itemName);
        if (data.ValueKind != JsonValueKind.Array || data.GetArrayLength() != 2 || data[0].ValueKind != JsonValueKind.Number || data[1].ValueKind != JsonValueKind.Number || !data[0].TryGetUInt32(out var a) || !data[1].TryGetUInt32(out var b))
        {
            throw Bad(itemName, "PRNG key data is not two uint32 words");
        }

        try
        {
            return new PrngKey(impl, [a, b]);
        }
        catch (ArgumentException e)
        {
            throw Bad(itemName, e.Message);
        }
    }

    private static decimal ReadDecimal(JsonElement node, ItemPath itemName)
    {
        var b = Member(node, "b", itemName);
        if (b.ValueKind != JsonValueKind.Array || b.GetArrayLength() != 4)
        {
            throw Bad(itemName, "decimal bits are malformed");
        }

        Span<int> bits = stackalloc int[4];
        for (var i = 0; i < 4; i++)
        {
            bits[i] = b[i].ValueKind == JsonValueKind.Number && b[i].TryGetUInt32(out var v) ? unchecked((int)v) : throw Bad(itemName, "decimal bits are malformed");
        }

        try
        {
            return new decimal(bits);
        }
        catch (ArgumentException)
        {
            throw Bad(itemName, "decimal bits are invalid");
        }
    }

    private static string ReadRawString(JsonElement node, ItemPath itemName)
    {
        var bytes = node.TryGetProperty("b", out var b) && b.ValueKind == JsonValueKind.String && b.TryGetBytesFromBase64(out var raw) ? raw : throw Bad(itemName, "string bytes are malformed");
        if (bytes.Length % 2 != 0)
        {
            throw Bad(itemName, "UTF-16 string has an odd byte count");
        }

        return new string(MemoryMarshal.Cast<byte, char>(bytes));
    }

    // A DateTime or DateTimeOffset constructor range-checks its parts (ticks, offsets): a stored value out
    // of range is corrupt data, so the caller gets the corrupt-checkpoint error naming the item rather than
    // an ArgumentOutOfRangeException that says nothing of the step. These are methods of their own, not
    // lambdas in Read: a lambda capturing Read's parameters made every call of Read, one per leaf,
    // allocate the closure (64 bytes a leaf, 6 MB for 100,000 ints).
    private static DateTime ReadDateTime(JsonElement node, ItemPath itemName)
    {
        var kind = Enum.TryParse<DateTimeKind>(Text(node, "kind", itemName), out var k) && Enum.IsDefined(k) ? k : throw Bad(itemName, "unknown DateTime kind");
        try
        {
            return new DateTime(Ticks(node, itemName), kind);
        }
        catch (ArgumentException e)
        {
            throw Bad(itemName, e.Message);
        }
    }

    private static DateTimeOffset ReadDateTimeOffset(JsonElement node, ItemPath itemName)
    {
        var offset = node.TryGetProperty("offsetMinutes", out var om) && om.ValueKind == JsonValueKind.Number && om.TryGetInt32(out var m) ? m : throw Bad(itemName, "offset missing");
        try
        {
            return new DateTimeOffset(Ticks(node, itemName), TimeSpan.FromMinutes(offset));
        }
        catch (ArgumentException e)
        {
            throw Bad(itemName, e.Message);
        }
    }

    private static object? Convert(object? value, Type target, ItemPath itemName)
    {
        if (value is null)
        {
            return target.IsValueType && Nullable.GetUnderlyingType(target) is null ? throw Bad(itemName, $"null where a {target.Name} is required") : null;
        }

        return target.IsInstanceOfType(value) ? value : throw Bad(itemName, $"a {value.GetType().Name} where a {target.Name} is required");
    }

    private static Type ResolveType(string code, ItemPath itemName)
    {
        try
        {
            return TypeCodes.Resolve(code);
        }
        catch (FormatException e)
        {
            throw Bad(itemName, e.Message);
        }
    }

    private static IEnumerable<JsonElement> Pairs(JsonElement array, ItemPath itemName)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw Bad(itemName, "entries are not an array");
        }

        foreach (var pair in array.EnumerateArray())
        {
            if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2)
            {
                throw Bad(itemName, "entry is not a [key, value] pair");
            }

            yield return pair;
        }
    }

    private static JsonElement Items(JsonElement node, ItemPath itemName)
    {
        var items = Member(node, "i", itemName);
        return items.ValueKind == JsonValueKind.Array ? items : throw Bad(itemName, "items are not an array");
    }

    private static JsonElement Member(JsonElement node, string name, ItemPath itemName) =>
        node.TryGetProperty(name, out var v) ? v : throw Bad(itemName, $"field '{name}' is missing");

    private static long Int(JsonElement node, ItemPath itemName) =>
        node.TryGetProperty("v"u8, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var i) ? i : throw Bad(itemName, "integer value is missing");

    /// <summary>An integer leaf's value, which must lie in [<paramref name="min"/>, <paramref name="max"/>]: out of range is corrupt data naming the leaf.</summary>
    private static long IntIn(JsonElement node, ItemPath itemName, long min, long max, string code)
    {
        var value = Int(node, itemName);
        return value >= min && value <= max ? value : throw Bad(itemName, string.Create(CultureInfo.InvariantCulture, $"{code} value {value} is out of range"));
    }

    private static long Ticks(JsonElement node, ItemPath itemName) =>
        long.TryParse(Text(node, "ticks", itemName), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var t) ? t : throw Bad(itemName, "ticks are malformed");

    private static string Text(JsonElement node, string name, ItemPath itemName)
    {
        var v = Member(node, name, itemName);
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Bad(itemName, $"field '{name}' is not a string");
    }

    private static void CheckDepth(int depth, string itemName)
    {
        if (depth > StateEncoder.MaxDepth)
        {
            throw Bad(itemName, $"containers nest deeper than {StateEncoder.MaxDepth} levels");
        }
    }

    private static void CheckDepth(int depth, ItemPath itemName)
    {
        if (depth > StateEncoder.MaxDepth)
        {
            throw Bad(itemName, $"containers nest deeper than {StateEncoder.MaxDepth} levels");
        }
    }

    private static InvalidDataException Bad(ItemPath itemName, string problem) => Bad(itemName.Name, problem);

    private static InvalidDataException Bad(string itemName, string problem) =>
        new(itemName.Length == 0 ? problem : $"{problem} (item '{itemName}')");
}
