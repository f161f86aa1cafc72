using System.Buffers;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// A pooled buffer shared by the blocks that hold slices of it: it goes back to its pool when the last of them
/// (and whoever lent it) has released it. Blocks are sent on other threads, so the count is atomic.
/// </summary>
internal sealed class LentBuffer
{
    private int _references = 1;

    public LentBuffer(byte[] array, ArrayPool<byte> pool)
    {
        Array = array;
        Pool = pool;
    }

    public byte[] Array { get; }

    public ArrayPool<byte> Pool { get; }

    /// <summary>Bytes written so far, when the upload copies into this buffer.</summary>
    public int Used { get; set; }

    public void AddReference() => Interlocked.Increment(ref _references);

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Pool.Return(Array);
        }
    }
}
