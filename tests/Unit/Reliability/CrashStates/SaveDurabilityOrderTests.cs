using DataraxCkpt.Tests.Support;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>
/// The order a save's durability rests on, read from its strace (calls in the order they returned, from
/// every thread): the data file's fsync, which overlaps the manifest's write on a pool thread, and the
/// manifest's fsync both return before the staging folder is fsynced, that before the rename publishes
/// the step, and the index commits the step only after the rename. The crash-state explorer checks a
/// sample of crash states; this checks the order itself on every run.
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
    public void Both_files_are_durable_before_the_folder_the_folder_before_the_rename_and_the_rename_before_the_index_commit(string operation)
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
        var rename = Last(op => op.Kind is FsOpKind.Rename or FsOpKind.Exchange && op.Name2.Length > 0 && op.Name2.All(char.IsAsciiDigit), "publishing rename");
        var commit = Last(op => IsSyncOf(op, p => p == "index.sqlite-wal"), "fsync of the index's WAL");

        Assert.True(data < folder, $"the data file's fsync (#{data}) returned after the staging folder's (#{folder})");
        Assert.True(manifest < folder, $"the manifest's fsync (#{manifest}) returned after the staging folder's (#{folder})");
        Assert.True(folder < rename, $"the staging folder's fsync (#{folder}) came after the publishing rename (#{rename})");
        Assert.True(rename < commit, $"the index's last WAL fsync (#{commit}) came before the publishing rename (#{rename})");
    }
}
