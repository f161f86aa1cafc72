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
/// <param name="Order">
/// The paths of its children in stored order for a container whose order a restore keeps and a user sees (an
/// <c>ordered</c> dictionary, a <c>psobject</c>, a <c>dict&lt;K,V&gt;</c>, which enumerates its entries in the order a
/// restore adds them); null for the others (a hashtable has no order, a list's order is in its children's paths).
/// </param>
internal readonly record struct ComparedContainer(string Name, string Type, bool Empty, IReadOnlyList<string>? Order = null);

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

    /// <summary>Every path that has a leaf or container of this step beneath it (built on first use).</summary>
    private HashSet<string>? _ancestors;

    /// <summary>
    /// Whether a leaf or another container of this step lies beneath the container <paramref name="name"/>, by the
    /// names compared. Under today's names every container with children has one; a step that lists its items by
    /// the grammar before may name the leaves under a key <c>""</c> as if the key were not there (<c>{"": {"x": 1}}</c>
    /// lists <c>x</c>), so its container shows in no name and must be reported itself.
    /// </summary>
    public bool HasNamesBeneath(string name)
    {
        if (name == ItemNames.RootLeaf)
        {
            return Leaves.Count + Containers.Count > 1;
        }

        if (_ancestors is null)
        {
            _ancestors = new HashSet<string>(StringComparer.Ordinal);
            foreach (var leaf in Leaves)
            {
                AddAncestors(leaf.Item.Name);
            }

            foreach (var container in Containers)
            {
                AddAncestors(container.Name);
            }
        }

        return _ancestors.Contains(name);
    }

    private void AddAncestors(string name)
    {
        for (var slash = name.LastIndexOf('/'); slash > 0; slash = name.LastIndexOf('/', slash - 1))
        {
            if (!_ancestors!.Add(name[..slash]))
            {
                // Its own ancestors were added with it.
                return;
            }
        }
    }
}
