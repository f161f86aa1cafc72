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

        var outside = Path.Combine(_dir.Sub("elsewhere"), "planted.db");
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
}
