using System.Buffers;

namespace DataraxCkpt.Values;

/// <summary>
/// A growable byte buffer rented from <see cref="ArrayPool{T}.Shared"/>, with room kept free before the
/// written bytes. The state node of a save of many small leaves is megabytes: renting it means a second
/// save reuses the first one's memory instead of growing the heap again, and the room in front lets the
/// manifest's header be placed right before the state node, so the manifest is never copied whole
/// (<see cref="DataraxCkpt.Format.ManifestCodec.Write"/>).
/// </summary>
/// <remarks>
/// Not thread-safe. <see cref="Release"/> gives the array back; the writer must not be used after it
/// (nor any memory it handed out). A writer never released is collected like any array.
/// </remarks>
internal sealed class PooledBufferWriter : IBufferWriter<byte>
{
    private byte[]? _buffer;
    private readonly int _headroom;
    private int _end;

    /// <param name="headroom">Bytes kept free before the first written byte.</param>
    /// <param name="initialCapacity">Bytes to rent at first, besides the headroom.</param>
    public PooledBufferWriter(int headroom, int initialCapacity)
    {
        _headroom = headroom;
        _buffer = ArrayPool<byte>.Shared.Rent(headroom + initialCapacity);
        _end = headroom;
    }

    /// <summary>The bytes written so far.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => Buffer.AsMemory(_headroom, _end - _headroom);

    /// <summary>
    /// The written bytes with <paramref name="prefix"/> copied right before them and <paramref name="suffix"/>
    /// right after, in place; false (nothing changed) when the prefix is longer than the headroom or the
    /// suffix does not fit after the written bytes.
    /// </summary>
    public bool TryFrame(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> suffix, out ReadOnlyMemory<byte> framed)
    {
        // Never grown here: the written bytes were handed out (the state's node) and stay in use until
        // Release; growing would give their array back to the pool while they are still read.
        var buffer = Buffer;
        if (prefix.Length > _headroom || buffer.Length - _end < suffix.Length)
        {
            framed = default;
            return false;
        }

        var start = _headroom - prefix.Length;
        prefix.CopyTo(buffer.AsSpan(start));
        suffix.CopyTo(buffer.AsSpan(_end));
        framed = buffer.AsMemory(start, _end + suffix.Length - start);
        return true;
    }

    /// <summary>Gives the array back to the pool; later calls do nothing.</summary>
    public void Release()
    {
        var buffer = _buffer;
        _buffer = null;
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Advance(int count)
    {
        if (count < 0 || _end + count > Buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        _end += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(Math.Max(sizeHint, 1));
        return Buffer.AsMemory(_end);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(Math.Max(sizeHint, 1));
        return Buffer.AsSpan(_end);
    }

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(PooledBufferWriter));

    private void Reserve(int bytes)
    {
        var buffer = Buffer;
        if (buffer.Length - _end >= bytes)
        {
            return;
        }

        var size = (long)Math.Max(buffer.Length * 2L, (long)_end + bytes);
        var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(size, Array.MaxLength));
        if (grown.Length - _end < bytes)
        {
            ArrayPool<byte>.Shared.Return(grown);
            throw new OutOfMemoryException("the state node outgrew the largest array .NET can make");
        }

        buffer.AsSpan(0, _end).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(buffer);
        _buffer = grown;
    }
}
