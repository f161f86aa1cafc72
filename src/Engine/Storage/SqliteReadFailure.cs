using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace DataraxCkpt.Storage;

/// <summary>
/// Tells an SQLITE_CORRUPT that is really a failed read of the disk from damage in the file's bytes. SQLite's Unix file
/// layer turns a read that the kernel fails with EIO, ENXIO or ERANGE into SQLITE_IOERR_CORRUPTFS, and its statement
/// engine reports that as plain SQLITE_CORRUPT ("database disk image is malformed"): the extended code is lost, and
/// <c>sqlite3_system_errno</c> is not set either (SQLite records it only for an error it reports as SQLITE_IOERR or
/// SQLITE_CANTOPEN). What survives is the errno the file itself last saw (<see cref="SqliteFileControl.LastErrnos"/>);
/// bad bytes read without a failing call leave no such errno.
/// </summary>
/// <remarks>
/// The errno is the file's last failure, not necessarily this statement's, and SQLite never clears it: a connection that
/// goes on after an I/O error it tolerated (<see cref="StepIndex"/>'s step-number index, added on open) reopens, so that
/// its files' errnos are this failure's.
/// </remarks>
internal static class SqliteReadFailure
{
    /// <summary>SQLITE_IOERR_CORRUPTFS (SQLITE_IOERR | 33 &lt;&lt; 8): the code SQLite gave the read before reporting it as corruption.</summary>
    internal const int CorruptFsCode = 10 | (33 << 8);

    /// <summary>
    /// True when <paramref name="rc"/> is SQLITE_CORRUPT and the main file of <paramref name="db"/> last failed a call
    /// with an errno SQLite turns into SQLITE_IOERR_CORRUPTFS: the disk failed a read, the bytes may be fine.
    /// </summary>
    public static bool IsFailedRead(int rc, sqlite3? db) => (rc & 0xFF) == raw.SQLITE_CORRUPT && LastReadFailed(db);

    /// <summary>
    /// True when the main file of <paramref name="db"/>, or its write-ahead log (or rollback journal), last failed a call
    /// with an errno SQLite turns into SQLITE_IOERR_CORRUPTFS. The log counts as much as the file: a page with a committed
    /// frame in the log is read from the log, and SQLite reports its failed read as SQLITE_CORRUPT too. Never on Windows,
    /// whose SQLite file layer reports a failed read as SQLITE_IOERR_READ, never as corruption.
    /// </summary>
    public static bool LastReadFailed(sqlite3? db) =>
        !OperatingSystem.IsWindows() && SqliteFileControl.LastErrnos(db) is { } errnos
            && (FailedReadErrno.Is(errnos.Main) || FailedReadErrno.Is(errnos.Journal));

    /// <summary>
    /// <see cref="SqliteException.ThrowExceptionForRC"/>, except that a failed read SQLite reported as corruption
    /// (<see cref="IsFailedRead"/>) is thrown as the I/O error it is (SQLITE_IOERR, extended SQLITE_IOERR_CORRUPTFS), and
    /// an SQLITE_IOERR carries the errno of <paramref name="db"/> (<see cref="IndexIoFailure.ErrnoKey"/>).
    /// </summary>
    public static void Throw(int rc, sqlite3 db)
    {
        if (IsFailedRead(rc, db))
        {
            throw new SqliteException($"SQLite Error 10: 'disk I/O error' (error {rc}, '{raw.sqlite3_errstr(rc).utf8_to_string()}'): a read of the file failed, which SQLite reports as damage.", raw.SQLITE_IOERR, CorruptFsCode);
        }

        try
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
        catch (SqliteException e) when ((rc & 0xFF) == raw.SQLITE_IOERR && SqliteFileControl.SystemErrno(db) is { } errno)
        {
            // The errno is this connection's (often not the index's own connection, whose errno Guard would read).
            e.Data[IndexIoFailure.ErrnoKey] = errno;
            throw;
        }
    }
}
