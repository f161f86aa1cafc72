using System.Numerics.Tensors;

namespace DataraxCkpt.Values;

/// <summary>
/// Turns a restored <see cref="Tensor{T}"/> into a plain .NET array of its shape, for hosts that
/// cannot name the tensor type (PowerShell loads System.Numerics.Tensors privately): a rank-1 tensor
/// becomes <c>T[]</c>, a tensor of rank 2 or more a rectangular <c>T[,…]</c> with the same lengths,
/// elements in row-major order. A rank-0 tensor becomes a one-element <c>T[]</c>.
/// </summary>
public static class TensorArrays
{
    /// <summary>
    /// Returns <paramref name="value"/> as an array of its shape when it is a <see cref="Tensor{T}"/>;
    /// otherwise returns false and leaves <paramref name="array"/> null.
    /// </summary>
    public static bool TryToArray(object? value, out Array? array)
    {
        array = null;
        var type = value?.GetType();
        if (type is null || !type.IsGenericType || type.GetGenericTypeDefinition() != typeof(Tensor<>))
        {
            return false;
        }

        var elementType = type.GetGenericArguments()[0];
        var (flat, shape) = TensorInterop.Flatten(value!, elementType);
        if (shape.Length <= 1)
        {
            array = flat;
            return true;
        }

        var lengths = new int[shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            lengths[i] = checked((int)shape[i]);
        }

        var shaped = Array.CreateInstance(elementType, lengths);
        if (elementType.IsPrimitive)
        {
            // Rectangular arrays are stored row-major and contiguous, as the flattened tensor is.
            Buffer.BlockCopy(flat, 0, shaped, 0, Buffer.ByteLength(flat));
        }
        else
        {
            var index = new int[lengths.Length];
            for (var n = 0; n < flat.Length; n++)
            {
                shaped.SetValue(flat.GetValue(n), index);
                for (var d = index.Length - 1; d >= 0 && ++index[d] == lengths[d]; d--)
                {
                    index[d] = 0;
                }
            }
        }

        array = shaped;
        return true;
    }
}
