using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace DataraxCkpt.Storage;

/// <summary>
/// Tells an SQLITE_CORRUPT that is really a failed read of the disk from damage in the file's bytes. SQLite's Unix file
/// layer turns a read that the kernel fails with EIO, ENXIO or ERANGE into SQLITE_IOERR_CORRUPTFS, and its statement
/// engine reports that as plain SQLITE_CORRUPT ("database disk image is malformed"): the extended code is lost, and
/// <c>sqlite3_system_errno</c> is not set either (SQLite records it only for an error it reports as SQLITE_IOERR or
/// SQLITE_CANTOPEN). What survives is the errno the file itself last saw, which <c>sqlite3_file_control</c> with
/// SQLITE_FCNTL_LAST_ERRNO returns; bad bytes read without a failing call leave no such errno. SQLitePCL does not
/// bind <c>sqlite3_file_control</c>, so it is called in the very library SQLitePCL loaded, as
/// <see cref="SqliteColumns"/> calls its column reads.
/// </summary>
/// <remarks>
/// The errno is the file's last failure, not necessarily this statement's: an EIO earlier on the same connection and
/// real damage later would read as an I/O error. That errs the safe way: a disk that failed reads is to be checked
/// before the index is rebuilt on it.
/// </remarks>
internal static unsafe class SqliteReadFailure
{
    /// <summary>SQLITE_FCNTL_LAST_ERRNO: the errno of the file's last failed system call.</summary>
    private const int LastErrnoOperation = 4;

    /// <summary>SQLITE_FCNTL_JOURNAL_POINTER: the sqlite3_file of the write-ahead log (or rollback journal), null when none is open.</summary>
    private const int JournalPointerOperation = 28;

    /// <summary>SQLITE_IOERR_CORRUPTFS (SQLITE_IOERR | 33 &lt;&lt; 8): the code SQLite gave the read before reporting it as corruption.</summary>
    internal const int CorruptFsCode = 10 | (33 << 8);

    private static readonly delegate* unmanaged[Cdecl]<IntPtr, byte*, int, void*, int> FileControl;

    static SqliteReadFailure()
    {
        try
        {
            // SQLitePCL's provider is set by SqliteConnection's type initializer; IsSqlitePclLibrary asks it for the
            // library's version, which throws when no connection was made yet in this process.
            System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(SqliteConnection).TypeHandle);

            if (OperatingSystem.IsWindows()
                || !NativeLibrary.TryLoad("e_sqlite3", typeof(SqliteReadFailure).Assembly, null, out var library)
                || !SqliteColumns.IsSqlitePclLibrary(library)
                || !NativeLibrary.TryGetExport(library, "sqlite3_file_control", out var fileControl))
            {
                // Windows: SQLite's Windows file layer reports a failed read as SQLITE_IOERR_READ, never as corruption.
                return;
            }

            FileControl = (delegate* unmanaged[Cdecl]<IntPtr, byte*, int, void*, int>)fileControl;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException or InvalidOperationException)
        {
            // Without it every SQLITE_CORRUPT reads as damage, as before.
        }
    }

    /// <summary>
    /// True when <paramref name="rc"/> is SQLITE_CORRUPT and the main file of <paramref name="db"/> last failed a call
    /// with an errno SQLite turns into SQLITE_IOERR_CORRUPTFS: the disk failed a read, the bytes may be fine.
    /// </summary>
    public static bool IsFailedRead(int rc, sqlite3? db)
    {
        if ((rc & 0xFF) != raw.SQLITE_CORRUPT || db is null || db.IsInvalid || FileControl == null)
        {
            return false;
        }

        return LastReadFailed(db);
    }

    /// <summary>
    /// True when the main file of <paramref name="db"/>, or its write-ahead log (or rollback journal), last failed a call
    /// with an errno SQLite turns into SQLITE_IOERR_CORRUPTFS. The log counts as much as the file: a page with a committed
    /// frame in the log is read from the log, and SQLite reports its failed read as SQLITE_CORRUPT too.
    /// </summary>
    public static bool LastReadFailed(sqlite3? db)
    {
        if (db is null || db.IsInvalid || FileControl == null)
        {
            return false;
        }

        var main = "main\0"u8;
        fixed (byte* name = main)
        {
            int errno = 0;
            if (FileControl(db.DangerousGetHandle(), name, LastErrnoOperation, &errno) == raw.SQLITE_OK && FailedReadErrno.Is(errno))
            {
                return true;
            }

            // SQLITE_FCNTL_JOURNAL_POINTER: the log's (or journal's) sqlite3_file, whose xFileControl (the 11th slot of
            // sqlite3_io_methods, after iVersion and nine methods) answers SQLITE_FCNTL_LAST_ERRNO for that file.
            IntPtr journal = IntPtr.Zero;
            if (FileControl(db.DangerousGetHandle(), name, JournalPointerOperation, &journal) != raw.SQLITE_OK || journal == IntPtr.Zero)
            {
                return false;
            }

            var methods = *(IntPtr**)journal;
            if (methods == null || *(int*)methods < 1 || methods[10] == IntPtr.Zero)
            {
                return false;
            }

            int journalErrno = 0;
            return ((delegate* unmanaged[Cdecl]<IntPtr, int, int*, int>)methods[10])(journal, LastErrnoOperation, &journalErrno) == raw.SQLITE_OK
                && FailedReadErrno.Is(journalErrno);
        }
    }


    /// <summary>
    /// <see cref="SqliteException.ThrowExceptionForRC"/>, except that a failed read SQLite reported as corruption
    /// (<see cref="IsFailedRead"/>) is thrown as the I/O error it is (SQLITE_IOERR, extended SQLITE_IOERR_CORRUPTFS).
    /// </summary>
    public static void Throw(int rc, sqlite3 db)
    {
        if (IsFailedRead(rc, db))
        {
            throw new SqliteException($"SQLite Error 10: 'disk I/O error' (error {rc}, '{raw.sqlite3_errstr(rc).utf8_to_string()}'): a read of the file failed, which SQLite reports as damage.", raw.SQLITE_IOERR, CorruptFsCode);
        }

        SqliteException.ThrowExceptionForRC(rc, db);
    }
}
