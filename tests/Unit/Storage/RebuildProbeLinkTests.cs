using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Repair's check that SQLite opens <c>index.sqlite.rebuild</c> (StepIndex.RefuseUnopenable) opens that path with SQLite,
/// creating it. What a killed repair or anyone else left at that path is the store's stored data: a symbolic link there
/// (a dangling one to a path outside the store) must not make the check create a file outside the directory. The rebuild
/// itself deletes whatever is at that path before it opens it; the check must not follow it either.
/// </summary>
public sealed class RebuildProbeLinkTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public void A_repair_with_a_link_left_at_the_rebuild_path_creates_nothing_where_it_points()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need privileges on Windows");
        var ck = _dir.Sub("ck");
        using (var h = new CheckpointHandler())
        {
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        }

        // The folder the link points into exists: SQLite could create the file there, so its absence after the repair shows
        // the probe did not follow the link (with no folder, SQLite could not create it whatever the probe did).
        var outside = Path.Combine(Directory.CreateDirectory(_dir.Sub("elsewhere")).FullName, "planted.db");
        File.WriteAllBytes(Path.Combine(ck, StepIndex.FileName), Enumerable.Repeat((byte)7, 4096).ToArray());
        File.CreateSymbolicLink(Path.Combine(ck, StepIndex.FileName + StepIndex.RebuildSuffix), outside);

        using (var h = new CheckpointHandler())
        {
            h.RepairIndex(ck);
            Assert.Equal(new long[] { 1 }, h.ListCheckpoints(ck).Select(c => c.Step));
        }

        Assert.False(File.Exists(outside), "the repair's probe created a file where a link at index.sqlite.rebuild pointed, outside the store");
        Assert.False(File.Exists(Path.Combine(ck, StepIndex.FileName + StepIndex.RebuildSuffix)));
    }

    [SkippableFact]
    public void A_repair_with_a_link_left_at_the_rebuild_path_to_an_existing_file_leaves_that_file_as_it_was()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need privileges on Windows");
        var ck = _dir.Sub("ck");
        using (var h = new CheckpointHandler())
        {
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        }

        var outside = Path.Combine(Directory.CreateDirectory(_dir.Sub("elsewhere")).FullName, "someones.db");
        var theirs = System.Text.Encoding.UTF8.GetBytes("someone else's file, not an index, and not the store's to change");
        File.WriteAllBytes(outside, theirs);
        var written = File.GetLastWriteTimeUtc(outside);
        File.WriteAllBytes(Path.Combine(ck, StepIndex.FileName), Enumerable.Repeat((byte)7, 4096).ToArray());
        var link = Path.Combine(ck, StepIndex.FileName + StepIndex.RebuildSuffix);
        File.CreateSymbolicLink(link, outside);

        using (var h = new CheckpointHandler())
        {
            h.RepairIndex(ck);
            Assert.Equal(new long[] { 1 }, h.ListCheckpoints(ck).Select(c => c.Step));
        }

        Assert.Equal(theirs, File.ReadAllBytes(outside));
        Assert.Equal(written, File.GetLastWriteTimeUtc(outside));
        Assert.False(File.Exists(link) || new FileInfo(link).LinkTarget is not null, "the link left at index.sqlite.rebuild is still there");
        Assert.Equal(["someones.db"], Directory.GetFileSystemEntries(Path.GetDirectoryName(outside)!).Select(Path.GetFileName));
    }
}
