using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace DataraxCkpt.Storage;

/// <summary>
/// The one binding of SQLite's <c>sqlite3_file_control</c> and <c>sqlite3_system_errno</c> (SQLitePCL wraps neither),
/// called straight through the native library SQLitePCL loaded (the same library, checked as <see cref="SqliteColumns"/>
/// checks it). It answers three questions: whether a connection's file was moved (<c>SQLITE_FCNTL_HAS_MOVED</c>: a save
/// keeps the index connection of its reservation open until its commit), what errno the main file and its write-ahead
/// log last saw (<c>SQLITE_FCNTL_LAST_ERRNO</c>, for <see cref="SqliteReadFailure"/>), and the errno of the connection's
/// last I/O error (<c>sqlite3_system_errno</c>, for <see cref="IndexIoFailure"/>).
/// </summary>
internal static unsafe class SqliteFileControl
{
    private const int LastErrnoOp = 4; // SQLITE_FCNTL_LAST_ERRNO
    private const int HasMovedOp = 20; // SQLITE_FCNTL_HAS_MOVED
    private const int JournalPointerOp = 28; // SQLITE_FCNTL_JOURNAL_POINTER

    private static readonly delegate* unmanaged[Cdecl]<IntPtr, byte*, int, void*, int> FileControl;
    private static readonly delegate* unmanaged[Cdecl]<IntPtr, int> SystemErrnoOf;

    static SqliteFileControl()
    {
        try
        {
            // SQLitePCL's provider is set by SqliteConnection's type initializer; asking it for its library (here and in
            // IsSqlitePclLibrary) throws when no connection was made yet in this process (Repair's header read is first).
            System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(SqliteConnection).TypeHandle);
            if (string.Equals(raw.GetNativeLibraryName(), "e_sqlite3", StringComparison.Ordinal)
                && NativeLibrary.TryLoad("e_sqlite3", typeof(SqliteFileControl).Assembly, null, out var library)
                && SqliteColumns.IsSqlitePclLibrary(library))
            {
                if (NativeLibrary.TryGetExport(library, "sqlite3_file_control", out var control))
                {
                    FileControl = (delegate* unmanaged[Cdecl]<IntPtr, byte*, int, void*, int>)control;
                }

                if (NativeLibrary.TryGetExport(library, "sqlite3_system_errno", out var errno))
                {
                    SystemErrnoOf = (delegate* unmanaged[Cdecl]<IntPtr, int>)errno;
                }
            }
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException or InvalidOperationException)
        {
            // Unavailable: callers do not keep a connection (they reopen), every SQLITE_CORRUPT reads as damage, and an
            // I/O error's message follows its SQLite code alone, as before.
        }
    }

    /// <summary>
    /// Whether the main database file of <paramref name="connection"/> was moved, replaced or deleted since
    /// it was opened (SQLite compares the open file with what its path names now); null when that cannot
    /// be told (no direct library, or a VFS without the control), which callers treat as moved.
    /// </summary>
    public static bool? HasMoved(SqliteConnection connection) => connection.Handle is { } handle ? HasMoved(handle) : null;

    /// <summary><see cref="HasMoved(SqliteConnection)"/> for a connection opened on SQLite's own API.</summary>
    public static bool? HasMoved(sqlite3 handle)
    {
        if (FileControl == null)
        {
            return null;
        }

        var moved = 0;
        var rc = FileControl(handle.DangerousGetHandle(), null, HasMovedOp, &moved);
        return rc == raw.SQLITE_OK ? moved != 0 : null;
    }

    /// <summary>
    /// The errno the main file of <paramref name="db"/> last failed a system call with, and that of its write-ahead log (or
    /// rollback journal), 0 where none failed or the file is not open; null when they cannot be read (no direct library).
    /// SQLite never clears them (but for a short read), so they may be an earlier failure's.
    /// </summary>
    public static (int Main, int Journal)? LastErrnos(sqlite3? db)
    {
        if (db is null || db.IsInvalid || FileControl == null)
        {
            return null;
        }

        var main = "main\0"u8;
        fixed (byte* name = main)
        {
            int errno = 0;
            if (FileControl(db.DangerousGetHandle(), name, LastErrnoOp, &errno) != raw.SQLITE_OK)
            {
                errno = 0;
            }

            // SQLITE_FCNTL_JOURNAL_POINTER: the log's (or journal's) sqlite3_file, whose xFileControl (the 11th slot of
            // sqlite3_io_methods, after iVersion and nine methods) answers SQLITE_FCNTL_LAST_ERRNO for that file.
            IntPtr journal = IntPtr.Zero;
            if (FileControl(db.DangerousGetHandle(), name, JournalPointerOp, &journal) != raw.SQLITE_OK || journal == IntPtr.Zero)
            {
                return (errno, 0);
            }

            var methods = *(IntPtr**)journal;
            if (methods == null || *(int*)methods < 1 || methods[10] == IntPtr.Zero)
            {
                return (errno, 0);
            }

            int journalErrno = 0;
            return ((delegate* unmanaged[Cdecl]<IntPtr, int, int*, int>)methods[10])(journal, LastErrnoOp, &journalErrno) == raw.SQLITE_OK
                ? (errno, journalErrno)
                : (errno, 0);
        }
    }

    /// <summary>
    /// <c>sqlite3_system_errno</c>: the errno of the system call behind the connection's last SQLITE_IOERR or
    /// SQLITE_CANTOPEN (SQLite sets it as it reports that error); null when it cannot be read.
    /// </summary>
    public static int? SystemErrno(sqlite3? db) =>
        db is null || db.IsInvalid || SystemErrnoOf == null ? null : SystemErrnoOf(db.DangerousGetHandle());
}
