using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>
/// The order a save's durability rests on, read from its strace (calls in the order they returned, from
/// every thread): every change the save made in its staging folder (the folder, its files' entries and bytes)
/// is made durable by an fsync that returns before the rename publishes the step, and the index commits the
/// step only after the rename. The four flushes before the rename (the data file's and the folder's two on pool
/// threads beside the manifest's write and fsync) may return in any order among themselves: a crash before the
/// rename leaves an unpublished staging folder, swept whatever of it reached the disk. The crash-state explorer
/// checks a sample of crash states; this checks the order itself on every run.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class SaveDurabilityOrderTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ITestOutputHelper _output;

    public SaveDurabilityOrderTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    [StraceTheory]
    [InlineData("save")]
    [InlineData("overwrite")]
    public void Everything_staged_is_durable_before_the_rename_and_the_rename_before_the_index_commit(string operation)
    {
        Assert.True(TraceRecorder.FindStrace() is not null, "strace is not installed, and CI=true requires this test to run: apt-get install strace.");
        var ops = CrashStateExplorer.Explore(CrashScenario.Named(operation), _dir.Path, 1, ReliabilityScale.Seed).Ops;
        foreach (var op in ops)
        {
            _output.WriteLine($"  {op}");
        }

        int Last(Func<FsOp, bool> match, string what)
        {
            for (var i = ops.Count - 1; i >= 0; i--)
            {
                if (match(ops[i]))
                {
                    return i;
                }
            }

            Assert.Fail($"no {what} in the trace of {operation}");
            return -1;
        }

        bool IsSyncOf(FsOp op, Func<string, bool> path) =>
            op.Kind == FsOpKind.Sync && op.Syscall.StartsWith("fsync(", StringComparison.Ordinal) && path(op.Syscall["fsync(".Length..^1]);

        var data = Last(op => IsSyncOf(op, p => p.StartsWith(".staging/", StringComparison.Ordinal) && p.EndsWith("/tensors.lz4", StringComparison.Ordinal)), "fsync of the staged data file");
        var manifest = Last(op => IsSyncOf(op, p => p.StartsWith(".staging/", StringComparison.Ordinal) && p.EndsWith("/manifest.json.lz4", StringComparison.Ordinal)), "fsync of the staged manifest");
        var folder = Last(op => IsSyncOf(op, p => p.StartsWith(".staging/", StringComparison.Ordinal) && p.Count(c => c == '/') == 1), "fsync of the staging folder");
        var stagingRoot = Last(op => IsSyncOf(op, p => p == StepFolders.StagingFolder), "fsync of .staging");
        var rename = Last(op => op.Kind is FsOpKind.Rename or FsOpKind.Exchange && op.Name2.Length > 0 && op.Name2.All(char.IsAsciiDigit), "publishing rename");
        var commit = Last(op => IsSyncOf(op, p => p == "index.sqlite-wal"), "fsync of the index's WAL");

        Assert.True(data < rename, $"the data file's fsync (#{data}) returned after the publishing rename (#{rename})");
        Assert.True(manifest < rename, $"the manifest's fsync (#{manifest}) returned after the publishing rename (#{rename})");
        Assert.True(folder < rename, $"the staging folder's fsync (#{folder}) came after the publishing rename (#{rename})");
        Assert.True(stagingRoot < rename, $"the fsync of .staging (#{stagingRoot}) came after the publishing rename (#{rename})");
        // What the four flushes are for, whatever order they returned in: each change of the staged step (its
        // folder's mkdir, its files' creation and bytes) is covered by one of them before the rename. The owner lock
        // file beside the folder is not part of the step, and nothing needs it durable.
        var durableAt = CrashStateGenerator.DurableAt(ops);
        var late = ops.Take(rename).Where(op => op.Kind != FsOpKind.Sync && op.Syscall.Contains(StepFolders.StagingFolder + "/", StringComparison.Ordinal)
            && !op.Syscall.Contains(".lock", StringComparison.Ordinal) && durableAt[op.Seq] > rename).ToList();
        Assert.True(late.Count == 0, $"staged changes not durable before the publishing rename (#{rename}): {string.Join("; ", late)}");
        Assert.True(rename < commit, $"the index's last WAL fsync (#{commit}) came before the publishing rename (#{rename})");
    }
}
