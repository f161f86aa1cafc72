using System.Collections;
using DataraxCkpt.Storage;
using DataraxCkpt.Values;

namespace DataraxCkpt;

/// <summary>
/// What changed between two steps, leaf by leaf: leaves added, removed, or changed (in type, shape or
/// value). For numeric tensors and scalars of equal type and shape it also gives the largest absolute
/// element difference. Leaves equal in type, shape and bits are not reported.
/// </summary>
internal static class StepComparer
{
    public static List<ItemDifference> Compare(ICheckpointStore store, long stepBefore, long stepAfter)
    {
        var (before, after, itemsBefore, itemsAfter) = store.ReadForCompare(stepBefore, stepAfter);
        var infoBefore = itemsBefore.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var infoAfter = itemsAfter.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var differences = new List<ItemDifference>();
        foreach (var item in itemsBefore)
        {
            if (!infoAfter.ContainsKey(item.Name))
            {
                differences.Add(new ItemDifference(item.Name, "Removed", item.DType, null, item.Shape, null, null));
            }
        }

        foreach (var item in itemsAfter)
        {
            if (!infoBefore.TryGetValue(item.Name, out var old))
            {
                differences.Add(new ItemDifference(item.Name, "Added", null, item.DType, null, item.Shape, null));
                continue;
            }

            var a = before[item.Name];
            var b = after[item.Name];
            var sameShape = (old.Shape ?? []).SequenceEqual(item.Shape ?? []);
            if (old.DType != item.DType || old.Kind != item.Kind || !sameShape)
            {
                differences.Add(new ItemDifference(item.Name, "Changed", old.DType, item.DType, old.Shape, item.Shape, null));
                continue;
            }

            if (AsTensorArray(a, item) is { } arrayA && AsTensorArray(b, item) is { } arrayB)
            {
                // A List<T>, a T[] and an object[] of boxed T store the same dtype, shape and bits, but restore as
                // different types: a change of container is a change even when every element is equal.
                if (a!.GetType() != b!.GetType() || !BitsEqual(arrayA, arrayB))
                {
                    differences.Add(new ItemDifference(item.Name, "Changed", old.DType, item.DType, old.Shape, item.Shape, MaxAbsDifference(arrayA, arrayB)));
                }
            }
            else if (!Equals(a, b) && !(a is IEnumerable && b is IEnumerable && StructurallyEqual(a, b)))
            {
                double? delta = IsNumber(a) && IsNumber(b) ? Math.Abs(Convert.ToDouble(a, System.Globalization.CultureInfo.InvariantCulture) - Convert.ToDouble(b, System.Globalization.CultureInfo.InvariantCulture)) : null;
                differences.Add(new ItemDifference(item.Name, "Changed", old.DType, item.DType, old.Shape, item.Shape, delta));
            }
        }

        return differences.OrderBy(d => d.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// A tensor leaf's elements as an array: the array itself, or the elements of a list stored as a tensor
    /// (a List&lt;T&gt;, or an object[]/ArrayList/List&lt;object&gt; of boxed numbers, docs/format.md §6.5),
    /// compared like an array of its dtype; null for any other value.
    /// </summary>
    private static Array? AsTensorArray(object? value, StoredItem item) => value switch
    {
        Array array when TypeCodes.IsTensorElement(array.GetType().GetElementType()!) => array,
        IList list when item.Kind == "tensor" && item.DType is { } dtype && TypeCodes.TryResolveDType(dtype) is { } element => ListTensors.Unbox(list, element),
        _ => null,
    };

    /// <summary>
    /// Whether two leaf arrays of elements that are no tensor dtype (PRNG keys, nulls among them) hold equal
    /// elements: they have no bits to compare, so element equality decides, as for a scalar leaf.
    /// </summary>
    private static bool StructurallyEqual(object a, object b) =>
        a.GetType() == b.GetType() && a is Array ea && b is Array eb && ea.Cast<object?>().SequenceEqual(eb.Cast<object?>());

    private static bool IsNumber(object? v) => v is sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal or Half;

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

    private static double ToDouble(object v) => v is Half h ? (double)h : Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture);
}
