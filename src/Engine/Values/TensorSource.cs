using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DataraxCkpt.Values;

/// <summary>
/// A tensor to be written: the array that holds its elements (dense, row-major) plus its dtype,
/// shape and byte length. Bytes are read in place, chunk by chunk, so that no copy of a large
/// tensor is made on the synchronous save path.
/// </summary>
internal sealed class TensorSource
{
    public TensorSource(Array data, Type elementType, long[] shape, string containerCode)
    {
        Data = data;
        ElementType = elementType;
        Shape = shape;
        ContainerCode = containerCode;
        DType = TypeCodes.DTypeOf(elementType);
        ElementSize = TypeCodes.ElementSize(elementType);
        ByteLength = data.LongLength * ElementSize;
    }

    /// <summary>The array holding the elements (a copy when the save is asynchronous).</summary>
    public Array Data { get; private set; }

    public Type ElementType { get; }

    public string DType { get; }

    public int ElementSize { get; }

    public long[] Shape { get; }

    /// <summary>Type code of the container to rebuild on restore (<c>f32[,]</c>, <c>tensor&lt;f32&gt;</c>).</summary>
    public string ContainerCode { get; }

    public long ByteLength { get; }

    /// <summary>A view of <paramref name="length"/> bytes starting at <paramref name="offset"/>.</summary>
    public ReadOnlySpan<byte> Bytes(long offset, int length)
    {
        ref var start = ref MemoryMarshal.GetArrayDataReference(Data);
        return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref start, (nint)offset), length);
    }

    /// <summary>Replaces the data with a private copy, so later changes by the caller do not leak in.</summary>
    public void Detach()
    {
        var copy = Array.CreateInstance(ElementType, Data.Rank == 1 ? [Data.Length] : DimensionsOf(Data));
        Array.Copy(Data, copy, Data.LongLength);
        Data = copy;
    }

    private static int[] DimensionsOf(Array a)
    {
        var dims = new int[a.Rank];
        for (var i = 0; i < dims.Length; i++)
        {
            dims[i] = a.GetLength(i);
        }

        return dims;
    }
}
