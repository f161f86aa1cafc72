using System.Globalization;
using System.Text.Json;
using DataraxCkpt.Format;

namespace DataraxCkpt.Values;

/// <summary>
/// Gathers what Compare compares of one step in one walk of its state node: each leaf's item and restored value, and
/// each container's type. One walk builds each name once and reads each leaf once, where deriving the items, counting
/// the leaves and reading them by name walked the node three times and matched every name against a wildcard.
/// </summary>
internal sealed partial class StateDecoder
{
    /// <summary>The leaves and containers of a state node, for <see cref="StepComparer"/>.</summary>
    /// <param name="state">The state node.</param>
    /// <param name="tensors">The step's tensor table.</param>
    /// <param name="listed">
    /// The manifest's <c>items</c> array of a step written without <c>items-from-state</c>, or null. Its entries name
    /// the leaves in leaf order (docs/format.md §6.3); each must be the name this grammar or the one before it gives
    /// the leaf at its place, so two names exchanged between the list and the state node (which would compare each
    /// leaf under the other's name) make the step corrupt, as does a list of another length than the leaves.
    /// </param>
    /// <param name="readValues">Whether to read each leaf's value (false: Verify checks only the names, the values stay null).</param>
    /// <exception cref="InvalidDataException">A node is malformed, the items list disagrees with the state node, or a name repeats.</exception>
    public ComparedStep CompareNodes(JsonElement state, IReadOnlyList<TensorLayout> tensors, IReadOnlyList<StoredItem>? listed, bool readValues = true)
    {
        var walk = new CompareWalk(new ComparedStep(listed?.Count ?? 16), tensors, listed) { ReadValues = readValues };
        try
        {
            Gather(state, string.Empty, string.Empty, 0, walk);
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException
                                       or ArgumentException)
        {
            // As in DeriveItems: a node of the wrong JSON kind makes the JSON API throw these.
            throw new InvalidDataException($"the state node cannot be read for its items: {e.Message}", e);
        }

        if (listed is not null && walk.Step.Leaves.Count != listed.Count)
        {
            throw new InvalidDataException($"the manifest's items list {listed.Count} leaves where the state node holds {walk.Step.Leaves.Count}");
        }

        return walk.Step;
    }

    private sealed class CompareWalk(ComparedStep step, IReadOnlyList<TensorLayout> tensors, IReadOnlyList<StoredItem>? listed)
    {
        public ComparedStep Step { get; } = step;

        public IReadOnlyList<TensorLayout> Tensors { get; } = tensors;

        public IReadOnlyList<StoredItem>? Listed { get; } = listed;

        public bool ReadValues { get; init; } = true;

        /// <summary>
        /// Whether leaves keep their listed names: yes unless two repeat (a step written before the grammar stored
        /// <c>{"": {"x": 1}, "x": 2}</c> as two items named <c>x</c>); then the derived names keep each leaf reachable,
        /// as <see cref="ItemsByUsableName"/> gives them to selection.
        /// </summary>
        public bool ListedNames { get; } = listed is null || listed.Select(i => i.Name).Distinct(StringComparer.Ordinal).Count() == listed.Count;
    }

    /// <param name="node">The node.</param>
    /// <param name="itemName">Its path by this grammar.</param>
    /// <param name="oldName">Its path by the grammar before it (only built for a step that lists its items).</param>
    /// <param name="depth">Its depth.</param>
    /// <param name="walk">What is gathered.</param>
    private void Gather(JsonElement node, string itemName, string oldName, int depth, CompareWalk walk)
    {
        CheckDepth(depth, itemName);
        var code = TypeOf(node);
        var field = ChildArrayOf(node, code);
        if (field is null)
        {
            GatherLeaf(node, itemName, oldName, depth, code, walk);
            return;
        }

        CheckContainerFields(node, itemName);
        var legacy = walk.Listed is not null;
        var children = 0;

        // An ordered dictionary, a psobject and a Dictionary<K,V> restore their children in stored order (the last
        // enumerates in the order its entries were added), which no name shows. A hashtable enumerates by its keys' hashes.
        var order = code is TypeCodes.Ordered or TypeCodes.PSObject || code?.StartsWith(TypeCodes.Dict + "<", StringComparison.Ordinal) == true ? new List<string>() : null;
        if (field == "e")
        {
            var mixedKeys = ItemNames.HasMixedKeys(code!);
            foreach (var pair in Pairs(node.GetProperty("e"u8), itemName))
            {
                var key = ReadDictionaryKey(pair[0], itemName);
                var old = legacy ? ItemNames.Join(oldName, LegacyEscape(key as string ?? System.Convert.ToString(key, CultureInfo.InvariantCulture)!)) : string.Empty;
                var childName = ItemNames.Join(itemName, ItemNames.KeySegment(key, mixedKeys));
                order?.Add(childName);
                Gather(pair[1], childName, old, depth + 1, walk);
                children++;
            }
        }
        else if (field == "p")
        {
            foreach (var pair in Pairs(node.GetProperty("p"u8), itemName))
            {
                var name = ReadPropertyName(pair[0], itemName);
                var old = legacy ? ItemNames.Join(oldName, LegacyEscape(name)) : string.Empty;
                var childName = ItemNames.Join(itemName, ItemNames.Escape(name));
                order?.Add(childName);
                Gather(pair[1], childName, old, depth + 1, walk);
                children++;
            }
        }
        else
        {
            foreach (var child in Items(node, itemName).EnumerateArray())
            {
                var index = children.ToString(CultureInfo.InvariantCulture);
                Gather(child, ItemNames.Join(itemName, index), legacy ? ItemNames.Join(oldName, index) : string.Empty, depth + 1, walk);
                children++;
            }
        }

        var containerName = itemName.Length == 0 ? ItemNames.RootLeaf : itemName;
        var type = node.TryGetProperty("cmp"u8, out var cmp) && cmp.ValueKind == JsonValueKind.String ? $"{code}[{cmp.GetString()}]" : code!;
        if (!walk.Step.ContainerIndex.TryAdd(containerName, walk.Step.Containers.Count))
        {
            throw new InvalidDataException($"item '{containerName}' names two containers (a dictionary repeats a key)");
        }

        walk.Step.Containers.Add(new ComparedContainer(containerName, type, children == 0, order is { Count: > 1 } ? order : null));
    }

    private void GatherLeaf(JsonElement node, string itemName, string oldName, int depth, string? code, CompareWalk walk)
    {
        var item = DeriveLeaf(node, itemName, walk.Tensors, code)!;
        var leaves = walk.Step.Leaves;
        if (walk.Listed is { } listed)
        {
            if (leaves.Count >= listed.Count)
            {
                throw Bad(itemName, $"the manifest's items list {listed.Count} leaves where the state node holds more");
            }

            var stored = listed[leaves.Count];
            var oldLeaf = oldName.Length == 0 ? ItemNames.RootLeaf : oldName;
            if (!string.Equals(stored.Name, item.Name, StringComparison.Ordinal) && !string.Equals(stored.Name, oldLeaf, StringComparison.Ordinal))
            {
                throw Bad(item.Name, $"the manifest's items list names leaf {leaves.Count} '{stored.Name}', which the state node names '{item.Name}' (the items list and the state node disagree)");
            }

            // Compare shows the listed kind, dtype and shape, so they must be what a restore gives the leaf: a list
            // saying i64 where the node restores an i32 would make equal steps differ, or hide a change.
            if (!string.Equals(stored.Kind, item.Kind, StringComparison.Ordinal) || !string.Equals(stored.DType, item.DType, StringComparison.Ordinal)
                || !SameShape(stored.Shape, item.Shape))
            {
                throw Bad(item.Name, $"the manifest's items list gives leaf {leaves.Count} '{stored.Name}' as {Described(stored)}, which the state node stores as {Described(item)} (the items list and the state node disagree)");
            }

            // The listed entry is what the index and Get-CheckpointItem show for this leaf: compare by it.
            item = walk.ListedNames ? stored : stored with { Name = item.Name };
        }

        if (!walk.Step.LeafIndex.TryAdd(item.Name, leaves.Count))
        {
            throw new InvalidDataException($"item '{item.Name}' names two leaves (a dictionary repeats a key)");
        }

        leaves.Add(new ComparedLeaf(item, walk.ReadValues ? Read(node, itemName, depth) : null));
    }

    // As Compare holds shapes (StepComparer.SameShape): no shape and an empty one are the same, so a list giving a
    // scalar the shape [] cannot make Compare wrong and is no reason to call a restorable step corrupt (found by the
    // attack on enginedebts).
    private static bool SameShape(long[]? a, long[]? b) => (a ?? []).AsSpan().SequenceEqual(b ?? []);

    /// <summary>A leaf's kind, dtype and shape as an error names them: <c>tensor f32 [3]</c>.</summary>
    private static string Described(StoredItem item) =>
        $"{item.Kind} {item.DType ?? "(no dtype)"}{(item.Shape is null ? string.Empty : " [" + string.Join(',', item.Shape) + "]")}";

    /// <summary>
    /// A segment as item names wrote it before today's grammar (docs/format.md §6.3): only '~' → '~0' and '/' → '~1';
    /// the empty string stays empty, a lone surrogate stays as it is, an integer key is its plain decimal.
    /// </summary>
    private static string LegacyEscape(string segment) =>
        segment.AsSpan().IndexOfAny('~', '/') < 0 ? segment : segment.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
}
