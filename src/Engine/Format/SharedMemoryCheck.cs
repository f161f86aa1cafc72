using DataraxCkpt.Values;

namespace DataraxCkpt.Format;

/// <summary>
/// Finds restore-into destinations that share memory although they are different objects: an array and a
/// Tensor&lt;T&gt; built over it, two tensors over one array, or tensors over overlapping parts of one array.
/// Chunks are decoded in parallel and checked after decoding, so two stored tensors decoded into the same bytes
/// would leave a mix there (and fail the checksum of a good store, or silently keep the other tensor's values).
/// A tensor does not expose the array it wraps, so memory is compared by address: the addresses of all
/// destinations are read with no garbage collection in between (one could move the arrays), then sorted.
/// </summary>
internal static class SharedMemoryCheck
{
    /// <summary>
    /// Checks the destinations of <paramref name="pending"/> from <paramref name="first"/> on. One stored tensor
    /// (tied) at two places over exactly the same bytes is kept once: the later destination is removed.
    /// </summary>
    /// <exception cref="IncompatibleStateException">Two destinations share bytes but take different stored
    /// tensors (or overlap only in part); names the later item and, in its Found text, the earlier one.</exception>
    public static void Check(List<TensorDestination> pending, int first)
    {
        var count = pending.Count - first;
        if (count < 2)
        {
            return;
        }

        var ranges = new (nint Start, long Length, int Position)[count];
        int collections;
        do
        {
            collections = GC.CollectionCount(0);
            for (var i = 0; i < count; i++)
            {
                var destination = pending[first + i];
                ranges[i] = (destination.Address(), destination.Layout.RawLength, first + i);
            }
        }
        while (GC.CollectionCount(0) != collections);

        Array.Sort(ranges, static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.Position.CompareTo(b.Position));
        var duplicates = new List<int>();
        var reach = -1;
        for (var i = 0; i < count; i++)
        {
            var range = ranges[i];
            if (range.Length == 0)
            {
                continue;
            }

            if (reach >= 0 && range.Start - ranges[reach].Start < ranges[reach].Length)
            {
                // Every earlier range this one overlaps also overlaps the one reaching furthest (sorted by start).
                var (earlier, later) = ranges[reach].Position < range.Position ? (pending[ranges[reach].Position], pending[range.Position])
                    : (pending[range.Position], pending[ranges[reach].Position]);
                if (range.Start == ranges[reach].Start && range.Length == ranges[reach].Length && ReferenceEquals(earlier.Layout, later.Layout))
                {
                    duplicates.Add(Math.Max(range.Position, ranges[reach].Position));
                    continue;
                }

                throw new IncompatibleStateException(later.ItemName,
                    "memory of its own (the step stores different tensors here and at '" + earlier.ItemName + "')",
                    "memory shared with item '" + earlier.ItemName + "' (an array and a tensor over it, or tensors over one array)");
            }

            if (reach < 0 || range.Start - ranges[reach].Start + range.Length > ranges[reach].Length)
            {
                reach = i;
            }
        }

        duplicates.Sort();
        for (var i = duplicates.Count - 1; i >= 0; i--)
        {
            pending.RemoveAt(duplicates[i]);
        }
    }
}
