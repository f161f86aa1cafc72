using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace DataraxCkpt.Format;

/// <summary>
/// Starts the kernel writing a data file's pages to disk while later chunks are still being compressed
/// (Linux <c>sync_file_range</c> with <c>SYNC_FILE_RANGE_WRITE</c>: start write-out, wait for nothing).
/// Without it the dirty pages of a step sit in the page cache until the final fsync, which then writes
/// them all while every core waits; with it that fsync finds most of them written. Only a hint: it
/// changes no byte and no guarantee (the fsync still decides durability), so any failure is ignored;
/// other systems and streams that are not files do nothing (a file on a network mount gets the hint too,
/// which costs it nothing since nothing waits).
/// </summary>
internal sealed partial class EarlyWriteback
{
    /// <summary>Written bytes that start a write-out: large enough to keep calls rare, small enough to overlap.</summary>
    private const long Stride = 16L << 20;

    private const uint SyncFileRangeWrite = 2;

    private readonly SafeFileHandle? _handle;
    private long _started;

    /// <param name="file">The data file as just created (its buffer still empty).</param>
    public EarlyWriteback(Stream file)
    {
        if (OperatingSystem.IsLinux() && file is FileStream local)
        {
            _handle = local.SafeFileHandle;
        }
    }

    /// <summary>Called with the bytes handed to the file so far; starts write-out of those not started yet.</summary>
    public void Written(long length)
    {
        if (_handle is null || length - _started < Stride)
        {
            return;
        }

        // Bytes still in the stream's buffer are not dirty yet, so the kernel skips them, and the next call
        // starts after them: they are left to the final fsync, which only costs a little of the overlap.
        _ = SyncFileRange(_handle, _started, length - _started, SyncFileRangeWrite);
        _started = length;
    }

    [LibraryImport("libc", EntryPoint = "sync_file_range")]
    private static partial int SyncFileRange(SafeFileHandle fd, long offset, long nbytes, uint flags);
}
