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

    private static bool IsContainer(JsonElement node) => ChildArrayOf(node) is not null;

    /// <summary>
    /// The field holding a container node's children ("e", "p" or "i"), or null for a leaf. Decided as the
    /// one-pass reader a restore uses decides it: by the node's type, never by which fields are present, so a
    /// leaf node that also carries a child array (a planted manifest) is the leaf a restore gives to item
    /// listing, selection and Compare too, not a container of the children it carries. A type that is not a
    /// string, or no known type, is no container: the leaf check then reports it as malformed.
    /// </summary>
    private static string? ChildArrayOf(JsonElement node) => ChildArrayOf(node, TypeOf(node));

    /// <summary>A node's type code (its <c>t</c> field when that is a string), or null.</summary>
    private static string? TypeOf(JsonElement node) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty("t"u8, out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;

    /// <summary><see cref="ChildArrayOf(JsonElement)"/> of a node whose type code (<see cref="TypeOf"/>) was read already.</summary>
    private static string? ChildArrayOf(JsonElement node, string? code)
    {
        if (code is null)
        {
            return null;
        }

        Field field;
        try
        {
            field = ChildField(code, ItemPath.Root, null);
        }
        catch (InvalidDataException)
        {
            return null;
        }

        // A key[] reads its keys from "i" but is one leaf (docs/format.md §6.3).
        if (field == Field.Other || code == TypeCodes.KeyArray)
        {
            return null;
        }

        var name = NameOf(field);
        return node.TryGetProperty(name, out _) ? name : null;
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
        CheckContainerFields(node, itemName);
        var field = ChildArrayOf(node);
        if (field == "e")
        {
            var mixedKeys = ItemNames.HasMixedKeys(node.GetProperty("t").GetString()!);
            foreach (var pair in Pairs(node.GetProperty("e"), itemName))
            {
                var key = ReadDictionaryKey(pair[0], itemName);
                yield return (ItemNames.Join(itemName, ItemNames.KeySegment(key, mixedKeys)), pair[1]);
            }
        }
        else if (field == "p")
        {
            foreach (var pair in Pairs(node.GetProperty("p"), itemName))
            {
                yield return (ItemNames.Join(itemName, ItemNames.Escape(ReadPropertyName(pair[0], itemName))), pair[1]);
            }
        }
        else
        {
            var i = 0;
            foreach (var child in Items(node, itemName).EnumerateArray())
            {
                yield return (ItemNames.Join(itemName, (i++).ToString(CultureInfo.InvariantCulture)), child);
            }
        }
    }

    /// <summary>A property name: a JSON string, or a <c>str</c> node for a name with lone surrogates.</summary>
    private static string ReadPropertyName(JsonElement nameNode, ItemPath itemName) => nameNode.ValueKind switch
    {
        JsonValueKind.String => nameNode.GetString()!,
        JsonValueKind.Object when nameNode.TryGetProperty("t", out var t) && t.ValueEquals(TypeCodes.String) => ReadRawString(nameNode, itemName),
        _ => throw Bad(itemName, "property name is not a string"),
    };

    private static object ReadDictionaryKey(JsonElement keyNode, ItemPath itemName) => keyNode.ValueKind switch
    {
        JsonValueKind.String => keyNode.GetString()!,
        JsonValueKind.Object when keyNode.TryGetProperty("t", out var t) && t.ValueEquals(TypeCodes.String) => ReadRawString(keyNode, itemName),
        JsonValueKind.Object when keyNode.TryGetProperty("t", out var t) && t.GetString() is TypeCodes.SByte or TypeCodes.Byte or TypeCodes.Int16 or TypeCodes.UInt16 or TypeCodes.Int32 or TypeCodes.UInt32 =>
            ReadSmallInt(keyNode, t.GetString()!, itemName),
        JsonValueKind.Object when keyNode.TryGetProperty("t", out var t) && t.GetString() is TypeCodes.Int64 =>
            long.Parse(Text(keyNode, "v", itemName), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
        JsonValueKind.Object when keyNode.TryGetProperty("t", out var t) && t.GetString() is TypeCodes.UInt64 =>
            ulong.Parse(Text(keyNode, "v", itemName), NumberStyles.None, CultureInfo.InvariantCulture),
        _ => throw Bad(itemName, "dictionary key is neither a string nor an integer"),
    };

    private static object ReadSmallInt(JsonElement node, string code, ItemPath itemName)
    {
        var v = Int(node, itemName);
        return code switch
        {
            TypeCodes.SByte => checked((sbyte)v),
            TypeCodes.Byte => checked((byte)v),
            TypeCodes.Int16 => checked((short)v),
            TypeCodes.UInt16 => checked((ushort)v),
            TypeCodes.Int32 => checked((int)v),
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

    private static string ReadRawString(JsonElement node, ItemPath itemName)
    {
        var bytes = node.TryGetProperty("b", out var b) && b.ValueKind == JsonValueKind.String && b.TryGetBytesFromBase64(out var raw) ? raw : throw Bad(itemName, "string bytes are malformed");
        if (bytes.Length % 2 != 0)
        {
            throw Bad(itemName, "UTF-16 string has an odd byte count");
        }

        return new string(MemoryMarshal.Cast<byte, char>(bytes));
    }

    private static object? Convert(object? value, Type target, ItemPath itemName)
    {
        if (value is null)
        {
            return target.IsValueType && Nullable.GetUnderlyingType(target) is null ? throw Bad(itemName, $"null where a {target.Name} is required") : null;
        }

        return target.IsInstanceOfType(value) ? value : throw Bad(itemName, $"a {value.GetType().Name} where a {target.Name} is required");
    }

    /// <summary>Most codes one decoder remembers resolved (a hostile manifest of many distinct codes cannot grow its cache past it).</summary>
    internal const int MaxResolvedCodes = 256;

    /// <summary>
    /// Codes this decoder has resolved: a code is parsed into a type (a substring, then a lookup or a constructed
    /// generic or array type) at every node that has it, up to three times a node (its child field, its children,
    /// its container), so a state of many <c>any[]</c> arrays spent a few percent of its restore there (round 41).
    /// Owned by one decoder, that is one decode on one thread (as <see cref="_tensors"/> is): no state outlives
    /// the restore or is shared between restores. Codes that fail are not remembered and fail the same way every time.
    /// </summary>
    private readonly Dictionary<string, Type> _resolvedCodes = new(StringComparer.Ordinal);

    /// <summary>How many codes this decoder remembers (for tests of the bound).</summary>
    internal int ResolvedCodeCount => _resolvedCodes.Count;

    /// <summary>A code's type, remembered by this decoder.</summary>
    private Type ResolveType(string code, ItemPath itemName) => ResolveType(code, itemName, _resolvedCodes);

    /// <summary>A code's type, looked up in and added to <paramref name="resolved"/> when one is given (bounded).</summary>
    private static Type ResolveType(string code, ItemPath itemName, Dictionary<string, Type>? resolved)
    {
        if (resolved is not null && resolved.TryGetValue(code, out var known))
        {
            return known;
        }

        Type type;
        try
        {
            type = TypeCodes.Resolve(code);
        }
        catch (FormatException e)
        {
            throw Bad(itemName, e.Message);
        }

        if (resolved is not null && resolved.Count < MaxResolvedCodes)
        {
            resolved.TryAdd(code, type);
        }

        return type;
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

    /// <summary>
    /// The two node rules the one-pass reader checks (docs/format.md §2.4), checked on a container the structure
    /// walks look up by name: no field twice (a document would silently take the last one) and no child array
    /// before the type. Without it a selection, a restore into a state or a comparison would take a value from a
    /// node that a whole restore refuses as corrupt.
    /// </summary>
    private static void CheckContainerFields(JsonElement node, string itemName)
    {
        var code = node.TryGetProperty("t"u8, out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : null;
        var child = Field.Other;
        if (code is not null)
        {
            try
            {
                child = ChildField(code, ItemPath.Root, null);
            }
            catch (InvalidDataException)
            {
                // An unknown type: the walk reports it where it reads the node.
            }
        }

        // One bit a known field: a set of strings here was one allocation a container, 4,000 of them in 2,000 configs.
        var seen = 0;
        var typeSeen = false;
        foreach (var field in node.EnumerateObject())
        {
            var name = field.Name;
            var bit = KnownFieldBit(name);
            if (bit != 0 && (seen & bit) != 0)
            {
                throw Bad(itemName, $"node has field '{name}' twice");
            }

            seen |= bit;
            if (name == "t")
            {
                typeSeen = true;
            }
            else if (!typeSeen && child != Field.Other && name == NameOf(child) && field.Value.ValueKind is JsonValueKind.Array or JsonValueKind.Object)
            {
                throw Bad(itemName, $"field '{name}' comes before the node's type 't'");
            }
        }
    }

    /// <summary>A bit of its own for each field <see cref="CheckContainerFields"/> refuses twice; 0 for any other name.</summary>
    private static int KnownFieldBit(string name) => name switch
    {
        "t" => 1 << 0,
        "v" => 1 << 1,
        "b" => 1 << 2,
        "e" => 1 << 3,
        "p" => 1 << 4,
        "i" => 1 << 5,
        "ct" => 1 << 6,
        "cmp" => 1 << 7,
        "kind" => 1 << 8,
        "ticks" => 1 << 9,
        "offsetMinutes" => 1 << 10,
        "impl" => 1 << 11,
        "data" => 1 << 12,
        _ => 0,
    };

    private static InvalidDataException Bad(ItemPath itemName, string problem) => Bad(itemName.Name, problem);

    private static InvalidDataException Bad(string itemName, string problem) =>
        new(itemName.Length == 0 ? problem : $"{problem} (item '{itemName}')");
}
