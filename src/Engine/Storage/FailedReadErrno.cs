namespace DataraxCkpt.Storage;

/// <summary>
/// The errnos of a read the disk failed, as SQLite's Unix file layer (os_unix.c, unixRead) tells them: those it turns
/// into SQLITE_IOERR_CORRUPTFS. Kept apart from <see cref="SqliteReadFailure"/>, whose type initializer binds SQLite's
/// library: a read of the index header that fails before SQLite is first used (Repair's <see cref="StepIndex.IsUnversioned"/>)
/// must be recognised without it.
/// </summary>
internal static class FailedReadErrno
{
    /// <summary>
    /// Whether <paramref name="errno"/> is EIO, ENXIO or ERANGE (the same numbers on Linux and macOS), or macOS's EDEVERR
    /// (83; on Linux 83 is ELIBEXEC, which no read returns).
    /// </summary>
    internal static bool Is(int errno) => errno is 5 or 6 or 34 || (errno == 83 && OperatingSystem.IsMacOS());
}
