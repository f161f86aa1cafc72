using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DataraxCkpt.Values;

/// <summary>
/// Numeric lists stored as tensors (docs/format.md §6.5, feature <c>list-tensors</c>): a <c>List&lt;T&gt;</c>
/// of a tensor element type is read and written in place through <see cref="CollectionsMarshal.AsSpan{T}"/>;
/// an <c>object[]</c>, <c>ArrayList</c> or <c>List&lt;object&gt;</c> of at least <see cref="BoxedThreshold"/>
/// boxed numbers of one type (what PowerShell makes of <c>1..1000</c> or <c>@(1.5, 2.5, …)</c>) is unboxed into
/// an array at save and boxed again at restore, element for element. List&lt;T&gt; arrives as an object, so the
/// generic methods are bound per element type once and cached.
/// </summary>
internal static class ListTensors
{
    /// <summary>The manifest feature a step lists in <c>requires</c> when it stores any list this way.</summary>
    public const string Feature = "list-tensors";

    /// <summary>
    /// Fewest boxed elements stored as a tensor. A tensor has a fixed cost (a tensor-table entry, a chunk
    /// entry, an LZ4 frame): measured on stored steps it is repaid in bytes from about 20 elements on and is
    /// within 3 % at 16, while saving an index row and item per element (docs/performance-notes.md, "Numeric lists").
    /// Shorter lists are mostly settings and stay element by element.
    /// </summary>
    public const int BoxedThreshold = 16;

    private static readonly ConcurrentDictionary<Type, ListStart> Starts = new();
    private static readonly ConcurrentDictionary<Type, Func<int, IList>> Makers = new();

    /// <summary>True when <paramref name="type"/> is <c>List&lt;T&gt;</c> of a tensor element type.</summary>
    public static bool IsNumericList(Type type, out Type elementType)
    {
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) && TypeCodes.IsTensorElement(type.GetGenericArguments()[0]))
        {
            elementType = type.GetGenericArguments()[0];
            return true;
        }

        elementType = typeof(void);
        return false;
    }

    /// <summary>True for the containers of boxed values a tensor may be restored as: <c>object[]</c>, <c>ArrayList</c>, <c>List&lt;object&gt;</c>.</summary>
    public static bool IsBoxedContainer(Type type) => type == typeof(object[]) || type == typeof(ArrayList) || type == typeof(List<object>);

    /// <summary>
    /// The element type when <paramref name="list"/> holds at least <see cref="BoxedThreshold"/> boxed values,
    /// none null, all of one tensor element type; else null.
    /// </summary>
    public static Type? HomogeneousElement(IList list)
    {
        var count = list.Count;
        if (count < BoxedThreshold || list[0] is not { } first || !TypeCodes.IsTensorElement(first.GetType()))
        {
            return null;
        }

        var type = first.GetType();
        for (var i = 1; i < count; i++)
        {
            if (list[i]?.GetType() != type)
            {
                return null;
            }
        }

        return type;
    }

    /// <summary>The first byte of a numeric <c>List&lt;T&gt;</c>'s elements and how many elements follow it.</summary>
    public delegate ref byte ListStart(IList list, out int count);

    /// <summary>
    /// The first byte of a numeric <c>List&lt;T&gt;</c>'s elements, in place (its backing array), and
    /// <paramref name="count"/>, the elements that array holds for the list now. Both come from one span, so
    /// another thread resizing the list cannot pair a new, smaller array with an old Count: callers must stay
    /// within <paramref name="count"/> elements, not the list's Count read before.
    /// </summary>
    /// <exception cref="InvalidOperationException">The list was resized by another thread while it was read.</exception>
    public static ref byte DataOf(IList list, Type elementType, out int count) =>
        ref Starts.GetOrAdd(elementType, static t => Bind(nameof(DataOfTyped), t).CreateDelegate<ListStart>())(list, out count);

    /// <summary>A new <c>List&lt;T&gt;</c> of <paramref name="count"/> elements whose values are yet to be written.</summary>
    public static IList NewList(Type elementType, int count) =>
        Makers.GetOrAdd(elementType, static t => Bind(nameof(NewListTyped), t).CreateDelegate<Func<int, IList>>())(count);

    /// <summary>Copies the boxed values of a list (checked by <see cref="HomogeneousElement"/>) into a new <c>T[]</c>.</summary>
    public static Array Unbox(IList list, Type elementType)
    {
        var array = Array.CreateInstance(elementType, list.Count);
        if (list is object[] objects)
        {
            Array.Copy(objects, array, objects.Length);
        }
        else
        {
            list.CopyTo(array, 0);
        }

        return array;
    }

    /// <summary>
    /// A new container of type <paramref name="containerType"/> (<see cref="IsBoxedContainer"/>) of
    /// <paramref name="count"/> nulls, its Count final at once; <see cref="Box"/> fills it.
    /// </summary>
    public static IList NewBoxed(Type containerType, int count)
    {
        if (containerType == typeof(object[]))
        {
            return new object[count];
        }

        if (containerType == typeof(ArrayList))
        {
            return new ArrayList(new object[count]);
        }

        var list = new List<object>(count);
        CollectionsMarshal.SetCount(list, count);
        return list;
    }

    /// <summary>Sets every element of <paramref name="target"/> (of the same Count) to the boxed element of <paramref name="data"/>.</summary>
    public static void Box(Array data, IList target)
    {
        // Array.Copy boxes element by element in the runtime, far faster than IList's indexer.
        var objects = target as object[] ?? new object[data.Length];
        Array.Copy(data, objects, data.Length);
        switch (target)
        {
            case object[]:
                return;
            case List<object> list:
                objects.AsSpan().CopyTo(CollectionsMarshal.AsSpan(list));
                return;
            case ArrayList arrayList:
                arrayList.SetRange(0, objects);
                return;
            default:
                throw new InvalidOperationException($"a {target.GetType().Name} is not a container of boxed values");
        }
    }

    private static MethodInfo Bind(string name, Type t) =>
        typeof(ListTensors).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(t);

    private static ref byte DataOfTyped<T>(IList list, out int count)
    {
        Span<T> span;
        try
        {
            span = CollectionsMarshal.AsSpan((List<T>)list);
        }
        catch (ArgumentOutOfRangeException e)
        {
            // AsSpan read the backing array and the Count of two different moments (another thread resized it).
            throw new InvalidOperationException("a list was resized by another thread while it was read", e);
        }

        count = span.Length;
        return ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(span));
    }

    private static IList NewListTyped<T>(int count)
    {
        var list = new List<T>(count);
        CollectionsMarshal.SetCount(list, count);
        return list;
    }
}
