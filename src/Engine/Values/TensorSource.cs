using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DataraxCkpt.Values;

/// <summary>
/// A tensor to be written: the array or dense Tensor&lt;T&gt; that holds its elements (row-major) plus its dtype,
/// shape and byte length. Bytes are read in place, chunk by chunk, so that no copy of a large
/// tensor is made on the synchronous save path. An asynchronous save detaches the tensor into
/// pooled blocks instead, which the writer hands back once the step is written.
/// </summary>
internal sealed class TensorSource
{
    /// <summary>
    /// Size of the blocks a detached copy is cut into: the writer's chunk size, so that every chunk it
    /// asks for lies inside one block.
    /// </summary>
    public const int CopyBlockSize = DataraxCkpt.Format.Lz4Frame.BlockSize;

    /// <summary>Tensors at least this large are copied on all cores.</summary>
    private const long ParallelCopyBytes = 16L << 20;

    // Fresh memory costs seconds per GiB to touch on the machines this runs on, and an asynchronous
    // save repeats with the same sizes: keep up to 2 GiB of copy blocks for the next save.
    private static readonly ArrayPool<byte> CopyBlocks = ArrayPool<byte>.Create(CopyBlockSize, 512);

    /// <summary>The caller's array or dense tensor; not read any more once the tensor is detached.</summary>
    private readonly object _owner;

    /// <summary>The owner when it is a numeric List&lt;T&gt;, whose backing array can change under the caller.</summary>
    private readonly System.Collections.IList? _list;

    private byte[][]? _blocks;
    private bool _released;

    public TensorSource(Array data, Type elementType, long[] shape, string containerCode)
        : this(data, data.LongLength, elementType, shape, containerCode)
    {
    }

    private TensorSource(object owner, long elementCount, Type elementType, long[] shape, string containerCode)
    {
        _owner = owner;
        _list = ListTensors.IsNumericList(owner.GetType(), out _) ? (System.Collections.IList)owner : null;
        ElementType = elementType;
        Shape = shape;
        ContainerCode = containerCode;
        DType = TypeCodes.DTypeOf(elementType);
        ElementSize = TypeCodes.ElementSize(elementType);
        ByteLength = elementCount * ElementSize;
    }

    /// <summary>
    /// A numeric <c>List&lt;T&gt;</c> to be written as a tensor of shape [Count]: read in place from its backing
    /// array (<see cref="ListTensors.DataOf"/>), without a copy.
    /// </summary>
    public static TensorSource FromList(System.Collections.IList list, Type elementType, string containerCode) =>
        new(list, list.Count, elementType, [list.Count], containerCode);

    /// <summary>
    /// A <c>Tensor&lt;T&gt;</c> to be written: read in place from its memory when its elements are dense and
    /// row-major (the usual case); a slice or broadcast view is first copied out in row-major order.
    /// </summary>
    public static TensorSource FromTensor(object tensor, Type elementType, string containerCode)
    {
        if (TensorInterop.IsRowMajorDense(tensor, elementType))
        {
            var shape = TensorInterop.ShapeOf(tensor, elementType);
            long count = 1;
            foreach (var length in shape)
            {
                count *= length;
            }

            return new TensorSource(tensor, count, elementType, shape, containerCode);
        }

        var (data, flatShape) = TensorInterop.Flatten(tensor, elementType);
        return new TensorSource(data, elementType, flatShape, containerCode);
    }

    public Type ElementType { get; }

    public string DType { get; }

    public int ElementSize { get; }

    public long[] Shape { get; }

    /// <summary>Type code of the container to rebuild on restore (<c>f32[,]</c>, <c>tensor&lt;f32&gt;</c>).</summary>
    public string ContainerCode { get; }

    public long ByteLength { get; }

    /// <summary>
    /// A view of <paramref name="length"/> bytes starting at <paramref name="offset"/>. Once detached,
    /// a view must not cross a multiple of <see cref="CopyBlockSize"/>.
    /// </summary>
    public ReadOnlySpan<byte> Bytes(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_released, this);
        if (_blocks is null)
        {
            return ArrayBytes(offset, length);
        }

        var block = (int)(offset / CopyBlockSize);
        var within = (int)(offset % CopyBlockSize);
        if (within + length > CopyBlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "A view of a detached tensor must lie inside one copy block.");
        }

        return _blocks[block].AsSpan(within, length);
    }

    /// <summary>Copies the bytes into pooled blocks, so later changes by the caller do not leak in.</summary>
    public void Detach()
    {
        if (_blocks is not null)
        {
            return;
        }

        var count = (int)((ByteLength + CopyBlockSize - 1) / CopyBlockSize);
        var blocks = new byte[count][];
        if (ByteLength >= ParallelCopyBytes)
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i => blocks[i] = CopyBlock(i));
        }
        else
        {
            for (var i = 0; i < count; i++)
            {
                blocks[i] = CopyBlock(i);
            }
        }

        _blocks = blocks;
    }

    /// <summary>Hands a detached copy's blocks back to the pool; the bytes cannot be read afterwards.</summary>
    public void ReleaseCopy()
    {
        var blocks = _blocks;
        if (blocks is null || _released)
        {
            return;
        }

        _released = true;
        _blocks = null;
        foreach (var block in blocks)
        {
            CopyBlocks.Return(block);
        }
    }

    private byte[] CopyBlock(int index)
    {
        var offset = (long)index * CopyBlockSize;
        var length = (int)Math.Min(CopyBlockSize, ByteLength - offset);
        var block = CopyBlocks.Rent(length);
        ArrayBytes(offset, length).CopyTo(block);
        return block;
    }

    private ReadOnlySpan<byte> ArrayBytes(long offset, int length)
    {
        if (_list is { } list)
        {
            // A list may have shrunk (or been reallocated) since it was encoded: read only what its backing array
            // holds now, measured on that same array (list.Count read apart from it may belong to another).
            ref var first = ref ListTensors.DataOf(list, ElementType, out var count);
            if ((long)count * ElementSize < offset + length)
            {
                throw new InvalidOperationException($"a list of {ByteLength / ElementSize} elements was changed to {count} elements while it was being saved");
            }

            return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref first, (nint)offset), length);
        }

        ref var start = ref _owner is Array array ? ref MemoryMarshal.GetArrayDataReference(array) : ref TensorInterop.DataOf(_owner, ElementType);
        return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref start, (nint)offset), length);
    }
}
