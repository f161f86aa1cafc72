namespace DataraxCkpt.Storage;

/// <summary>
/// What an I/O error on the index file (<c>index.sqlite</c>, its write-ahead log or shared memory) was, as far as the
/// system told it (<see cref="IndexIoFailure"/>): its message gives the advice that fits, and a forced repair acts on a
/// read the disk failed only.
/// </summary>
internal enum IndexIoCause
{
    /// <summary>The disk failed a read or write (EIO and its kin, or a cause no errno names): check the disk.</summary>
    FailedDisk,

    /// <summary>No space left, or the disk quota exceeded (ENOSPC, EDQUOT, SQLITE_FULL): free space.</summary>
    Full,

    /// <summary>The file system is mounted read-only (EROFS).</summary>
    ReadOnly,

    /// <summary>Permission denied (EACCES, EPERM).</summary>
    Denied,

    /// <summary>A lock on the index (or its shared memory) could not be taken or released.</summary>
    Lock,
}
