using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace DataraxCkpt.Storage;

/// <summary>
/// Two of SQLite's file controls (<c>sqlite3_file_control</c>), which SQLitePCL does not wrap, called
/// straight through the native library SQLitePCL loaded (the same library, checked as
/// <see cref="SqliteColumns"/> checks it). A save keeps the index connection of its reservation open
/// until its commit (one open, one checkpoint at the last close, instead of two of each); these tell
/// whether the index file under that connection is still the one at the index's path, and close a
/// connection whose file was moved without touching the files now at that path.
/// </summary>
internal static unsafe class SqliteFileControl
{
    private const int PersistWal = 10; // SQLITE_FCNTL_PERSIST_WAL
    private const int HasMovedOp = 20; // SQLITE_FCNTL_HAS_MOVED

    private static readonly delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int, int*, int> FileControl;

    static SqliteFileControl()
    {
        try
        {
            if (string.Equals(raw.GetNativeLibraryName(), "e_sqlite3", StringComparison.Ordinal)
                && NativeLibrary.TryLoad("e_sqlite3", typeof(SqliteFileControl).Assembly, null, out var library)
                && SqliteColumns.IsSqlitePclLibrary(library)
                && NativeLibrary.TryGetExport(library, "sqlite3_file_control", out var control))
            {
                FileControl = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int, int*, int>)control;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException or InvalidOperationException)
        {
            // Unavailable: callers do not keep a connection (they reopen, as before).
        }
    }

    /// <summary>
    /// Whether the main database file of <paramref name="connection"/> was moved, replaced or deleted since
    /// it was opened (SQLite compares the open file with what its path names now); null when that cannot
    /// be told (no direct library, or a VFS without the control), which callers treat as moved.
    /// </summary>
    public static bool? HasMoved(SqliteConnection connection)
    {
        if (FileControl == null || connection.Handle is not { } handle)
        {
            return null;
        }

        var moved = 0;
        var rc = FileControl(handle.DangerousGetHandle(), IntPtr.Zero, HasMovedOp, &moved);
        return rc == raw.SQLITE_OK ? moved != 0 : null;
    }

    /// <summary>
    /// Makes the last close of <paramref name="connection"/> leave the write-ahead log and shared memory
    /// where they are: SQLite deletes them by path, and once the index was moved aside (a repair) the files
    /// at that path belong to the index that replaced it. True when set.
    /// </summary>
    public static bool KeepLogAtClose(SqliteConnection connection)
    {
        if (FileControl == null || connection.Handle is not { } handle)
        {
            return false;
        }

        var keep = 1;
        return FileControl(handle.DangerousGetHandle(), IntPtr.Zero, PersistWal, &keep) == raw.SQLITE_OK;
    }
}
