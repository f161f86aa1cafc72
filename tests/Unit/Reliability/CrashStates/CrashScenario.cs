using System.Globalization;

namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>A version of a step as the harness writes it: regenerated from (step, seed, size) to compare bytes.</summary>
internal sealed record StepVersion(long Step, int Seed, bool Pinned)
{
    public const int Tensors = 2;
    public const int Floats = 2048;

    public string Digest { get; } = HarnessDigest.Of(HarnessState.Create(Step, Seed, Tensors, Floats));

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Step}{(Pinned ? "p" : string.Empty)}/s{Seed}");
}

/// <summary>
/// One traced operation: how its directory is prepared (in this process, fully on disk before the
/// trace starts), the harness command, and the store before and after it. Step 1 is pinned in every
/// scenario, so "no pinned step lost" is checked everywhere.
/// </summary>
internal sealed class CrashScenario
{
    private const int Seed = 11;

    private CrashScenario(string name, long[] seeded, string[] command, IReadOnlyList<StepVersion> after, bool damagedIndexBefore = false,
        Func<FsOp, bool>? killAfter = null, bool twoRenames = false, bool readerHoldsIndex = false)
    {
        TwoRenames = twoRenames;
        ReaderHoldsIndex = readerHoldsIndex;
        Name = name;
        Seeded = seeded;
        Command = command;
        Before = seeded.Select(s => new StepVersion(s, Seed, s == 1)).ToList();
        After = after;
        DamagedIndexBefore = damagedIndexBefore;
        KillAfter = killAfter;
    }

    public string Name { get; }

    public long[] Seeded { get; }

    /// <summary>The harness command; "{dir}" stands for the checkpoint directory.</summary>
    public string[] Command { get; }

    public IReadOnlyList<StepVersion> Before { get; }

    public IReadOnlyList<StepVersion> After { get; }

    /// <summary>The operation starts from a damaged index (repair): before it, readers are told the index is damaged.</summary>
    public bool DamagedIndexBefore { get; }

    /// <summary>
    /// When set, the operation is killed (not a power loss: its writes stay in the page cache) right
    /// after the first call this matches, and the next writer's recovery (<see cref="RecoveryCommand"/>)
    /// runs on what it left; crash states then cover both processes' calls. This is how a recovery that
    /// commits what the killed process never made durable shows.
    /// </summary>
    public Func<FsOp, bool>? KillAfter { get; }

    /// <summary>
    /// The operation runs with every <c>renameat2</c> failing with EINVAL (strace fault injection), as on
    /// NFS or FUSE, so an overwrite takes the portable path: the old folder to the trash, then the new
    /// one in, two renames.
    /// </summary>
    public bool TwoRenames { get; }

    /// <summary>
    /// Another process keeps the index open for reading throughout (see <see cref="IndexReaderHold"/>),
    /// so SQLite neither deletes nor re-creates <c>index.sqlite-wal</c> and its directory fsync after
    /// creating one cannot stand in for a directory fsync the engine left out.
    /// </summary>
    public bool ReaderHoldsIndex { get; }

    /// <summary>A write that removes nothing, so only recovery changes the directory.</summary>
    public static string[] RecoveryCommand { get; } = ["prune", "{dir}", "1000000"];

    public static IReadOnlyList<CrashScenario> All { get; } =
    [
        new("save", [1, 2], ["save", "{dir}", "3", "11", Size(StepVersion.Tensors), Size(StepVersion.Floats)],
            [new(1, Seed, true), new(2, Seed, false), new(3, Seed, false)]),
        new("overwrite", [1, 2], ["overwrite", "{dir}", "1", "99", Size(StepVersion.Tensors), Size(StepVersion.Floats)],
            [new(1, 99, true), new(2, Seed, false)]),
        new("remove", [1, 2, 3], ["remove", "{dir}", "3"], [new(1, Seed, true), new(2, Seed, false)]),
        new("prune", [1, 2, 3, 4, 5], ["prune", "{dir}", "2"], [new(1, Seed, true), new(4, Seed, false), new(5, Seed, false)]),
        new("pin", [1, 2], ["pin", "{dir}", "2"], [new(1, Seed, true), new(2, Seed, true)]),
        new("repair", [1, 2, 3], ["repair", "{dir}"], [new(1, Seed, true), new(2, Seed, false), new(3, Seed, false)], damagedIndexBefore: true),
        new("save killed after its rename, recovered", [1, 2], ["save", "{dir}", "3", "11", Size(StepVersion.Tensors), Size(StepVersion.Floats)],
            [new(1, Seed, true), new(2, Seed, false), new(3, Seed, false)], killAfter: IsPublishingRename),
        new("overwrite killed after its exchange, recovered", [1, 2], ["overwrite", "{dir}", "2", "99", Size(StepVersion.Tensors), Size(StepVersion.Floats)],
            [new(1, Seed, true), new(2, 99, false)], killAfter: IsPublishingRename),
        new("overwrite, two renames", [1, 2], ["overwrite", "{dir}", "1", "99", Size(StepVersion.Tensors), Size(StepVersion.Floats)],
            [new(1, 99, true), new(2, Seed, false)], twoRenames: true),
        new("overwrite killed between its two renames, recovered", [1, 2], ["overwrite", "{dir}", "2", "99", Size(StepVersion.Tensors), Size(StepVersion.Floats)],
            [new(1, Seed, true), new(2, 99, false)], killAfter: IsMoveAside, twoRenames: true),
        new("save while a reader holds the index", [1, 2], ["save", "{dir}", "3", "11", Size(StepVersion.Tensors), Size(StepVersion.Floats)],
            [new(1, Seed, true), new(2, Seed, false), new(3, Seed, false)], readerHoldsIndex: true),
        new("save killed after its rename, recovered while a reader holds the index", [1, 2], ["save", "{dir}", "3", "11", Size(StepVersion.Tensors), Size(StepVersion.Floats)],
            [new(1, Seed, true), new(2, Seed, false), new(3, Seed, false)], killAfter: IsPublishingRename, readerHoldsIndex: true),
    ];

    /// <summary>The first rename of a two-rename overwrite: the old folder into the trash.</summary>
    public static bool IsMoveAside(FsOp op) => op.Kind == FsOpKind.Rename && op.Name2.EndsWith(".old", StringComparison.Ordinal);

    /// <summary>The rename (or exchange) that moves a staged step under its number in the checkpoint directory.</summary>
    private static bool IsPublishingRename(FsOp op) =>
        op.Kind is FsOpKind.Rename or FsOpKind.Exchange && op.Name2.Length > 0 && op.Name2.All(char.IsAsciiDigit);

    public static CrashScenario Named(string name) => All.Single(s => s.Name == name);

    /// <summary>Writes the pre-state: the seeded steps, step 1 pinned, and for repair an index damaged to a page of zeros.</summary>
    public void Prepare(string dir)
    {
        using (var h = new CheckpointHandler())
        {
            foreach (var step in Seeded)
            {
                h.Save(dir, HarnessState.Create(step, Seed, StepVersion.Tensors, StepVersion.Floats), step: step);
            }

            h.SetPinned(dir, 1, true);
        }

        if (DamagedIndexBefore)
        {
            File.WriteAllBytes(Path.Combine(dir, "index.sqlite"), new byte[4096]);
            foreach (var side in new[] { "-wal", "-shm" })
            {
                File.Delete(Path.Combine(dir, "index.sqlite" + side));
            }
        }
    }

    public string[] Arguments(string dir) => Command.Select(a => a == "{dir}" ? dir : a).ToArray();

    private static string Size(int n) => n.ToString(CultureInfo.InvariantCulture);
}
