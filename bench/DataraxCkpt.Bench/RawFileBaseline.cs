namespace DataraxCkpt.Bench;

/// <summary>
/// The disk's own speed for the same bytes: one FileStream write of every tensor then fsync, and one
/// read of the file into a buffer allocated and touched beforehand.
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
