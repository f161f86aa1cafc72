using System.Collections.Concurrent;
using System.Numerics.Tensors;
using System.Reflection;

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
