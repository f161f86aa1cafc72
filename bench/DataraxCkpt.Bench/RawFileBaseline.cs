namespace DataraxCkpt.Bench;

/// <summary>
/// The disk's own speed for the same bytes: one FileStream write of every tensor then fsync; one read of
/// the file into a buffer allocated and touched beforehand (what a restore into existing arrays is held
/// to); and a read into newly allocated, uninitialised arrays of the tensors' sizes (what a restore that
/// returns new arrays is held to: both pay the first touch of fresh memory).
/// </summary>
internal sealed class RawFileBaseline
{
    private const int ReadPiece = 16 << 20;
    private readonly byte[] _readBuffer;

    public RawFileBaseline(long bytes)
    {
        _readBuffer = GC.AllocateUninitializedArray<byte>(checked((int)Math.Min(bytes, Array.MaxLength)));
        Array.Fill(_readBuffer, (byte)1); // touch every page now, outside any timing
    }

    public static void Write(string path, float[][] tensors)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0);
        foreach (var t in tensors)
        {
            file.Write(StateData.BytesOf(t));
        }

        file.Flush(flushToDisk: true);
    }

    /// <summary>Reads the file into new arrays of <paramref name="lengths"/> float32 elements each, as a compiled program would.</summary>
    public static float[][] ReadIntoNewArrays(string path, IReadOnlyList<int> lengths)
    {
        using var handle = File.OpenHandle(path);
        var arrays = new float[lengths.Count][];
        long offset = 0;
        for (var i = 0; i < arrays.Length; i++)
        {
            var array = GC.AllocateUninitializedArray<float>(lengths[i]);
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(array.AsSpan());
            var done = 0;
            while (done < bytes.Length)
            {
                var n = RandomAccess.Read(handle, bytes[done..], offset + done);
                if (n == 0)
                {
                    throw new EndOfStreamException($"{path} ends at {offset + done} bytes");
                }

                done += n;
            }

            offset += bytes.Length;
            arrays[i] = array;
        }

        return arrays;
    }

    public void Read(string path)
    {
        using var handle = File.OpenHandle(path);
        long offset = 0;
        var length = RandomAccess.GetLength(handle);
        while (offset < length)
        {
            var n = RandomAccess.Read(handle, _readBuffer.AsSpan((int)offset, (int)Math.Min(ReadPiece, length - offset)), offset);
            if (n == 0)
            {
                break;
            }

            offset += n;
        }
    }
}
