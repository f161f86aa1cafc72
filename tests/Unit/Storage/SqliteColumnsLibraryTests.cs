using System.Runtime.InteropServices;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// The direct column reads and steps must call the very SQLite library SQLitePCL opened the connection
/// with. In a PowerShell session another module may have loaded SQLitePCLRaw (and its e_sqlite3) from its
/// own folder first; this assembly's load of "e_sqlite3" then finds a second copy of the same version.
/// That copy was accepted (only the version was compared), though it was never initialized: every call on
/// a connection with a mutex (the index's own: first/last listings, retention, prune) goes through its null
/// mutex methods, and sqlite3_step through its unset allocator, which ends the process (found by the attack
/// on indexlist).
/// </summary>
public sealed class SqliteColumnsLibraryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Only_the_library_SQLitePCL_calls_is_used_not_a_second_copy_of_the_same_version()
    {
        _ = SqliteColumns.Direct;
        Assert.True(NativeLibrary.TryLoad("e_sqlite3", typeof(SqliteColumns).Assembly, null, out var used));
        Assert.True(SqliteColumns.IsSqlitePclLibrary(used));

        var name = OperatingSystem.IsWindows() ? "e_sqlite3.dll" : OperatingSystem.IsMacOS() ? "libe_sqlite3.dylib" : "libe_sqlite3.so";
        var original = Directory.EnumerateFiles(AppContext.BaseDirectory, name, SearchOption.AllDirectories)
            .FirstOrDefault(f => f.Contains(System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier, StringComparison.Ordinal))
            ?? Directory.EnumerateFiles(AppContext.BaseDirectory, name, SearchOption.AllDirectories).First();
        var copy = Path.Combine(_dir.Sub("other-module"), name);
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        File.Copy(original, copy);
        var second = NativeLibrary.Load(copy);

        Assert.NotEqual(used, second);
        Assert.False(SqliteColumns.IsSqlitePclLibrary(second));
    }
}
