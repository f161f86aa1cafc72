using System.Globalization;

namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>What exploring one operation found.</summary>
internal sealed record ExplorationResult(string Operation, IReadOnlyList<FsOp> Ops, int Candidates, int Explored, IReadOnlyList<string> Failures)
{
    public int TracedOps => Ops.Count;
}

/// <summary>
/// Explores the crash states of one operation: prepares its directory, snapshots it, records the
/// harness performing the operation under strace, parses the trace, checks that replaying every
/// operation on the snapshot gives exactly the directory the real run left (so the model is faithful),
/// then materialises distinct crash states in scratch folders and checks each with the engine.
/// </summary>
internal static class CrashStateExplorer
{
    /// <summary>Distinct crash states checked per operation: CI's bounded sample unless <c>DATARAXCKPT_CRASH_STATES</c> raises it (tests/soak.ps1 does).</summary>
    public static int Budget => int.TryParse(Environment.GetEnvironmentVariable("DATARAXCKPT_CRASH_STATES"), NumberStyles.Integer,
        CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 30;

    /// <summary>Seeded random subsets per crash point, on top of the systematic states.</summary>
    public const int RandomPerPrefix = 2;

    /// <param name="scenario">The operation.</param>
    /// <param name="work">An empty scratch folder.</param>
    /// <param name="budget">Distinct states to check at most.</param>
    /// <param name="seed">Seed of the generator's random choices.</param>
    /// <param name="crashAfter">When set, only crashes right after the first call this matches are explored.</param>
    public static ExplorationResult Explore(CrashScenario scenario, string work, int budget, int seed, Func<FsOp, bool>? crashAfter = null)
    {
        var dir = Path.Combine(work, "ck");
        Directory.CreateDirectory(dir);
        dir = Path.GetFullPath(new DirectoryInfo(dir).FullName);
        scenario.Prepare(dir);
        using var readers = new ReaderHolds();
        readers.Hold(scenario, dir);
        var pre = FsImage.Read(dir);

        var lines = TraceRecorder.Record(Path.Combine(work, "trace.txt"), scenario.TwoRenames, scenario.Arguments(dir));
        var ops = TraceParser.Parse(dir, pre, lines);
        if (ops.Count == 0)
        {
            throw new InvalidOperationException($"no file-system call under '{dir}' was recorded (is the path behind a link?)");
        }

        RequireNoWalCreated(scenario, ops);

        var replayed = StateMaterialiser.Build(pre, ops, _ => true);
        var actual = FsImage.Read(dir);
        if (replayed.TreeHash() != actual.TreeHash())
        {
            throw new InvalidOperationException("replaying the trace on the pre-state does not give the directory the operation left: the trace model is incomplete.\n"
                + $"replayed: {string.Join(", ", replayed.Describe())}\nactual: {string.Join(", ", actual.Describe())}");
        }

        if (scenario.KillAfter is { } killAfter)
        {
            (ops, dir) = KillAndRecover(scenario, work, pre, ops, killAfter, readers);
            RequireNoWalCreated(scenario, ops);
        }

        if (!AfterHolds(dir, scenario) || CrashInvariantChecker.Check(dir, scenario) is not null)
        {
            throw new InvalidOperationException($"the uninterrupted {scenario.Name} itself does not leave the expected state: {CrashInvariantChecker.Check(dir, scenario)}");
        }

        var explored = 0;
        var failures = new List<string>();
        var candidates = 0;
        var only = crashAfter is null ? -1 : ops.FindIndex(op => crashAfter(op)) + 1;
        if (only == 0)
        {
            throw new InvalidOperationException($"the {scenario.Name} trace has no call to crash after");
        }

        foreach (var (state, image) in CrashStateGenerator.Distinct(pre, ops, seed, budget, s => only < 0 || s.Prefix == only, () => candidates++))
        {
            explored++;
            var scratch = Path.Combine(work, "state-" + explored.ToString(CultureInfo.InvariantCulture));
            image.WriteTo(scratch);
            if (CrashInvariantChecker.Check(scratch, scenario) is { } failure)
            {
                failures.Add(Describe(scenario, ops, state, failure));
            }

            Directory.Delete(scratch, recursive: true);
        }

        return new ExplorationResult(scenario.Name, ops, candidates, explored, failures);
    }

    /// <summary>
    /// The calls of a process killed after <paramref name="killAfter"/> matched, followed by those of the
    /// next writer's recovery, recorded on the directory the killed process left (everything it wrote is
    /// visible to the next process, but only what it fsynced is durable; the generator tracks that).
    /// </summary>
    private static (List<FsOp> Ops, string Dir) KillAndRecover(CrashScenario scenario, string work, FsImage pre, List<FsOp> ops, Func<FsOp, bool> killAfter,
        ReaderHolds readers)
    {
        var at = ops.FindIndex(op => killAfter(op));
        if (at < 0)
        {
            throw new InvalidOperationException($"the {scenario.Name} trace has no call to kill after");
        }

        var killed = ops.Take(at + 1).ToList();
        var left = StateMaterialiser.Build(pre, killed, _ => true);
        var dir = Path.Combine(work, "killed");
        left.WriteTo(dir);
        readers.Hold(scenario, dir);
        var lines = TraceRecorder.Record(Path.Combine(work, "recovery-trace.txt"), scenario.TwoRenames, CrashScenario.RecoveryCommand.Select(a => a == "{dir}" ? dir : a).ToArray());
        var recovery = TraceParser.Parse(dir, left, lines);
        var combined = killed.Concat(recovery.Select(op => op with
        {
            Seq = killed.Count + op.Seq,
            CoversBefore = op.CoversBefore < 0 ? -1 : killed.Count + op.CoversBefore,
            Syscall = "recovery: " + op.Syscall,
        })).ToList();
        if (StateMaterialiser.Build(pre, combined, _ => true).TreeHash() != FsImage.Read(dir).TreeHash())
        {
            throw new InvalidOperationException("replaying the killed operation and the recovery does not give the directory the recovery left");
        }

        return (combined, dir);
    }

    /// <summary>
    /// A scenario whose reader holds the index must not see SQLite create the WAL (and fsync the
    /// directory after it): if it did, the reader did not keep the WAL and the scenario proves nothing more.
    /// </summary>
    private static void RequireNoWalCreated(CrashScenario scenario, IReadOnlyList<FsOp> ops)
    {
        if (scenario.ReaderHoldsIndex && ops.FirstOrDefault(op => op.Kind == FsOpKind.Create && op.Name == "index.sqlite-wal") is { } created)
        {
            throw new InvalidOperationException($"the {scenario.Name} trace creates the WAL ({created}) although a reader held the index open");
        }
    }

    /// <summary>The readers a scenario keeps open on its directories until the exploration ends.</summary>
    private sealed class ReaderHolds : IDisposable
    {
        private readonly List<IndexReaderHold> _held = new();

        public void Hold(CrashScenario scenario, string dir)
        {
            if (scenario.ReaderHoldsIndex)
            {
                _held.Add(IndexReaderHold.Open(dir));
            }
        }

        public void Dispose()
        {
            foreach (var reader in _held)
            {
                reader.Dispose();
            }
        }
    }

    /// <summary>The uninterrupted operation must end in the scenario's state after (checked once more, independently of the phases).</summary>
    private static bool AfterHolds(string dir, CrashScenario scenario)
    {
        using var h = new CheckpointHandler();
        var listed = h.ListCheckpoints(dir);
        return listed.Select(i => (i.Step, i.Pinned)).SequenceEqual(scenario.After.Select(v => (v.Step, v.Pinned)));
    }

    private static string Describe(CrashScenario scenario, IReadOnlyList<FsOp> ops, CrashState state, string failure)
    {
        var last = state.Prefix == 0 ? "before the first call" : $"after {ops[state.Prefix - 1]}";
        var lost = state.Lost.Count == 0 ? "nothing" : string.Join(", ", state.Lost.Order().Select(i => ops[i].ToString()));
        return $"{scenario.Name}: crash {last} ({state.Kind}); lost: {lost} => {failure}";
    }
}
