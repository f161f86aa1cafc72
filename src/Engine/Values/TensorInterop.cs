using System.Collections.Concurrent;
using System.Numerics.Tensors;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace DataraxCkpt.Values;

/// <summary>
/// Moves elements between <see cref="Tensor{T}"/> and plain arrays. Tensor&lt;T&gt; arrives as an
/// object, so the generic methods are bound per element type once and cached.
/// </summary>
internal static class TensorInterop
{
    private static readonly ConcurrentDictionary<Type, Func<object, (Array Data, long[] Shape)>> Flatteners = new();
    private static readonly ConcurrentDictionary<Type, Func<Array, long[], object>> Builders = new();
    private static readonly ConcurrentDictionary<Type, Func<object, long[]>> Shapes = new();
    private static readonly ConcurrentDictionary<Type, Func<object, bool>> RowMajorChecks = new();
    private static readonly ConcurrentDictionary<Type, DataStart> DataStarts = new();

    /// <summary>The first byte of a tensor's elements.</summary>
    public delegate ref byte DataStart(object tensor);

    /// <summary>
    /// True when the tensor's elements lie contiguous and row-major in its memory, so its bytes can be read
    /// or written in place from <see cref="DataOf"/> (a sliced or broadcast tensor is not).
    /// </summary>
    public static bool IsRowMajorDense(object tensor, Type elementType) =>
        RowMajorChecks.GetOrAdd(elementType, static t => Bind(nameof(IsRowMajorDenseTyped), t).CreateDelegate<Func<object, bool>>())(tensor);

    /// <summary>The first byte of a row-major dense tensor's elements (see <see cref="IsRowMajorDense"/>).</summary>
    public static ref byte DataOf(object tensor, Type elementType) =>
        ref DataStarts.GetOrAdd(elementType, static t => Bind(nameof(DataOfTyped), t).CreateDelegate<DataStart>())(tensor);

    /// <summary>A tensor's shape, without copying its elements.</summary>
    public static long[] ShapeOf(object tensor, Type elementType) =>
        Shapes.GetOrAdd(elementType, static t => Bind(nameof(ShapeTyped), t).CreateDelegate<Func<object, long[]>>())(tensor);

    /// <summary>Copies a tensor's elements (row-major) into a new 1-D array and returns its shape.</summary>
    public static (Array Data, long[] Shape) Flatten(object tensor, Type elementType) =>
        Flatteners.GetOrAdd(elementType, static t => Bind(nameof(FlattenTyped), t).CreateDelegate<Func<object, (Array, long[])>>())(tensor);

    /// <summary>Wraps a 1-D array of elements as a tensor of the given shape.</summary>
    public static object Build(Array data, long[] shape, Type elementType) =>
        Builders.GetOrAdd(elementType, static t => Bind(nameof(BuildTyped), t).CreateDelegate<Func<Array, long[], object>>())(data, shape);

    private static MethodInfo Bind(string name, Type t) =>
        typeof(TensorInterop).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(t);

    private static long[] ShapeTyped<T>(object tensor)
    {
        var lengths = ((Tensor<T>)tensor).Lengths;
        var shape = new long[lengths.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            shape[i] = lengths[i];
        }

        return shape;
    }

    private static bool IsRowMajorDenseTyped<T>(object tensor)
    {
        var typed = (Tensor<T>)tensor;
        if (!typed.IsDense)
        {
            return false;
        }

        var lengths = typed.Lengths;
        var strides = typed.Strides;
        nint expected = 1;
        for (var d = lengths.Length - 1; d >= 0; d--)
        {
            // A dimension of length 1 is never stepped over, so its stride does not matter.
            if (lengths[d] != 1 && strides[d] != expected)
            {
                return false;
            }

            expected *= lengths[d];
        }

        return true;
    }

    // Tensor<T>.GetPinnableReference returns the wrapped array's first element even for a tensor that starts
    // further in (Tensor.Create(array, start, ...) or a slice); its TensorSpan's starts at the tensor's own first element.
    private static ref byte DataOfTyped<T>(object tensor) => ref Unsafe.As<T, byte>(ref ((Tensor<T>)tensor).AsTensorSpan().GetPinnableReference());

    private static (Array, long[]) FlattenTyped<T>(object tensor)
    {
        var typed = (Tensor<T>)tensor;
        var lengths = typed.Lengths;
        var shape = new long[lengths.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            shape[i] = lengths[i];
        }

        var data = new T[typed.FlattenedLength];
        typed.FlattenTo(data);
        return (data, shape);
    }

    private static object BuildTyped<T>(Array data, long[] shape)
    {
        var lengths = new nint[shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            lengths[i] = (nint)shape[i];
        }

        return Tensor.Create((T[])data, lengths);
    }
}
