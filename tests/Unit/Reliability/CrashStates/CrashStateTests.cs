using System.Globalization;
using DataraxCkpt.Tests.Support;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>
/// Guarantee 2 (what is committed survives power loss), proven the way ALICE and CrashMonkey do it:
/// each operation's file-system calls are recorded with strace, and every crash state POSIX allows
/// (what was fsynced persisted; later writes, creates and renames lost or reordered) is materialised
/// and opened with the engine. Every listed step must restore bit-exactly, the store must be the state
/// before or after the operation, never a mix, and no pinned step may be lost.
/// CI checks a bounded sample (<see cref="CrashStateExplorer.Budget"/> distinct states per operation);
/// tests/soak.ps1 raises it with <c>DATARAXCKPT_CRASH_STATES</c>.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class CrashStateTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ITestOutputHelper _output;

    public CrashStateTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    [StraceTheory]
    [InlineData("save")]
    [InlineData("overwrite")]
    [InlineData("remove")]
    [InlineData("prune")]
    [InlineData("pin")]
    [InlineData("repair")]
    [InlineData("save killed after its rename, recovered")]
    [InlineData("overwrite killed after its exchange, recovered")]
    [InlineData("overwrite, two renames")]
    [InlineData("overwrite killed between its two renames, recovered")]
    [InlineData("save while a reader holds the index")]
    [InlineData("save killed after its rename, recovered while a reader holds the index")]
    public void Every_crash_state_of_an_operation_recovers_to_the_state_before_or_after_it(string operation)
    {
        Assert.True(TraceRecorder.FindStrace() is not null,
            "strace is not installed, and CI=true requires the crash-state explorer to run: apt-get install strace (build.ps1 -Task Test does).");
        var result = CrashStateExplorer.Explore(CrashScenario.Named(operation), _dir.Path, CrashStateExplorer.Budget, ReliabilityScale.Seed);
        StoreAssert.Figure(_output, 2, "crash states", string.Create(CultureInfo.InvariantCulture,
            $"{operation}: explored {result.Explored}, failed {result.Failures.Count} ({result.TracedOps} traced calls, {result.Candidates} candidate states)"));
        var durableAt = CrashStateGenerator.DurableAt(result.Ops);
        _output.WriteLine("The traced calls (a call is durable once the fsync named after it returned):");
        foreach (var op in result.Ops)
        {
            _output.WriteLine(op.Kind == FsOpKind.Sync || durableAt[op.Seq] == result.Ops.Count ? $"  {op}" : $"  {op}  [durable at #{durableAt[op.Seq]}]");
        }

        foreach (var failure in result.Failures.Take(100))
        {
            _output.WriteLine(failure);
        }

        Assert.True(result.Failures.Count == 0,
            $"{result.Failures.Count} of {result.Explored} crash states of {operation} broke guarantee 2; first: {(result.Failures.Count > 0 ? result.Failures[0] : "none")}");
    }

    /// <summary>
    /// Found by the explorer: the staged folder's own entry in <c>.staging</c> was never fsynced, so a power
    /// loss right after a two-rename overwrite moved the old version aside could keep that move and lose
    /// the staged folder; recovery then rolled the save back, swept the trash with the old version in it,
    /// and step N stayed listed with no folder. Every crash state at that instant is checked here.
    /// </summary>
    [StraceTheory]
    [InlineData("overwrite killed between its two renames, recovered")]
    public void A_power_loss_right_after_an_overwrite_moved_the_old_version_aside_keeps_one_whole_version(string operation)
    {
        Assert.True(TraceRecorder.FindStrace() is not null, "strace is not installed, and CI=true requires this test to run: apt-get install strace.");
        var result = CrashStateExplorer.Explore(CrashScenario.Named(operation), _dir.Path, int.MaxValue, ReliabilityScale.Seed, CrashScenario.IsMoveAside);
        foreach (var failure in result.Failures)
        {
            _output.WriteLine(failure);
        }

        Assert.True(result.Explored > 1, "no crash state was explored after the move aside");
        Assert.True(result.Failures.Count == 0,
            $"{result.Failures.Count} of {result.Explored} crash states right after the move aside broke guarantee 2; first: {(result.Failures.Count > 0 ? result.Failures[0] : "none")}");
    }
}
