using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace DataraxCkpt.Storage;

/// <summary>
/// What an I/O error on the index says, by its cause: SQLite reports a full disk over its quota, a read-only mount, a
/// denied write and a failed lock as SQLITE_IOERR alike (only a write that fails with ENOSPC becomes SQLITE_FULL), so
/// the errno (<c>sqlite3_system_errno</c>) and the extended code (which call failed) decide, and each message gives the
/// advice that fits: free space, the mount or the permissions, the other process, or the disk. None of them is damage,
/// and none says to rebuild the index.
/// </summary>
internal static class IndexIoFailure
{
    /// <summary>
    /// The key under which an index I/O error carries the errno the system gave (<see cref="IndexIoErrorData.SystemErrno"/>,
    /// for callers). A <see cref="SqliteException"/> raised on SQLite's own API carries its connection's errno under it
    /// too, for <see cref="From"/>: that connection is often not the index's own one, whose errno <see cref="From"/> would read.
    /// </summary>
    internal const string ErrnoKey = IndexIoErrorData.SystemErrno;

    // The error stays a plain IOException, the type users and scripts know (an engine type could not even be named by
    // them); what it was, and on which file, ride in its Data.
    private const string CauseKey = "DataraxCkpt.IndexIoCause";
    private const string FileKey = "DataraxCkpt.IndexFile";
    private const string ReadKey = IndexIoErrorData.IndexRead;

    /// <summary>Whether <paramref name="e"/> is an I/O error this class made for a read or write the disk failed on <paramref name="file"/>.</summary>
    public static bool IsFailedDisk(IOException e, string file) =>
        e.Data[CauseKey] is IndexIoCause.FailedDisk && e.Data[FileKey] is string failed && string.Equals(failed, file, StringComparison.Ordinal);

    /// <summary>
    /// Whether <paramref name="e"/> is a <em>read</em> of <paramref name="file"/> (or its log) the disk failed: what a forced
    /// repair sets the index aside for. A failed write or fsync leaves a readable index, whose intents a set-aside would
    /// lose (found by the attack on session 18).
    /// </summary>
    public static bool IsFailedRead(IOException e, string file) => IsFailedDisk(e, file) && e.Data[ReadKey] is true;

    /// <summary><paramref name="e"/> again with <paramref name="more"/> added to its message, its cause and file kept.</summary>
    public static IOException WithAdvice(IOException e, string more) =>
        Tagged(new IOException($"{e.Message} {more}", e.InnerException), e.Data[CauseKey], e.Data[FileKey], e.Data[ReadKey] is true, e.Data[ErrnoKey] as int?);

    private static IOException Tagged(IOException e, object? cause, object? file, bool read, int? errno)
    {
        e.Data[CauseKey] = cause;
        e.Data[FileKey] = file;
        e.Data[ReadKey] = read;
        if (errno is > 0)
        {
            e.Data[ErrnoKey] = errno.Value;
        }

        return e;
    }

    // Linux and macOS numbers; EDQUOT differs (122 on Linux, 69 on macOS).
    private const int EPERM = 1, EACCES = 13, ENOSPC = 28, EROFS = 30;

    private static int EDQUOT => OperatingSystem.IsMacOS() ? 69 : 122;

    /// <summary>SQLite's extended codes of a read (IOERR_READ, IOERR_SHORT_READ, IOERR_CORRUPTFS): the disk failed it, whatever errno is left.</summary>
    private static bool IsRead(int extended) => extended is 266 or 522 or SqliteReadFailure.CorruptFsCode;

    /// <summary>SQLite's extended codes of a lock: IOERR_UNLOCK, IOERR_RDLOCK, IOERR_CHECKRESERVEDLOCK, IOERR_LOCK, IOERR_SHMLOCK.</summary>
    private static bool IsLock(int extended) => extended is 2058 or 2314 or 3594 or 3850 or 5130;

    /// <summary>
    /// The exception for an SQLite I/O error (SQLITE_IOERR, SQLITE_FULL, or SQLITE_CORRUPT that was a failed read) on the
    /// index file <paramref name="file"/> of <paramref name="directory"/>, on the connection <paramref name="db"/>.
    /// </summary>
    public static IOException From(string directory, string file, SqliteException e, sqlite3? db)
    {
        var extended = e.SqliteExtendedErrorCode;
        int? errno = e.Data[ErrnoKey] as int? ?? (e.SqliteErrorCode == raw.SQLITE_IOERR ? SqliteFileControl.SystemErrno(db) : null);
        var cause = e.SqliteErrorCode == raw.SQLITE_FULL ? IndexIoCause.Full
            : e.SqliteErrorCode != raw.SQLITE_IOERR || IsRead(extended) ? IndexIoCause.FailedDisk
            : Of(errno ?? 0, IsLock(extended));
        var read = cause == IndexIoCause.FailedDisk && (e.SqliteErrorCode == raw.SQLITE_CORRUPT || IsRead(extended));
        return Tagged(new IOException(Message(directory, file, cause, Cause(e.Message, errno)), e), cause, file, read, errno);
    }

    /// <summary>The exception for a read of the index file that .NET itself made (its header) and the system failed with <paramref name="errno"/>.</summary>
    public static IOException FromRead(string directory, string file, int errno, IOException e) =>
        Tagged(new IOException(Message(directory, file, IndexIoCause.FailedDisk, Cause(e.Message, errno)), e), IndexIoCause.FailedDisk, file, read: true, errno);

    /// <summary>
    /// <see cref="PathLook.File(FileInfo)"/> on a file of the index set of <paramref name="directory"/>: a look the disk
    /// failed (EIO and its kin) is raised as the index's failed read (<see cref="FromRead"/>, what a forced repair sets the
    /// index aside for), any other failed look as <see cref="PathLook"/> raises it.
    /// </summary>
    public static bool Looked(string directory, FileInfo info)
    {
        try
        {
            return PathLook.File(info);
        }
        catch (IOException e) when (e.Data[ErrnoKey] is int errno && FailedReadErrno.Is(errno) && e.InnerException is IOException look)
        {
            throw FromRead(directory, info.FullName, errno, look);
        }
    }

    private static IndexIoCause Of(int errno, bool lockCall) =>
        errno == ENOSPC || errno == EDQUOT ? IndexIoCause.Full
        : errno == EROFS ? IndexIoCause.ReadOnly
        : errno is EACCES or EPERM ? IndexIoCause.Denied
        : lockCall ? IndexIoCause.Lock
        : IndexIoCause.FailedDisk;

    private static string Cause(string message, int? errno) => message.TrimEnd('.') + (errno is { } n && n > 0
        ? Name(n) is { Length: > 0 } name ? $"; errno {n}, {name}" : $"; errno {n}"
        : string.Empty);

    private static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        EACCES => "EACCES",
        ENOSPC => "ENOSPC",
        EROFS => "EROFS",
        5 => "EIO",
        6 => "ENXIO",
        34 => "ERANGE",
        _ when errno == EDQUOT => "EDQUOT",
        _ => string.Empty,
    };

    /// <summary>
    /// What a repair refused for a read of the index the disk failed adds: the way out when the disk cannot be made to
    /// read it (one bad sector is enough), and what that way risks.
    /// </summary>
    internal const string ForcedRepairAdvice =
        "If the file stays unreadable (a bad sector), Repair-CheckpointIndex -Force (CheckpointHandler.RepairIndex with force: true) "
        + "renames the index and its -wal and -shm aside unread (index.sqlite.unreadable-<UTC time>, kept, never deleted) and rebuilds it "
        + "from the step folders' manifests, reporting every step it could or could not read. It risks what only the old index recorded: "
        + "the record of work interrupted in it (a removal that did not finish may list its step again), and it writes the new index on the same disk.";

    /// <summary>What the index's I/O error of <paramref name="cause"/> says: the file, the directory, the cause, what to do, and that it is not damage.</summary>
    internal static string Message(string directory, string file, IndexIoCause cause, string detail) => cause switch
    {
        IndexIoCause.Full =>
            $"No space left on device, or the disk quota is exceeded: the index '{file}' of the checkpoint directory '{directory}' could not be written ({detail}). "
            + "Free disk space (or raise the quota) and retry. This is not damage to the index, and the disk need not be failing.",
        IndexIoCause.ReadOnly =>
            $"The index '{file}' of the checkpoint directory '{directory}' could not be written: the file system is mounted read-only ({detail}). "
            + "Remount it read-write (or copy the directory to a writable one) and retry; reading the checkpoints needs no write. This is not damage to the index.",
        IndexIoCause.Denied =>
            $"The index '{file}' of the checkpoint directory '{directory}' could not be written: permission denied ({detail}). "
            + $"Check that this user may write the directory, '{StepIndex.FileName}' and its '-wal' and '-shm' files (their owner and mode, an ACL, a security module), and retry. This is not damage to the index.",
        IndexIoCause.Lock =>
            $"The index '{file}' of the checkpoint directory '{directory}' could not be locked ({detail}): another process may hold a lock on it or its '-shm' file, or the file system does not support locks. "
            + "Find a process that has the file open (fuser or lsof on Linux and macOS), let it end, and retry. This is not damage to the index.",
        _ =>
            $"I/O error on the index '{file}' of the checkpoint directory '{directory}': the disk failed a read or write ({detail}). "
            + "This is not damage to the index: check the disk (the system log, e.g. dmesg) and retry; do not rebuild the index on a disk that fails.",
    };
}
