using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A hostile review of issue 9's recovery: a disk that fails while recovery reads, a directory whose
/// own folders are links planted by someone else, a kill at every new fault point followed by more
/// writers. Step 2 must always restore its old or its new version, nothing outside the checkpoint
/// directory may change, and no parked version may be left behind.
/// </summary>
public sealed class RecoveryAttackTests : IDisposable
{
    private const int Seed = 11;
    private readonly TempDirectory _parent = new();
    private readonly string _ck;

    public RecoveryAttackTests() => _ck = _parent.Sub("ck");

    public void Dispose() => _parent.Dispose();

    private static CheckpointHandler Handler(bool portable) => PortableOverwriteTests.Handler(portable);

    private void Seeded(bool portable, params long[] steps)
    {
        using var h = Handler(portable);
        foreach (var s in steps)
        {
            h.Save(_ck, HarnessState.Create(s, Seed, 2), step: s);
        }
    }

    private static bool RestoresAs(CheckpointHandler h, string ck, long step, int seed, int tensors)
    {
        var expected = HarnessState.Create(step, seed, tensors);
        var actual = (Dictionary<string, object?>)h.Restore(ck, step)!;
        return expected.Keys.Order().SequenceEqual(actual.Keys.Order()) && expected.All(kv => kv.Value is float[] f
            ? f.AsSpan().SequenceEqual((float[])actual[kv.Key]!)
            : Equals(kv.Value, actual[kv.Key]));
    }

    private int VersionsInOwnFolders() => new[] { ".staging", ".trash" }.Select(f => Path.Combine(_ck, f)).Where(Directory.Exists)
        .SelectMany(Directory.GetDirectories).Count();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_transient_read_error_while_recovery_reads_a_published_overwrite_never_leaves_the_step_unrestorable(bool portable)
    {
        Seeded(portable, 1, 2);
        // Killed after the new version went in, before its row: the intent must be rolled forward.
        Assert.Equal(Harness.Killed, Harness.Run("commit.after-rename", PortableOverwriteTests.HarnessArgs(portable, "overwrite", _ck, "2", "99", "4")).ExitCode);

        // The next writer's recovery meets an I/O error reading step 2 (its first step.open): a passing
        // failure says nothing about the folder, so the intent must not be settled on it.
        var other = Harness.Run("step.open=ioerror", PortableOverwriteTests.HarnessArgs(portable, "prune", _ck, "100"));
        Assert.True(other.ExitCode is 0 or 4, other.Output);

        using var h = Handler(portable);
        Assert.Equal(new long[] { 1, 2 }, h.GetCheckpointSteps(_ck));
        Assert.True(RestoresAs(h, _ck, 2, 99, 4) || RestoresAs(h, _ck, 2, Seed, 2), "step 2 restores neither its old nor its new version");
    }

    [Theory]
    [InlineData(".staging")]
    [InlineData(".trash")]
    public void Recovery_never_works_through_an_own_folder_that_is_a_link_out_of_the_directory(string ownFolder)
    {
        Seeded(true, 1, 2);
        // A portable overwrite killed between its two renames: the intent names .staging/2-<id> and .trash/2-<id>.old.
        Assert.Equal(Harness.Killed, Harness.Run("publish.rename@2", PortableOverwriteTests.HarnessArgs(true, "overwrite", _ck, "2", "99", "4")).ExitCode);

        // Someone moves the engine's folder out and leaves a link in its place (a restore tool, a hostile author).
        var elsewhere = _parent.Sub("elsewhere");
        Directory.Move(Path.Combine(_ck, ownFolder), elsewhere);
        Directory.CreateSymbolicLink(Path.Combine(_ck, ownFolder), elsewhere);
        var before = OutsideSnapshot.Take(_parent.Path, _ck);

        using (var h = Handler(true))
        {
            _ = h.GetCheckpointSteps(_ck);
            h.Prune(_ck, new RetentionPolicy { Keep = 100 });
        }

        Assert.Equal(before, OutsideSnapshot.Take(_parent.Path, _ck));
    }

    private void DeleteIndex()
    {
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(Path.Combine(_ck, "index.sqlite" + suffix));
        }
    }

    [Theory]
    [InlineData(new long[] { 1, 2 })]
    [InlineData(new long[] { 2 })]
    public void A_lost_index_after_a_portable_overwrite_was_killed_between_its_renames_keeps_the_step(long[] seeded)
    {
        Seeded(true, seeded);
        Assert.Equal(Harness.Killed, Harness.Run("publish.rename@2", PortableOverwriteTests.HarnessArgs(true, "overwrite", _ck, "2", "99", "4")).ExitCode);
        // The directory is copied without its index, or the index is lost: no intent says where step 2 went.
        DeleteIndex();

        using var h = Handler(true);
        h.Save(_ck, HarnessState.Create(3, Seed, 1), step: 3);
        Assert.Equal([.. seeded, 3], h.GetCheckpointSteps(_ck));
        Assert.True(RestoresAs(h, _ck, 2, 99, 4) || RestoresAs(h, _ck, 2, Seed, 2), "step 2 restores neither its old nor its new version");
    }

    [Theory]
    [InlineData(".lock")]
    [InlineData("..lock")]
    public void A_stray_lock_file_without_a_name_in_the_staging_folder_blocks_neither_saves_nor_repair(string stray)
    {
        Seeded(false, 1);
        Directory.CreateDirectory(Path.Combine(_ck, ".staging"));
        File.WriteAllText(Path.Combine(_ck, ".staging", stray), string.Empty);

        using var h = Handler(false);
        h.Save(_ck, HarnessState.Create(2, Seed, 1), step: 2);
        Assert.Empty(h.RepairIndex(_ck).Problems);
        Assert.Equal(new long[] { 1, 2 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void Pruning_and_repairing_steps_whose_folders_are_links_out_of_the_directory_deletes_nothing_outside()
    {
        Seeded(true, 1, 2, 3);
        foreach (var step in new[] { "1", "2" })
        {
            var moved = _parent.Sub("moved-" + step);
            Directory.Move(Path.Combine(_ck, step), moved);
            Directory.CreateSymbolicLink(Path.Combine(_ck, step), moved);
        }

        var before = OutsideSnapshot.Take(_parent.Path, _ck);
        using (var h = Handler(true))
        {
            h.Prune(_ck, new RetentionPolicy { Keep = 2 });
            _ = h.RepairIndex(_ck);
            h.Save(_ck, HarnessState.Create(3, 5, 1), step: 3, overwrite: true);
            Assert.Equal(new long[] { 3 }, h.GetCheckpointSteps(_ck));
        }

        Assert.Equal(before, OutsideSnapshot.Take(_parent.Path, _ck));
    }

    public static TheoryData<bool, string, string> KillsDuringRecovery()
    {
        var data = new TheoryData<bool, string, string>();
        foreach (var (portable, first) in new[] { (true, "publish.rename@2"), (true, "commit.after-rename"), (false, "commit.after-rename") })
        {
            foreach (var second in new[] { "step.open@1", "step.open@2", "fsync.directory@1", "fsync.directory@2", "commit.after-rename",
                "step.open=ioerror@1+", "fsync.directory=ioerror@1", "publish.rename=ioerror@2+" })
            {
                data.Add(portable, first, second);
            }
        }

        return data;
    }

    /// <summary>An overwrite killed, then the next writer killed or failing inside its recovery (or its own overwrite), then prune and repair.</summary>
    [Theory]
    [MemberData(nameof(KillsDuringRecovery))]
    public void A_writer_killed_while_recovering_a_killed_overwrite_never_loses_the_step(bool portable, string first, string second)
    {
        Seeded(portable, 1, 2);
        Assert.Equal(Harness.Killed, Harness.Run(first, PortableOverwriteTests.HarnessArgs(portable, "overwrite", _ck, "2", "99", "4")).ExitCode);
        _ = Harness.Run(second, PortableOverwriteTests.HarnessArgs(portable, "overwrite", _ck, "2", "77", "3"));
        _ = Harness.Run(second, PortableOverwriteTests.HarnessArgs(portable, "prune", _ck, "1"));
        Assert.Equal(0, Harness.Run(null, PortableOverwriteTests.HarnessArgs(portable, "repair", _ck)).ExitCode);

        using (var h = Handler(portable))
        {
            var steps = h.GetCheckpointSteps(_ck);
            Assert.Contains(2L, steps);
            Assert.True(RestoresAs(h, _ck, 2, 77, 3) || RestoresAs(h, _ck, 2, 99, 4) || RestoresAs(h, _ck, 2, Seed, 2),
                "step 2 restores none of its versions");
        }

        Assert.Equal(0, VersionsInOwnFolders());
    }

    /// <summary>Kills the harness at each new fault point, then lets another process overwrite, prune and repair.</summary>
    [Theory]
    [InlineData(false, "fsync.directory@1")]
    [InlineData(false, "fsync.directory@2")]
    [InlineData(false, "fsync.directory@3")]
    [InlineData(false, "fsync.directory@4")]
    [InlineData(false, "fsync.directory@5")]
    [InlineData(false, "publish.before-flush")]
    [InlineData(false, "commit.after-rename")]
    [InlineData(false, "commit.after-index")]
    [InlineData(true, "publish.rename@1")]
    [InlineData(true, "publish.rename@2")]
    [InlineData(true, "fsync.directory@1")]
    [InlineData(true, "fsync.directory@2")]
    [InlineData(true, "fsync.directory@3")]
    [InlineData(true, "fsync.directory@4")]
    [InlineData(true, "fsync.directory@5")]
    [InlineData(true, "publish.before-flush")]
    [InlineData(true, "commit.after-rename")]
    [InlineData(true, "commit.after-index")]
    public void A_killed_overwrite_followed_by_another_overwrite_a_prune_and_a_repair_keeps_one_whole_version(bool portable, string point)
    {
        Seeded(portable, 1, 2);
        _ = Harness.Run(point, PortableOverwriteTests.HarnessArgs(portable, "overwrite", _ck, "2", "99", "4"));

        // A second process overwrites the same step before anything else ran recovery; it may be killed too.
        _ = Harness.Run(point, PortableOverwriteTests.HarnessArgs(portable, "overwrite", _ck, "2", "77", "3"));
        Assert.Equal(0, Harness.Run(null, PortableOverwriteTests.HarnessArgs(portable, "prune", _ck, "100")).ExitCode);
        Assert.Equal(0, Harness.Run(null, PortableOverwriteTests.HarnessArgs(portable, "repair", _ck)).ExitCode);

        using (var h = Handler(portable))
        {
            Assert.Equal(new long[] { 1, 2 }, h.GetCheckpointSteps(_ck));
            Assert.True(RestoresAs(h, _ck, 2, 77, 3) || RestoresAs(h, _ck, 2, 99, 4) || RestoresAs(h, _ck, 2, Seed, 2),
                "step 2 restores none of its versions");
            Assert.True(RestoresAs(h, _ck, 1, Seed, 2));
        }

        Assert.Equal(0, VersionsInOwnFolders());
    }
}
