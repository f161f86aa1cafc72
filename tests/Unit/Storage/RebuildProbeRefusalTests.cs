using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A repair (or a save that finds an unversioned index) first checks that <c>index.sqlite.rebuild</c> can be made, before
/// it sets the index aside. Any failure there, not only a path too long for SQLite, must say which file in which directory
/// failed and that nothing was set aside: SQLite's own "unable to open database file" names nothing.
/// </summary>
public sealed class RebuildProbeRefusalTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private string? _mounted;

    public void Dispose()
    {
        if (_mounted is not null)
        {
            ReadOnlyMount.Run("umount", _mounted);
        }

        _dir.Dispose();
    }

    private static readonly byte[] Garbage = Enumerable.Repeat((byte)7, 4096).ToArray();

    private static void SaveOneStepAndDamageIndex(string ck)
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        }

        File.WriteAllBytes(Path.Combine(ck, StepIndex.FileName), Garbage);
    }

    private static void AssertNamesRebuildAndNothingSetAside(Exception e, string ck, bool withCause = true)
    {
        Assert.Contains(StepIndex.FileName + StepIndex.RebuildSuffix, e.Message, StringComparison.Ordinal);
        Assert.Contains(ck, e.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was set aside", e.Message, StringComparison.Ordinal);
        if (withCause)
        {
            Assert.NotNull(e.InnerException);
        }

        Assert.Equal(Garbage, File.ReadAllBytes(Path.Combine(ck, StepIndex.FileName)));
        Assert.Equal([StepIndex.FileName], Directory.GetFiles(ck, StepIndex.FileName + "*").Where(f => File.Exists(f)).Select(Path.GetFileName));
    }

    [SkippableFact]
    public void A_repair_with_a_folder_left_at_the_rebuild_path_refuses_naming_it_and_sets_nothing_aside()
    {
        Skip.If(OperatingSystem.IsWindows(), "Windows reports a folder in a file's place differently");
        var ck = _dir.Sub("ck");
        SaveOneStepAndDamageIndex(ck);
        var left = Path.Combine(ck, StepIndex.FileName + StepIndex.RebuildSuffix);
        Directory.CreateDirectory(left);

        using var h = new CheckpointHandler();
        // An IOException saying it is a folder: Unix reports unlinking a folder as a permission denial (EISDIR), which
        // pointed the user at permissions (attack on the review's fixes).
        var e = Assert.Throws<IOException>(() => h.RepairIndex(ck));
        AssertNamesRebuildAndNothingSetAside(e, ck, withCause: false);
        Assert.Contains("is a folder", e.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(left), "the folder someone left at the rebuild's path is theirs: it stays");
    }

    [RootMountFact]
    public void A_repair_in_a_directory_where_no_file_can_be_created_refuses_naming_the_rebuild_file_not_with_a_bare_sqlite_error()
    {
        // A file system with no free inode: the probe's create fails (ENOSPC), as SQLite reports it: SQLITE_CANTOPEN.
        var fs = Directory.CreateDirectory(_dir.Sub("fs")).FullName;
        ReadOnlyMount.Run("mount", "-t", "tmpfs", "-o", "size=4m,nr_inodes=64", "tmpfs", fs);
        _mounted = fs;
        var ck = Path.Combine(fs, "ck");
        SaveOneStepAndDamageIndex(ck);
        var filler = Directory.CreateDirectory(Path.Combine(fs, "filler")).FullName;
        try
        {
            for (var i = 0; i < 1000; i++)
            {
                File.WriteAllBytes(Path.Combine(filler, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), []);
            }

            Assert.Fail("the file system took 1000 files: it was to have no free inode");
        }
        catch (IOException)
        {
            // No inode left: no file can be created now.
        }

        using var h = new CheckpointHandler();
        var e = Assert.ThrowsAny<Exception>(() => h.RepairIndex(ck));
        Assert.IsType<IOException>(e);
        Assert.IsType<SqliteException>(e.InnerException);
        AssertNamesRebuildAndNothingSetAside(e, ck);
    }
}
