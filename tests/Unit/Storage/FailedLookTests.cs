using DataraxCkpt.Format;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Reliability.CrashStates;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Session 21's audit of every "is it there?" in the engine: .NET's Exists answers false when the look itself fails, and a
/// repair or recovery that acts on that "not there" drops, unpins or sweeps what is there. Each look here fails with a real
/// EIO (strace on the harness's child process, on stat or lstat of one path): the command may fail, but every step stays
/// listed, pinned and restorable, and a parked old version is never swept.
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class FailedLookTests : IDisposable
{
    private const int Seed = 21;
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public FailedLookTests() => _ck = Path.GetFullPath(_dir.Sub("ck"));

    public void Dispose() => _dir.Dispose();

    private void Seeded(bool portable, params long[] steps)
    {
        using var h = PortableOverwriteTests.Handler(portable);
        foreach (var s in steps)
        {
            h.Save(_ck, HarnessState.Create(s, Seed, 2, 64), step: s);
        }

        SqliteConnection.ClearAllPools();
    }

    private IReadOnlyList<long> Steps()
    {
        using var h = new CheckpointHandler();
        var steps = h.GetCheckpointSteps(_ck);
        SqliteConnection.ClearAllPools();
        return steps;
    }

    private bool Pinned(long step)
    {
        using var h = new CheckpointHandler();
        var pinned = h.ListCheckpoints(_ck).Single(c => c.Step == step).Pinned;
        SqliteConnection.ClearAllPools();
        return pinned;
    }

    /// <summary>
    /// The N-th stat of the checkpoint directory fails (alone, or with every later stat and lstat of it). One such failure
    /// at the repair's listing of the step folders read as "no folder" and the repair dropped every row, reporting success.
    /// </summary>
    [StraceTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_repair_whose_look_at_the_checkpoint_directory_fails_never_unlists_a_step(bool persistent)
    {
        Seeded(false, 1, 2, 3);
        for (var n = 1; n <= 6; n++)
        {
            var calls = persistent ? "stat,lstat" : "stat";
            var (code, output) = InjectedErrno.Run(calls, "EIO", persistent ? $"{n}+" : $"{n}", _ck, "repair", _ck);
            Assert.True(new long[] { 1, 2, 3 }.SequenceEqual(Steps()),
                $"a repair whose stat #{n} of the directory failed (exit {code}) left steps [{string.Join(",", Steps())}] listed: {output}");
        }
    }

    /// <summary>A repair whose lstat of step 2's folder or of one of its files fails: the row stays (the folder may be fine).</summary>
    [StraceTheory]
    [InlineData("2")]
    [InlineData("2/" + StepFormat.ManifestFile)]
    [InlineData("2/" + StepFormat.DataFile)]
    public void A_repair_whose_look_at_a_step_folder_or_file_fails_keeps_its_row(string path)
    {
        Seeded(false, 1, 2, 3);
        var (code, output) = InjectedErrno.Run("lstat", "EIO", "1+", Path.Combine(_ck, path), "repair", _ck);

        Assert.True(new long[] { 1, 2, 3 }.SequenceEqual(Steps()),
            $"a repair whose lstat of '{path}' failed (exit {code}) left steps [{string.Join(",", Steps())}] listed: {output}");
    }

    /// <summary>A repair whose lstat of a pinned step's PINNED marker fails: the pin stays, or retention could remove the step.</summary>
    [StraceTheory]
    [InlineData("repair")]
    [InlineData("prune")]
    public void A_look_at_a_pin_marker_that_fails_never_unpins_the_step(string command)
    {
        Seeded(false, 1, 2, 3);
        using (var h = new CheckpointHandler())
        {
            h.SetPinned(_ck, 2, true);
        }

        SqliteConnection.ClearAllPools();
        // A prune keeping one step rebuilds a lost index first (it reads every marker), then keeps only what is pinned.
        if (command == "prune")
        {
            foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
            {
                File.Delete(Path.Combine(_ck, StepIndex.FileName + suffix));
            }
        }

        string[] args = command == "prune" ? ["prune", _ck, "1"] : ["repair", _ck];
        var (code, output) = InjectedErrno.Run("lstat", "EIO", "1+", Path.Combine(_ck, "2", StepFormat.PinnedMarker), args);

        Assert.True(Directory.Exists(Path.Combine(_ck, "2")), $"'{command}' (exit {code}) removed pinned step 2: {output}");
        if (Steps().Contains(2))
        {
            Assert.True(Pinned(2), $"'{command}' (exit {code}) unpinned step 2: {output}");
        }
    }

    /// <summary>
    /// A portable overwrite killed between its renames parks step 2's old version in .trash and leaves no step folder; the
    /// next repair's stat of the parked folder fails (once, or every look). Read as "none", the intent was settled and the
    /// trash sweep deleted the only version of step 2 (the repair then dropped its row).
    /// </summary>
    [StraceTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Recovery_whose_look_at_a_parked_old_version_fails_never_sweeps_it(bool persistent)
    {
        Seeded(true, 1, 2);
        Assert.Equal(Harness.Killed, Harness.Run("publish.rename@2", PortableOverwriteTests.HarnessArgs(true, "overwrite", _ck, "2", "99", "4")).ExitCode);
        var parked = Directory.GetDirectories(Path.Combine(_ck, ".trash"), "*" + StepFolders.DisplacedSuffix).Single();
        Assert.False(Directory.Exists(Path.Combine(_ck, "2")));
        // Its new version is gone too (the staging folder lost): the parked old version is the only copy of step 2, which
        // recovery must put back under its number.
        Directory.Delete(Path.Combine(_ck, ".staging", Path.GetFileName(parked)[..^StepFolders.DisplacedSuffix.Length]), recursive: true);

        var (code, output) = InjectedErrno.Run(persistent ? "stat,lstat" : "stat", "EIO", persistent ? "1+" : "1", parked,
            PortableOverwriteTests.HarnessArgs(true, "repair", _ck));

        Assert.True(Directory.Exists(parked) || Directory.Exists(Path.Combine(_ck, "2")),
            $"repair (exit {code}) deleted step 2's parked old version with no step folder in its place: {output}");
        using var h = PortableOverwriteTests.Handler(true);
        h.RepairIndex(_ck);
        Assert.Equal(new long[] { 1, 2 }, h.GetCheckpointSteps(_ck));
        var restored = (Dictionary<string, object?>)h.Restore(_ck, 2)!;
        Assert.Equal(HarnessState.Create(2, Seed, 2, 64).Keys.Order(), restored.Keys.Order());
    }

    /// <summary>
    /// A reader that may not write (a dry-run prune) opens the index read-only: with no -wal, immutable, the main file alone.
    /// Step 4 is committed only in the -wal; every lstat of the -wal fails. Read as "no log", the plan was made from an index
    /// without step 4 (a prune keeping two would remove step 1 only, keeping step 3 as if it were the newest but one).
    /// </summary>
    [StraceTheory]
    [InlineData("1+")]
    public void A_read_only_open_whose_look_at_the_log_fails_never_plans_from_the_main_file_alone(string when)
    {
        Seeded(false, 1, 2, 3);
        var index = Path.Combine(_ck, StepIndex.FileName);
        var kept = Directory.CreateDirectory(_dir.Sub("planted")).FullName;
        string[] suffixes = [string.Empty, "-wal", "-shm"];
        using (var held = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = index, Pooling = false }.ToString()))
        {
            held.Open();
            using (var cmd = held.CreateCommand())
            {
                // A read transaction held open: the save's checkpoints cannot fold step 4 into the main file.
                cmd.CommandText = "PRAGMA wal_autocheckpoint = 0; BEGIN; SELECT count(*) FROM steps;";
                cmd.ExecuteScalar();
            }

            Seeded(false, 4);
            foreach (var suffix in suffixes)
            {
                File.Copy(index + suffix, Path.Combine(kept, StepIndex.FileName + suffix));
            }
        }

        foreach (var suffix in suffixes)
        {
            File.Copy(Path.Combine(kept, StepIndex.FileName + suffix), index + suffix, overwrite: true);
        }

        var (code, output) = InjectedErrno.Run("lstat", "EIO", when, index + "-wal", "prune-dry", _ck, "2");

        // Keeping 2 of steps 1-4 removes 1 and 2; a plan from the main file alone (steps 1-3) removes step 1 only.
        var planned = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("planned:", StringComparison.Ordinal));
        Assert.True(planned is null ? code != 0 : planned == "planned: 1,2", $"exit {code}: {output}");
    }
}
