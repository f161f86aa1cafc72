using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace DataraxCkpt.Storage;

/// <summary>
/// SQLite's <c>SQLITE_FCNTL_HAS_MOVED</c> file control (<c>sqlite3_file_control</c>, which SQLitePCL does
/// not wrap), called straight through the native library SQLitePCL loaded (the same library, checked as
/// <see cref="SqliteColumns"/> checks it). A save keeps the index connection of its reservation open
/// until its commit (one open, one checkpoint at the last close, instead of two of each); this tells
/// whether the index file under that connection is still the one at the index's path.
/// </summary>
internal static unsafe class SqliteFileControl
{
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
    public static bool? HasMoved(SqliteConnection connection) => connection.Handle is { } handle ? HasMoved(handle) : null;

    /// <summary><see cref="HasMoved(SqliteConnection)"/> for a connection opened on SQLite's own API.</summary>
    public static bool? HasMoved(sqlite3 handle)
    {
        if (FileControl == null)
        {
            return null;
        }

        var moved = 0;
        var rc = FileControl(handle.DangerousGetHandle(), IntPtr.Zero, HasMovedOp, &moved);
        return rc == raw.SQLITE_OK ? moved != 0 : null;
    }
}
