using System.Runtime.InteropServices;
using SQLitePCL;

namespace DataraxCkpt.Storage;

/// <summary>
/// Column reads of a stepping statement straight through the native SQLite library SQLitePCL loaded,
/// by the statement's raw pointer. SQLitePCL's own calls marshal the statement's SafeHandle on every
/// read (add a reference, release it); at 100,000 rows of seven columns that was about a quarter of a
/// full listing (docs/performance-notes.md). The library is loaded by name from this assembly, which
/// resolves exactly as SQLitePCL's provider does (same load context, same deps.json), so it is the
/// same library (checked: <see cref="IsSqlitePclLibrary"/>); when it is not e_sqlite3, cannot be loaded
/// or is another copy, SQLitePCL's calls are used instead.
/// </summary>
/// <remarks>
/// The column reads are called without the runtime's managed-to-native transition
/// (<c>SuppressGCTransition</c>): each only returns a value or a pointer already held in the statement's
/// current row (no I/O, no callback into managed code: none is registered; on a NOMUTEX scan connection
/// no lock, on an index's own connection its mutex, which only the one thread using that index, opened
/// and disposed within one operation, ever takes), so it is far shorter than the transition (800,000 reads in a listing of 100,000 steps; docs/performance-notes.md,
/// round 13). <see cref="Step"/> keeps the transition: a step reads pages and may wait on a busy
/// database.
/// </remarks>
internal static unsafe class SqliteColumns
{
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, long> ColumnInt64;
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, IntPtr> ColumnBlob;
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, int> ColumnBytes;
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, int> ColumnType;
    private static readonly delegate* unmanaged[Cdecl]<IntPtr, int> StepRaw;
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, IntPtr> ColumnValue;
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int> ValueType;
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, long> ValueInt64;
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, IntPtr> ValueBlob;
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, IntPtr> ValueText;
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int> ValueBytes;

    static SqliteColumns()
    {
        try
        {
            if (!string.Equals(raw.GetNativeLibraryName(), "e_sqlite3", StringComparison.Ordinal)
                || !NativeLibrary.TryLoad("e_sqlite3", typeof(SqliteColumns).Assembly, null, out var library)
                || !IsSqlitePclLibrary(library)
                || !NativeLibrary.TryGetExport(library, "sqlite3_column_int64", out var int64)
                || !NativeLibrary.TryGetExport(library, "sqlite3_column_blob", out var blob)
                || !NativeLibrary.TryGetExport(library, "sqlite3_column_bytes", out var bytes)
                || !NativeLibrary.TryGetExport(library, "sqlite3_column_type", out var type)
                || !NativeLibrary.TryGetExport(library, "sqlite3_step", out var step)
                || !NativeLibrary.TryGetExport(library, "sqlite3_column_value", out var value)
                || !NativeLibrary.TryGetExport(library, "sqlite3_value_type", out var valueType)
                || !NativeLibrary.TryGetExport(library, "sqlite3_value_int64", out var valueInt64)
                || !NativeLibrary.TryGetExport(library, "sqlite3_value_blob", out var valueBlob)
                || !NativeLibrary.TryGetExport(library, "sqlite3_value_text", out var valueText)
                || !NativeLibrary.TryGetExport(library, "sqlite3_value_bytes", out var valueBytes))
            {
                return;
            }

            ColumnInt64 = (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, long>)int64;
            ColumnBlob = (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, IntPtr>)blob;
            ColumnBytes = (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, int>)bytes;
            ColumnType = (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, int>)type;
            StepRaw = (delegate* unmanaged[Cdecl]<IntPtr, int>)step;
            ColumnValue = (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, IntPtr>)value;
            ValueType = (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int>)valueType;
            ValueInt64 = (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, long>)valueInt64;
            ValueBlob = (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, IntPtr>)valueBlob;
            ValueText = (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, IntPtr>)valueText;
            ValueBytes = (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int>)valueBytes;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException or InvalidOperationException)
        {
            // SQLitePCL's calls serve.
        }
    }

    /// <summary>
    /// Whether <paramref name="library"/> is the very SQLite library SQLitePCL calls, not merely one of the
    /// same version: another module in the process may have loaded SQLitePCL with the e_sqlite3 of its own
    /// folder, and a second copy, never initialized, has no mutex methods and no allocator (a call on a
    /// connection with a mutex would end the process). Both return the address of the library's one
    /// version string: SQLitePCL's answer points at it, without a copy.
    /// </summary>
    internal static bool IsSqlitePclLibrary(IntPtr library)
    {
        if (!NativeLibrary.TryGetExport(library, "sqlite3_libversion", out var version))
        {
            return false;
        }

        fixed (byte* pcl = raw.sqlite3_libversion())
        {
            return pcl != null && (IntPtr)pcl == ((delegate* unmanaged[Cdecl]<IntPtr>)version)();
        }
    }

    /// <summary>True when reads go straight to the native library (for tests).</summary>
    internal static bool Direct => ColumnInt64 != null;

    /// <summary>The raw pointer of a statement, for <see cref="Int64(IntPtr, sqlite3_stmt, int)"/> and <see cref="Bytes(IntPtr, sqlite3_stmt, int)"/>.</summary>
    public static IntPtr Pointer(sqlite3_stmt statement) => statement.DangerousGetHandle();

    /// <summary>
    /// Steps the statement (<c>sqlite3_step</c>) by its raw pointer, without SQLitePCL's reference count on
    /// the handle for each call: the caller holds the statement (a <c>using</c>) for the whole loop.
    /// </summary>
    public static int Step(IntPtr pointer, sqlite3_stmt statement) =>
        StepRaw != null ? StepRaw(pointer) : raw.sqlite3_step(statement);

    /// <summary>
    /// The stored type of a column of the current row (<c>SQLITE_INTEGER</c>, <c>SQLITE_NULL</c>, ...), read
    /// before any conversion: the other reads convert silently (NULL and 'yesterday' read as 0).
    /// </summary>
    public static int Type(IntPtr pointer, sqlite3_stmt statement, int column) =>
        ColumnType != null ? ColumnType(pointer, column) : raw.sqlite3_column_type(statement, column);

    /// <summary>An integer column of the current row.</summary>
    public static long Int64(IntPtr pointer, sqlite3_stmt statement, int column) =>
        ColumnInt64 != null ? ColumnInt64(pointer, column) : raw.sqlite3_column_int64(statement, column);

    /// <summary>
    /// An integer column of the current row and its stored <paramref name="type"/> (as <see cref="Type"/>), from one
    /// look-up of the column: each <c>sqlite3_column_*</c> call finds the column's value anew and checks the connection's
    /// allocation state on the way out (about a sixth of a full listing's CPU for 13 calls a row; docs/performance-notes.md,
    /// round 44), while <c>sqlite3_value_type</c> and <c>sqlite3_value_int64</c> read the value <c>sqlite3_column_value</c>
    /// found once, with the same conversions. That value is SQLite's "unprotected" one, which SQLite's documentation
    /// (c3ref/value) allows only as an argument of <c>sqlite3_result_value</c>, <c>sqlite3_bind_value</c> or
    /// <c>sqlite3_value_dup</c>: the rule is about the connection's mutex, and a scan connection is opened without one
    /// and stepped by one thread, which reads the value before its next step. What the rule's route would also give and
    /// this one does not: an out-of-memory in a type conversion is not recorded on the connection (a conversion of a
    /// non-text metadata value to text, some twenty bytes, failing for want of memory).
    /// </summary>
    public static long Int64(IntPtr pointer, sqlite3_stmt statement, int column, out int type)
    {
        if (ColumnValue == null)
        {
            type = raw.sqlite3_column_type(statement, column);
            return raw.sqlite3_column_int64(statement, column);
        }

        var value = ColumnValue(pointer, column);
        type = ValueType(value);
        return ValueInt64(value);
    }

    /// <summary>
    /// A text or blob column of the current row, as bytes valid until the next step, and its stored <paramref name="type"/>
    /// (read before the bytes, which convert a NULL to none), from one look-up of the column as <see cref="Int64(IntPtr, sqlite3_stmt, int, out int)"/>.
    /// Text is UTF-8 whatever the file's encoding: an index made by another tool may be UTF-16, whose stored bytes a
    /// blob read gives as they are (every listed step's metadata was then reported as corrupt; found by the attack on
    /// list14). The text read converts such a value to UTF-8 in place, and returns a UTF-8 one as it is.
    /// </summary>
    public static ReadOnlySpan<byte> Bytes(IntPtr pointer, sqlite3_stmt statement, int column, out int type)
    {
        if (ColumnValue == null)
        {
            type = raw.sqlite3_column_type(statement, column);
            if (type == raw.SQLITE_TEXT)
            {
                // Converts the value to UTF-8 in place: the blob read below then gives those bytes.
                _ = raw.sqlite3_column_text(statement, column);
            }

            return raw.sqlite3_column_blob(statement, column);
        }

        var value = ColumnValue(pointer, column);
        type = ValueType(value);
        var data = type == raw.SQLITE_TEXT ? ValueText(value) : ValueBlob(value);
        var length = ValueBytes(value);
        return data == IntPtr.Zero ? ReadOnlySpan<byte>.Empty : new ReadOnlySpan<byte>((void*)data, length);
    }

    /// <summary>
    /// A blob column of the current row, as bytes valid until the next step. Not for text: a text value comes back as
    /// stored, UTF-16 in a UTF-16 index (<see cref="Bytes(IntPtr, sqlite3_stmt, int, out int)"/> reads it as UTF-8).
    /// </summary>
    public static ReadOnlySpan<byte> Bytes(IntPtr pointer, sqlite3_stmt statement, int column)
    {
        if (ColumnBlob == null)
        {
            return raw.sqlite3_column_blob(statement, column);
        }

        // Blob first, then its length (SQLite's documented order: the length of the converted value).
        var data = ColumnBlob(pointer, column);
        var length = ColumnBytes(pointer, column);
        return data == IntPtr.Zero ? ReadOnlySpan<byte>.Empty : new ReadOnlySpan<byte>((void*)data, length);
    }
}
