namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>One crash state: the process stopped after <see cref="Prefix"/> operations and power was lost; <see cref="Lost"/> did not reach the disk.</summary>
internal sealed record CrashState(string Kind, int Prefix, IReadOnlySet<int> Lost);

/// <summary>
/// The crash states POSIX allows after a trace, in the style of ALICE (OSDI 2014) and CrashMonkey.
/// A crash can happen after any prefix of the operations. Within the prefix, an operation is certainly
/// on disk when an fsync of the inode it changes returned after it (the file for data, the parent
/// directory for an entry; the destination directory of a rename); every other operation may or may not have
/// reached the disk, independently, so later ones may persist while earlier ones are lost (reordering).
/// For each prefix the generator yields: everything persisted; only what was synced; each unsynced
/// operation lost alone (which names the culprit when a state fails); and seeded random subsets.
/// </summary>
internal static class CrashStateGenerator
{
    /// <summary>The kind of the states that keep only what an fsync made durable.</summary>
    public const string SyncedOnly = "synced only";

    /// <summary>For each operation, the index of the first later fsync that makes it durable (ops.Count when none does).</summary>
    public static int[] DurableAt(IReadOnlyList<FsOp> ops)
    {
        var at = new int[ops.Count];
        for (var i = 0; i < ops.Count; i++)
        {
            at[i] = ops.Count;
            if (ops[i].Kind == FsOpKind.Sync)
            {
                at[i] = i;
                continue;
            }

            var through = ops[i].DurableThrough().ToHashSet();
            for (var j = i + 1; j < ops.Count; j++)
            {
                if (ops[j].Covers(i) && through.Contains(ops[j].Inode))
                {
                    at[i] = j;
                    break;
                }
            }
        }

        return at;
    }

    /// <summary>
    /// Every candidate state, most revealing first: per prefix the synced-only state, then each single
    /// loss, then the fully persisted state and <paramref name="randomPerPrefix"/> random subsets; each
    /// tier in a seeded random order, so a bounded sample covers the whole trace.
    /// </summary>
    public static IEnumerable<CrashState> Generate(IReadOnlyList<FsOp> ops, int seed, int randomPerPrefix)
    {
        var durableAt = DurableAt(ops);
        var random = new Random(seed);
        List<int> Unsynced(int prefix) => Enumerable.Range(0, prefix).Where(i => ops[i].Kind != FsOpKind.Sync && durableAt[i] >= prefix).ToList();

        var prefixes = Enumerable.Range(0, ops.Count + 1).ToList();
        foreach (var k in Shuffled(prefixes, random))
        {
            yield return new CrashState(SyncedOnly, k, Unsynced(k).ToHashSet());
        }

        var singles = prefixes.SelectMany(k => Unsynced(k).Select(u => (k, u))).ToList();
        foreach (var (k, u) in Shuffled(singles, random))
        {
            yield return new CrashState("one lost", k, new HashSet<int> { u });
        }

        var rest = new List<CrashState>();
        foreach (var k in prefixes)
        {
            rest.Add(new CrashState("all persisted", k, new HashSet<int>()));
            var unsynced = Unsynced(k);
            for (var r = 0; r < randomPerPrefix && unsynced.Count > 1; r++)
            {
                rest.Add(new CrashState("random subset lost", k, unsynced.Where(_ => random.Next(2) == 0).ToHashSet()));
            }
        }

        foreach (var state in Shuffled(rest, random))
        {
            yield return state;
        }
    }

    /// <summary>
    /// The distinct states to check (two states whose trees hash alike look the same to the engine),
    /// in <see cref="Generate"/>'s order, up to <paramref name="budget"/> of them; but every distinct
    /// "synced only" state, whatever the budget: those are the states where each missing fsync shows,
    /// and there are few (one per durable frontier), so a small sample never skips one.
    /// </summary>
    /// <param name="include">Which candidate states to consider at all.</param>
    /// <param name="onCandidate">Called for every candidate considered (for the figures).</param>
    public static IEnumerable<(CrashState State, FsImage Image)> Distinct(FsImage pre, IReadOnlyList<FsOp> ops, int seed, int budget,
        Func<CrashState, bool> include, Action? onCandidate = null)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var state in Generate(ops, seed, CrashStateExplorer.RandomPerPrefix).Where(include))
        {
            if (seen.Count >= budget && state.Kind != SyncedOnly)
            {
                yield break;
            }

            onCandidate?.Invoke();
            var image = Image(pre, ops, state);
            if (seen.Add(image.TreeHash()))
            {
                yield return (state, image);
            }
        }
    }

    /// <summary>The image of a state: the pre-state with the prefix's operations applied, except the lost ones.</summary>
    /// <remarks>
    /// A lost rename whose source directory was fsynced after it (within the prefix) loses only its new
    /// entry: the fsync made the old entry's removal durable, so the moved folder or file is in neither
    /// place (POSIX; ext4 would have committed both halves together).
    /// </remarks>
    public static FsImage Image(FsImage pre, IReadOnlyList<FsOp> ops, CrashState state)
    {
        var sourceDurableAt = SourceDurableAt(ops);
        return StateMaterialiser.Build(pre, ops.Take(state.Prefix).ToList(), op => !state.Lost.Contains(op.Seq),
            op => op.Kind == FsOpKind.Rename && sourceDurableAt[op.Seq] < state.Prefix);
    }

    /// <summary>For each rename, the index of the first later fsync of the directory it left (ops.Count when none); ops.Count for every other operation.</summary>
    public static int[] SourceDurableAt(IReadOnlyList<FsOp> ops)
    {
        var at = new int[ops.Count];
        for (var i = 0; i < ops.Count; i++)
        {
            at[i] = ops.Count;
            if (ops[i].Kind != FsOpKind.Rename)
            {
                continue;
            }

            for (var j = i + 1; j < ops.Count; j++)
            {
                if (ops[j].Covers(i) && ops[j].Inode == ops[i].Inode)
                {
                    at[i] = j;
                    break;
                }
            }
        }

        return at;
    }

    private static List<T> Shuffled<T>(List<T> items, Random random)
    {
        var copy = items.ToList();
        for (var i = copy.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (copy[i], copy[j]) = (copy[j], copy[i]);
        }

        return copy;
    }
}
