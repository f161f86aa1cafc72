using System.Collections;
using DataraxCkpt.Storage;
using DataraxCkpt.Values;

namespace DataraxCkpt;

/// <summary>
/// What changed between two steps, leaf by leaf: leaves added, removed, or changed (in type, shape or
/// value). For numeric tensors and scalars of equal type and shape it also gives the largest absolute
/// element difference. Leaves equal in type, shape and bits are not reported. Containers are reported where a
/// restore would give a different container yet no leaf shows it: a container whose type or key comparer changed,
/// a path that is a container in one step and a leaf in the other, and an empty container added or removed.
/// </summary>
internal static class StepComparer
{
    public static List<ItemDifference> Compare(ICheckpointStore store, long stepBefore, long stepAfter)
    {
        var (before, after) = store.ReadForCompare(stepBefore, stepAfter);
        var differences = new List<ItemDifference>();
        foreach (var (item, _) in before.Leaves)
        {
            if (!after.LeafIndex.ContainsKey(item.Name))
            {
                differences.Add(ContainerAt(after, before, item.Name) is { } container
                    ? new ItemDifference(item.Name, "Changed", item.DType, container.Type, item.Shape, null, null)
                    : new ItemDifference(item.Name, "Removed", item.DType, null, item.Shape, null, null));
            }
        }

        foreach (var (item, b) in after.Leaves)
        {
            if (!before.LeafIndex.TryGetValue(item.Name, out var at))
            {
                differences.Add(ContainerAt(before, after, item.Name) is { } container
                    ? new ItemDifference(item.Name, "Changed", container.Type, item.DType, null, item.Shape, null)
                    : new ItemDifference(item.Name, "Added", null, item.DType, null, item.Shape, null));
                continue;
            }

            var (old, a) = before.Leaves[at];
            if (LeafDifference(old, a, item, b) is { } difference)
            {
                differences.Add(difference);
            }
        }

        CompareContainers(before, after, differences);
        return differences.OrderBy(d => d.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The difference of a leaf present in both steps, or null when both restore as the same value.</summary>
    private static ItemDifference? LeafDifference(StoredItem old, object? a, StoredItem item, object? b)
    {
        if (old.DType != item.DType || old.Kind != item.Kind || !SameShape(old.Shape, item.Shape))
        {
            return new ItemDifference(item.Name, "Changed", old.DType, item.DType, old.Shape, item.Shape, null);
        }

        if (AsTensorArray(a, item) is { } arrayA && AsTensorArray(b, item) is { } arrayB)
        {
            // A List<T>, a T[] and an object[] of boxed T store the same dtype, shape and bits, but restore as
            // different types: a change of container is a change even when every element is equal.
            return a!.GetType() != b!.GetType() || !BitsEqual(arrayA, arrayB)
                ? new ItemDifference(item.Name, "Changed", old.DType, item.DType, old.Shape, item.Shape, MaxAbsDifference(arrayA, arrayB))
                : null;
        }

        if (LeafEqual(a, b))
        {
            return null;
        }

        double? delta = IsNumber(a) && IsNumber(b) ? Math.Abs(ToDouble(a!) - ToDouble(b!)) : null;
        return new ItemDifference(item.Name, "Changed", old.DType, item.DType, old.Shape, item.Shape, delta);
    }

    private static bool SameShape(long[]? a, long[]? b) => (a ?? []).AsSpan().SequenceEqual(b ?? []);

    /// <summary>
    /// The container <paramref name="other"/> holds at a path that is a leaf in <paramref name="step"/>, or null; a path
    /// <paramref name="step"/> also names as a container (only a step written before today's names can) is no change of kind.
    /// </summary>
    private static ComparedContainer? ContainerAt(ComparedStep other, ComparedStep step, string name) =>
        other.ContainerIndex.TryGetValue(name, out var at) && !step.ContainerIndex.ContainsKey(name) ? other.Containers[at] : null;

    /// <summary>
    /// Containers of one path in both steps whose type or key comparer differ, or (an ordered dictionary, a psobject, a dict)
    /// whose common children came in another order, and containers present in one step only that no name of theirs
    /// shows: an empty container, or one whose leaves a step listing its items by the grammar before today's named
    /// as if it were not there. A container whose path is a leaf in the other step only was reported with the leaves;
    /// one whose path is a leaf in both (a listed name that is also a container's) is a change of kind here.
    /// </summary>
    private static void CompareContainers(ComparedStep before, ComparedStep after, List<ItemDifference> differences)
    {
        foreach (var container in before.Containers)
        {
            if (after.ContainerIndex.TryGetValue(container.Name, out var at))
            {
                var other = after.Containers[at];
                if (!string.Equals(container.Type, other.Type, StringComparison.Ordinal) || !SameOrder(container.Order, other.Order))
                {
                    differences.Add(new ItemDifference(container.Name, "Changed", container.Type, other.Type, null, null, null));
                }
            }
            else if (OneSided(container, before, after) is { } change)
            {
                differences.Add(change == "Changed"
                    ? new ItemDifference(container.Name, change, container.Type, LeafType(after, container.Name), null, LeafShape(after, container.Name), null)
                    : new ItemDifference(container.Name, "Removed", container.Type, null, null, null, null));
            }
        }

        foreach (var container in after.Containers)
        {
            if (!before.ContainerIndex.ContainsKey(container.Name) && OneSided(container, after, before) is { } change)
            {
                differences.Add(change == "Changed"
                    ? new ItemDifference(container.Name, change, LeafType(before, container.Name), container.Type, LeafShape(before, container.Name), null, null)
                    : new ItemDifference(container.Name, "Added", null, container.Type, null, null, null));
            }
        }
    }

    /// <summary>
    /// How a container of <paramref name="step"/> whose path is no container in <paramref name="other"/> is reported:
    /// "Changed" when the path is a leaf in both steps (the leaf loop compared the leaves and saw no change of kind),
    /// "Gone" when nothing of it shows in a name, or null when the leaves already report it.
    /// </summary>
    private static string? OneSided(ComparedContainer container, ComparedStep step, ComparedStep other)
    {
        if (other.LeafIndex.ContainsKey(container.Name))
        {
            return step.LeafIndex.ContainsKey(container.Name) ? "Changed" : null;
        }

        return container.Empty || !step.HasNamesBeneath(container.Name) ? "Gone" : null;
    }

    private static string? LeafType(ComparedStep step, string name) => step.Leaves[step.LeafIndex[name]].Item.DType;

    private static long[]? LeafShape(ComparedStep step, string name) => step.Leaves[step.LeafIndex[name]].Item.Shape;

    /// <summary>Whether the children both containers hold come in the same order (true where a container keeps none).</summary>
    private static bool SameOrder(IReadOnlyList<string>? a, IReadOnlyList<string>? b)
    {
        if (a is null || b is null)
        {
            return true;
        }

        // The common case, the same children in the same order, needs no sets (a dictionary of 100,000 entries built two of 100,000 names).
        if (a.Count == b.Count && SameSequence(a, b))
        {
            return true;
        }

        var inB = new HashSet<string>(b, StringComparer.Ordinal);
        var inA = new HashSet<string>(a, StringComparer.Ordinal);
        var j = 0;
        foreach (var name in a)
        {
            if (!inB.Contains(name))
            {
                continue;
            }

            while (!inA.Contains(b[j]))
            {
                j++;
            }

            if (!string.Equals(name, b[j++], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static bool SameSequence(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        for (var i = 0; i < a.Count; i++)
        {
            if (!string.Equals(a[i], b[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A tensor leaf's elements as an array: the array itself, or the elements of a list stored as a tensor
    /// (a List&lt;T&gt;, or an object[]/ArrayList/List&lt;object&gt; of boxed numbers, docs/format.md §6.5),
    /// compared like an array of its dtype; null for any other value.
    /// </summary>
    private static Array? AsTensorArray(object? value, StoredItem item) => value switch
    {
        Array array when TypeCodes.IsTensorElement(array.GetType().GetElementType()!) => array,
        // A Tensor<T> is compared through a row-major copy of its elements: its own Equals is reference equality.
        not null when TypeCodes.IsTensorType(value.GetType(), out var tensorElement) => TensorInterop.Flatten(value, tensorElement).Data,
        IList list when item.Kind == "tensor" && item.DType is { } dtype && TypeCodes.TryResolveDType(dtype) is { } element => ListTensors.Unbox(list, element),
        _ => null,
    };

    /// <summary>
    /// Whether two leaves that are no tensor restore as the same value: the same .NET type and the same stored
    /// representation. <see cref="object.Equals(object?)"/> is not enough: it calls 0.0 and −0.0 equal, any two
    /// NaNs equal, 1.5m and 1.50m equal, a UTC and an unspecified DateTime of the same ticks equal and two
    /// DateTimeOffsets of one instant in different offsets equal, yet each restores as a different value.
    /// Leaf arrays of elements that are no tensor dtype (PRNG keys, nulls among them) compare element by element.
    /// </summary>
    private static bool LeafEqual(object? a, object? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        if (a.GetType() != b.GetType())
        {
            return false;
        }

        return a switch
        {
            double x => BitConverter.DoubleToUInt64Bits(x) == BitConverter.DoubleToUInt64Bits((double)b),
            float x => BitConverter.SingleToUInt32Bits(x) == BitConverter.SingleToUInt32Bits((float)b),
            Half x => BitConverter.HalfToUInt16Bits(x) == BitConverter.HalfToUInt16Bits((Half)b),
            decimal x => decimal.GetBits(x).AsSpan().SequenceEqual(decimal.GetBits((decimal)b)),
            DateTime x => x.Ticks == ((DateTime)b).Ticks && x.Kind == ((DateTime)b).Kind,
            DateTimeOffset x => x.Ticks == ((DateTimeOffset)b).Ticks && x.Offset == ((DateTimeOffset)b).Offset,
            Array x => ElementsEqual(x, (Array)b),
            _ => a.Equals(b),
        };
    }

    private static bool ElementsEqual(Array a, Array b)
    {
        if (a.LongLength != b.LongLength)
        {
            return false;
        }

        var ea = a.GetEnumerator();
        var eb = b.GetEnumerator();
        while (ea.MoveNext() && eb.MoveNext())
        {
            if (!LeafEqual(ea.Current, eb.Current))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsNumber(object? v) =>
        v is sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal or Half or Int128 or UInt128 or nint or nuint
            or System.Numerics.BigInteger;

    private static bool BitsEqual(Array a, Array b)
    {
        if (a.GetType() != b.GetType() || a.LongLength != b.LongLength)
        {
            return false;
        }

        var size = TypeCodes.ElementSize(a.GetType().GetElementType()!);
        var total = a.LongLength * size;
        var sa = new TensorSource(a, a.GetType().GetElementType()!, [a.LongLength], string.Empty);
        var sb = new TensorSource(b, b.GetType().GetElementType()!, [b.LongLength], string.Empty);
        for (long offset = 0; offset < total; offset += 1 << 20)
        {
            var length = (int)Math.Min(1 << 20, total - offset);
            if (!sa.Bytes(offset, length).SequenceEqual(sb.Bytes(offset, length)))
            {
                return false;
            }
        }

        return true;
    }

    private static double? MaxAbsDifference(Array a, Array b)
    {
        var element = a.GetType().GetElementType()!;
        if (element == typeof(bool) || element == typeof(char))
        {
            return null;
        }

        double max = 0;
        var ea = a.GetEnumerator();
        var eb = b.GetEnumerator();
        while (ea.MoveNext() && eb.MoveNext())
        {
            var d = Math.Abs(ToDouble(ea.Current!) - ToDouble(eb.Current!));
            if (double.IsNaN(d))
            {
                return double.NaN;
            }

            max = Math.Max(max, d);
        }

        return max;
    }

    /// <summary>A number as a double; Half, the 128-bit and native integers and BigInteger are not IConvertible.</summary>
    private static double ToDouble(object v) => v switch
    {
        Half h => (double)h,
        Int128 i => (double)i,
        UInt128 u => (double)u,
        nint n => n,
        nuint n => n,
        System.Numerics.BigInteger big => (double)big,
        _ => Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture),
    };
}
