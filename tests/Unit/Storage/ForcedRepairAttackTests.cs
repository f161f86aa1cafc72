using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Reliability.CrashStates;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Attack on session 18's forced repair (<c>RepairIndex(force: true)</c>): what it does when the failure is not a read
/// of index.sqlite, and when the disk it rebuilds on fails a write of the new index. The errors are real (strace).
/// </summary>
public sealed class ForcedRepairAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;
    private readonly string _index;

    public ForcedRepairAttackTests()
    {
        _ck = _dir.Sub("ck");
        _index = Path.Combine(_ck, StepIndex.FileName);
        using var h = new CheckpointHandler();
        for (var step = 1; step <= 3; step++)
        {
            h.Save(_ck, HarnessState.Create(step, 18, 2, 256), step: step);
        }

        h.SetPinned(_ck, 2, true);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// The index reads; only a write to its log fails (EIO), while recovery finishes an interrupted removal recorded in
    /// it. -Force is documented for "the disk fails to read index.sqlite itself"; here it sets a readable index aside
    /// (its intents with it) and reports "the index could not be read", which is false.
    /// </summary>
    [StraceTheory]
    [InlineData("pwrite64")]
    [InlineData("fsync")]
    public void A_forced_repair_whose_readable_index_fails_a_write_sets_nothing_aside(string syscall)
    {
        using (var index = StepIndex.Open(Path.GetFullPath(_ck), create: false, upgrade: true))
        {
            // A removal interrupted after its intent was committed (its folder already gone): recovery writes to finish it.
            index.AddIntent(new Intent("0123456789abcdef0123456789abcdef", "delete", 9, null));
        }

        var (exitCode, output) = InjectedErrno.Run(syscall, "EIO", "1+", [_index, _index + "-wal"], "repair-force", _ck);

        Assert.DoesNotContain("could not be read", output, StringComparison.Ordinal);
        Assert.True(Directory.GetFiles(_ck, StepIndex.FileName + ".unreadable-*").Length == 0,
            $"a readable index was set aside as unreadable after a failed write (exit {exitCode}): {output}");
    }

    /// <summary>
    /// The index cannot be read (its first read fails), so the forced repair rebuilds; the disk then fails one fsync of
    /// the new index's log, the commit of one step's row. The repair must not rename in an index that lacks a step
    /// whose folder is whole: it did, exiting 0, the step reported as a folder "left in place and not listed", so the
    /// newest step (a resume's) or a pinned one silently vanished from every listing.
    /// </summary>
    [StraceTheory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void A_forced_rebuild_whose_new_index_fails_one_write_never_leaves_an_index_without_a_step(int failedFsync)
    {
        var rebuildLog = _index + StepIndex.RebuildSuffix + "-wal";
        var (exitCode, output) = Run(_ck, "repair-force", "-e", "trace=pread64,fsync", "-e", "inject=pread64:error=EIO:when=1",
            "-e", $"inject=fsync:error=EIO:when={failedFsync}", "-P", _index, "-P", rebuildLog);

        using var h = new CheckpointHandler();
        Assert.True(h.GetCheckpointSteps(_ck).SequenceEqual([1L, 2, 3]),
            $"after a forced repair (exit {exitCode}) the index lists {string.Join(",", h.GetCheckpointSteps(_ck))}: {output}");
        Assert.True(exitCode != 0 && output.Contains("already set aside", StringComparison.Ordinal),
            $"a forced rebuild that failed after setting the index aside fails and says so (exit {exitCode}): {output}");
    }

    private static (int ExitCode, string Output) Run(string ck, string command, params string[] straceArgs) =>
        InjectedErrno.RunTraced(straceArgs, command, ck);
}
