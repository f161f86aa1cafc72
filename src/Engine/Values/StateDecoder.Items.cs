using System.Globalization;
using System.Numerics;
using System.Text.Json;
using DataraxCkpt.Format;

namespace DataraxCkpt.Values;

/// <summary>
/// Derives a step's items from its state node (the <c>items-from-state</c> feature, docs/format.md §4):
/// the leaves in walk order, named by the grammar of §6.3, with kind, dtype, shape and size from the
/// table of §2.3 and tensor items from the tensor table. It yields exactly the list the encoder records
/// for the same state, so the index, item selection and Compare see the same items either way.
/// </summary>
internal sealed partial class StateDecoder
{
    /// <summary>The items of a state node, in leaf order.</summary>
    /// <exception cref="InvalidDataException">A node is malformed or refers outside the tensor table.</exception>
    public static List<StoredItem> DeriveItems(JsonElement state, IReadOnlyList<TensorLayout> tensors)
    {
        var items = new List<StoredItem>();
        Walk(state, tensors, items);
        return items;
    }

    /// <summary>
    /// Refuses exactly what <see cref="DeriveItems(JsonElement, IReadOnlyList{TensorLayout})"/> refuses, with the same
    /// exception, without making the items: a repair that only has to know a folder's state node is sound (its index row
    /// matches) pays for the walk, not for an item and a list slot per leaf. It is the same walk with the items left
    /// unmade: every value a leaf's item reads is still read and checked, and every name is still built and counted.
    /// </summary>
    /// <exception cref="InvalidDataException">A node is malformed or refers outside the tensor table.</exception>
    public static void CheckItems(JsonElement state, IReadOnlyList<TensorLayout> tensors) => Walk(state, tensors, items: null);

    private static void Walk(JsonElement state, IReadOnlyList<TensorLayout> tensors, List<StoredItem>? items)
    {
        var decoder = new StateDecoder((_, _, _) => throw new InvalidOperationException("item derivation loads no tensor"));
        try
        {
            decoder.DeriveItems(state, string.Empty, 0, tensors, items);
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException
                                       or ArgumentException)
        {
            // A hostile node of the wrong JSON kind (a number where an object belongs, "-" as an integer) makes
            // the JSON API throw these; every caller handles a malformed manifest as InvalidDataException.
            throw new InvalidDataException($"the state node cannot be read for its items: {e.Message}", e);
        }
    }

    /// <summary>
    /// The most characters all derived item names may hold together (docs/format.md §6.4). A name repeats
    /// every key above its leaf, so without a bound a small manifest (one long key over many short leaves,
    /// which LZ4 shrinks to almost nothing) would make derivation hold gigabytes of names; an items array
    /// could not, as it had to spell each name out within the manifest's limit. The writer refuses a state
    /// beyond it. 2^28 characters keep the names, at three UTF-8 bytes a character at worst, inside the
    /// index's item-list blob, which SQLite caps at 10^9 bytes.
    /// </summary>
    public const long MaxItemNameChars = 1L << 28;

    /// <summary>Characters of the item names derived so far (bounded by <see cref="MaxItemNameChars"/>).</summary>
    private long _derivedNameChars;

    /// <summary>The name of the first leaf that refers to tensor <paramref name="index"/>, or null; only used to word an error.</summary>
    public static string? NameOfTensor(JsonElement state, int index)
    {
        try
        {
            var decoder = new StateDecoder((_, _, _) => throw new InvalidOperationException("naming loads no tensor"));
            return decoder.FindTensor(state, string.Empty, 0, index);
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    private string? FindTensor(JsonElement node, string itemName, int depth, int index)
    {
        CheckDepth(depth, itemName);
        if (IsContainer(node))
        {
            foreach (var (name, child) in Children(node, itemName))
            {
                if (FindTensor(child, name, depth + 1, index) is { } found)
                {
                    return found;
                }
            }

            return null;
        }

        return node.ValueKind == JsonValueKind.Object && node.TryGetProperty("t", out var t) && t.ValueEquals(TypeCodes.Tensor)
            && node.TryGetProperty("i", out var i) && i.ValueKind == JsonValueKind.Number && i.TryGetInt32(out var n) && n == index
            ? (itemName.Length == 0 ? ItemNames.RootLeaf : itemName) : null;
    }

    /// <summary>Adds the items of <paramref name="node"/>'s leaves to <paramref name="items"/>, or only checks them when it is null (<see cref="CheckItems"/>).</summary>
    /// <param name="node">The node.</param>
    /// <param name="itemName">Its path.</param>
    /// <param name="depth">Its nesting.</param>
    /// <param name="tensors">The tensor table.</param>
    /// <param name="items">Where the leaves' items go; null to check the nodes only.</param>
    private void DeriveItems(JsonElement node, string itemName, int depth, IReadOnlyList<TensorLayout> tensors, List<StoredItem>? items)
    {
        CheckDepth(depth, itemName);
        // The type is read once and handed on: the container test and the leaf both need it (a string made per read).
        var code = TypeOf(node);
        if (ChildArrayOf(node, code) is not null)
        {
            foreach (var (name, child) in Children(node, itemName))
            {
                DeriveItems(child, name, depth + 1, tensors, items);
            }

            return;
        }

        var item = DeriveLeaf(node, itemName, tensors, code, make: items is not null);
        items?.Add(item!);
    }

    /// <summary>The item of a leaf node (not a container), named by the grammar; counts its name against <see cref="MaxItemNameChars"/>.</summary>
    /// <param name="node">The leaf node.</param>
    /// <param name="itemName">Its path.</param>
    /// <param name="tensors">The tensor table.</param>
    /// <param name="code">The node's type code when the caller read it already (<see cref="TypeOf"/>), so it is not read twice.</param>
    /// <param name="make">False: every check is made and every value the item holds is read, but no item is made (null is returned).</param>
    private StoredItem? DeriveLeaf(JsonElement node, string itemName, IReadOnlyList<TensorLayout> tensors, string? code = null, bool make = true)
    {
        var leafName = itemName.Length == 0 ? ItemNames.RootLeaf : itemName;
        _derivedNameChars += leafName.Length;
        if (_derivedNameChars > MaxItemNameChars)
        {
            throw Bad(Truncate(itemName), $"the item names derived from the state node exceed {MaxItemNameChars} characters in all");
        }

        switch (node.ValueKind)
        {
            case JsonValueKind.Null:
                return Item(make, leafName, "null", null, null, 0, -1);
            case JsonValueKind.True or JsonValueKind.False:
                return Item(make, leafName, "scalar", "bool", null, 1, -1);
            case JsonValueKind.String:
                return Item(make, leafName, "string", "str", null, node.GetString()!.Length * 2L, -1);
            case JsonValueKind.Object:
                break;
            default:
                throw Bad(itemName, $"unexpected JSON {node.ValueKind}");
        }

        code ??= node.TryGetProperty("t", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : throw Bad(itemName, "node has no type");
        return code switch
        {
            TypeCodes.String => Item(make, leafName, "string", "str", null, ReadRawString(node, itemName).Length * 2L, -1),
            TypeCodes.PrngKey => Item(make, leafName, "key", ReadKey(node, itemName).Impl, null, 8, -1),
            TypeCodes.KeyArray => Keys(node, leafName, itemName, make),
            TypeCodes.Tensor => Tensor(node, leafName, itemName, tensors, make),
            TypeCodes.BigInteger => Item(make, leafName, "scalar", code, null, BigIntegerSize(node, itemName), -1),
            _ => ScalarSize(code) is var size && size > 0
                ? Item(make, leafName, "scalar", code, null, size, -1)
                : throw Bad(itemName, $"node type '{Truncate(code)}' cannot stand here"),
        };
    }

    /// <summary>The item, or null when it is not wanted (its values were read and checked by the caller's arguments all the same).</summary>
    private static StoredItem? Item(bool make, string name, string kind, string? dType, long[]? shape, long size, int tensorIndex) =>
        make ? new StoredItem(name, kind, dType, shape, size, tensorIndex) : null;

    private static StoredItem? Keys(JsonElement node, string name, string itemName, bool make)
    {
        var count = Items(node, itemName).GetArrayLength();
        return Item(make, name, "keys", PrngKey.Threefry2x32Impl, [count], count * 8L, -1);
    }

    private static StoredItem? Tensor(JsonElement node, string name, string itemName, IReadOnlyList<TensorLayout> tensors, bool make)
    {
        Text(node, "ct", itemName);
        var index = node.TryGetProperty("i", out var ti) && ti.ValueKind == JsonValueKind.Number && ti.TryGetInt32(out var i) ? i : throw Bad(itemName, "tensor index missing");
        if (index < 0 || index >= tensors.Count)
        {
            throw Bad(itemName, $"tensor index {index} is outside the tensor table ({tensors.Count} tensors)");
        }

        var layout = tensors[index];
        return Item(make, name, "tensor", layout.DType, layout.Shape, layout.RawLength, index);
    }

    private static long BigIntegerSize(JsonElement node, string itemName)
    {
        var digits = Text(node, "v", itemName);
        return digits.Length <= StateEncoder.MaxBigIntegerDigits
            && BigInteger.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big)
            ? big.GetByteCount() : throw Bad(itemName, "integer is malformed or too long");
    }

    /// <summary>The item size of a scalar code (docs/format.md §2.3), or 0 for a code that is not a scalar leaf.</summary>
    private static long ScalarSize(string code) => code switch
    {
        TypeCodes.Bool or TypeCodes.SByte or TypeCodes.Byte => 1,
        TypeCodes.Int16 or TypeCodes.UInt16 or TypeCodes.Char or TypeCodes.Half => 2,
        TypeCodes.Int32 or TypeCodes.UInt32 or TypeCodes.Single => 4,
        TypeCodes.Int64 or TypeCodes.UInt64 or TypeCodes.NInt or TypeCodes.NUInt or TypeCodes.Double or TypeCodes.DateTime or TypeCodes.TimeSpan => 8,
        TypeCodes.DateTimeOffset => 10,
        TypeCodes.Int128 or TypeCodes.UInt128 or TypeCodes.Decimal or TypeCodes.Guid => 16,
        _ => 0,
    };

    private static string Truncate(string s) => s.Length <= 32 ? s : s[..32] + "…";
}
