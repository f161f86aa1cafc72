using DataraxCkpt.Values;

namespace DataraxCkpt;

/// <summary>A leaf of a step as <see cref="StepComparer"/> sees it: its item (name, kind, dtype, shape) and its restored value.</summary>
/// <param name="Item">The leaf's item, under the name it is compared by.</param>
/// <param name="Value">The value a restore gives the leaf.</param>
internal readonly record struct ComparedLeaf(StoredItem Item, object? Value);

/// <summary>
/// A container of a step (a dictionary, list, array or object node): its path, its type as the step records it and
/// whether it holds nothing. It has no leaf of its own, so without it a change of container type, of key comparer, or
/// an empty container appearing or going, would restore differently yet show in no leaf.
/// </summary>
/// <param name="Name">The container's path (<c>.</c> for the state itself).</param>
/// <param name="Type">Its type code, with the key comparer in brackets when the node records one (<c>hashtable[ordinal-ic]</c>).</param>
/// <param name="Empty">It has no children.</param>
internal readonly record struct ComparedContainer(string Name, string Type, bool Empty);

/// <summary>
/// Everything of one step <see cref="StepComparer"/> compares, gathered in one walk of its state node: the leaves in
/// leaf order and the containers, each with an index by name. Names are unique among the leaves and among the
/// containers (a repeated name is refused while gathering as a corrupt step).
/// </summary>
internal sealed class ComparedStep
{
    public ComparedStep(int leafCapacity)
    {
        Leaves = new List<ComparedLeaf>(leafCapacity);
        LeafIndex = new Dictionary<string, int>(leafCapacity, StringComparer.Ordinal);
    }

    public List<ComparedLeaf> Leaves { get; }

    public Dictionary<string, int> LeafIndex { get; }

    public List<ComparedContainer> Containers { get; } = [];

    public Dictionary<string, int> ContainerIndex { get; } = new(StringComparer.Ordinal);
}
