using System.Runtime.InteropServices;

namespace DataraxCkpt.Values;

/// <summary>
/// A stored bool is one byte, 0 or 1, but another writer (or unsafe code that filled a bool[] before a
/// save) may leave other non-zero bytes. Such a bool is true, yet compares unequal to <c>true</c> in
/// .NET; restored bool tensors are therefore normalised so that every non-zero byte becomes 1.
/// </summary>
internal static class BooleanBytes
{
    /// <summary>Normalises a restored bool array or Tensor&lt;bool&gt; in place; other values pass through.</summary>
    public static object Normalise(object restored)
    {
        Array? array = restored switch
        {
            Array a when a.GetType().GetElementType() == typeof(bool) => a,
            _ => null,
        };
        if (array is null)
        {
            return restored is System.Numerics.Tensors.Tensor<bool> tensor ? NormaliseTensor(tensor) : restored;
        }

        var bytes = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(array), checked((int)array.LongLength));
        Normalise(bytes);
        return array;
    }

    private static object NormaliseTensor(System.Numerics.Tensors.Tensor<bool> tensor)
    {
        var (data, shape) = TensorInterop.Flatten(tensor, typeof(bool));
        var bytes = MemoryMarshal.AsBytes(((bool[])data).AsSpan());
        if (bytes.IndexOfAnyExceptInRange((byte)0, (byte)1) < 0)
        {
            return tensor;
        }

        Normalise(bytes);
        return TensorInterop.Build(data, shape, typeof(bool));
    }

    /// <summary>Turns every non-zero byte into 1.</summary>
    public static void Normalise(Span<byte> bytes)
    {
        var i = bytes.IndexOfAnyExceptInRange((byte)0, (byte)1);
        while (i >= 0)
        {
            bytes[i] = 1;
            var next = bytes[(i + 1)..].IndexOfAnyExceptInRange((byte)0, (byte)1);
            i = next < 0 ? -1 : i + 1 + next;
        }
    }
}
