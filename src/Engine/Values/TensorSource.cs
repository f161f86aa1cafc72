using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DataraxCkpt.Values;

/// <summary>
/// A tensor to be written: the array that holds its elements (dense, row-major) plus its dtype,
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

    private byte[][]? _blocks;
    private bool _released;

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

    /// <summary>The caller's array; not read any more once the tensor is detached.</summary>
    public Array Data { get; }

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
        ref var start = ref MemoryMarshal.GetArrayDataReference(Data);
        return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref start, (nint)offset), length);
    }
}
