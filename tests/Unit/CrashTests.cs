using System.Globalization;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests;

/// <summary>
/// Guarantees 1–4 under SIGKILL: a child process is killed at each named point of save, overwrite,
/// removal, pin and index repair; a fresh handler then finds every earlier step byte-identical,
/// no partial step listed, the interrupted step whole or absent, and no leftovers after its next write.
/// Saves and overwrites run on both rename paths: the Linux exchange and the two renames of Windows/NFS.
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class CrashTests : IDisposable
{
    private const int Seed = 11;
    private readonly TempDirectory _dir = new();
    private readonly string _ck;
    private readonly ITestOutputHelper _output;

    public CrashTests(ITestOutputHelper output)
    {
        _ck = _dir.Sub("ck");
        _output = output;
    }

    public void Dispose() => _dir.Dispose();

    private void Seeded(params long[] steps)
    {
        using var h = new CheckpointHandler();
        foreach (var s in steps)
        {
            h.Save(_ck, HarnessState.Create(s, Seed, 2), step: s);
        }
    }

    private static void AssertRestoresExactly(CheckpointHandler h, string dir, long step, int seed, int megabytes, int floatsPerTensor = HarnessState.MebibyteOfFloats)
    {
        var expected = HarnessState.Create(step, seed, megabytes, floatsPerTensor);
        var actual = (Dictionary<string, object?>)h.Restore(dir, step)!;
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (key, value) in expected)
        {
            if (value is float[] f)
            {
                Assert.True(f.AsSpan().SequenceEqual((float[])actual[key]!), $"step {step} item {key} differs");
            }
            else
            {
                Assert.Equal(value, actual[key]);
            }
        }
    }

    /// <summary>
    /// After a save of step 3 was killed: steps 1 and 2 are listed and restore exactly, a save of step 3 with
    /// <paramref name="tensors"/> tensors of <paramref name="floatsPerTensor"/> floats works, and nothing is left over.
    /// </summary>
    private void AssertOnlySeededStepsAndNextSaveWorks(int tensors, int floatsPerTensor)
    {
        using (var next = new CheckpointHandler())
        {
            Assert.Equal(new long[] { 1, 2 }, next.GetCheckpointSteps(_ck));
            AssertRestoresExactly(next, _ck, 1, Seed, 2);
            AssertRestoresExactly(next, _ck, 2, Seed, 2);
            next.Save(_ck, HarnessState.Create(3, Seed, tensors, floatsPerTensor), step: 3);
            AssertRestoresExactly(next, _ck, 3, Seed, tensors, floatsPerTensor);
        }

        AssertNoLeftovers();
    }

    private void AssertNoLeftovers()
    {
        foreach (var folder in new[] { ".staging", ".trash" })
        {
            var path = Path.Combine(_ck, folder);
            if (Directory.Exists(path))
            {
                Assert.Empty(Directory.GetDirectories(path));
            }
        }

        using var h = new CheckpointHandler();
        var numbered = Directory.GetDirectories(_ck).Select(Path.GetFileName).Where(n => long.TryParse(n, out _)).Select(n => long.Parse(n!, CultureInfo.InvariantCulture)).Order();
        Assert.Equal(h.GetCheckpointSteps(_ck), numbered);
    }

    private static void AssertKilled((int ExitCode, string Output) run) =>
        Assert.True(run.ExitCode == Harness.Killed, $"expected the child to be killed, got exit {run.ExitCode}: {run.Output}");

    [Theory]
    [InlineData("save.data.chunk-written@3", false, false)]
    [InlineData("save.data.chunk-written@3", false, true)]
    [InlineData("save.data.before-flush", false, false)]
    [InlineData("save.data.before-flush", false, true)]
    [InlineData("save.manifest.before-write", false, false)]
    [InlineData("save.manifest.before-write", false, true)]
    [InlineData("save.manifest.written", false, false)]
    [InlineData("save.manifest.written", false, true)]
    [InlineData("commit.before-rename", false, false)]
    [InlineData("commit.before-rename", false, true)]
    [InlineData("commit.after-rename", true, false)]
    [InlineData("commit.after-rename", true, true)]
    [InlineData("commit.item-list.partly-written", true, false)]
    [InlineData("commit.item-list.partly-written", true, true)]
    [InlineData("commit.after-index", true, false)]
    [InlineData("commit.after-index", true, true)]
    public void Kill_during_a_save_leaves_the_store_as_before_or_with_the_whole_new_step(string point, bool newStepSurvives, bool portableRename)
    {
        Seeded(1, 2);
        AssertKilled(Harness.Run(point, Storage.PortableOverwriteTests.HarnessArgs(portableRename, "save", _ck, "3", Seed.ToString(CultureInfo.InvariantCulture), "8")));

        using (var reader = Storage.PortableOverwriteTests.Handler(portableRename))
        {
            var listed = reader.GetCheckpointSteps(_ck);
            Assert.Subset(new HashSet<long> { 1, 2, 3 }, listed.ToHashSet());
            AssertRestoresExactly(reader, _ck, 1, Seed, 2);
            AssertRestoresExactly(reader, _ck, 2, Seed, 2);
            if (listed.Contains(3))
            {
                AssertRestoresExactly(reader, _ck, 3, Seed, 8);
            }
        }

        using (var next = Storage.PortableOverwriteTests.Handler(portableRename))
        {
            next.Save(_ck, HarnessState.Create(4, Seed, 1), step: 4);
            Assert.Equal(newStepSurvives ? new long[] { 1, 2, 3, 4 } : new long[] { 1, 2, 4 }, next.GetCheckpointSteps(_ck));
            if (newStepSurvives)
            {
                AssertRestoresExactly(next, _ck, 3, Seed, 8);
            }
        }

        AssertNoLeftovers();
        StoreAssert.Figure(_output, 1, "SIGKILL at a named save point", $"{point}: survived, step 3 {(newStepSurvives ? "whole" : "absent")}, no leftovers");
    }

    [Theory]
    [InlineData("save.data.chunk-written@40")]
    [InlineData("save.data.chunk-written@300")]
    [InlineData("save.data.before-flush")]
    public void Kill_during_a_save_of_small_tensors_packed_into_batches_leaves_the_store_as_before(string point)
    {
        // 600 tensors of 4000 bytes: about three batches whose frames are packed into one buffer and written
        // with one call (the 1 MiB tensors of the other cases never take that path). Hit 40 lies after the
        // first packed write, hit 300 after the second.
        Seeded(1, 2);
        AssertKilled(Harness.Run(point, "save", _ck, "3", Seed.ToString(CultureInfo.InvariantCulture), "600", "1000"));

        AssertOnlySeededStepsAndNextSaveWorks(600, 1000);
    }

    [Theory]
    [InlineData("save.manifest.piece-written@1")]
    [InlineData("save.manifest.piece-written@2")]
    public void Kill_while_the_manifest_goes_out_in_pieces_leaves_no_half_step(string point)
    {
        // 8,000 tensors of 4 floats: a manifest whose frame is several 64 KiB pieces. The frame is complete in memory
        // before its first piece is written (round 69 of docs/performance-notes.md; round 50 wrote pieces before the
        // block's word was known): the kill after the first or the second piece leaves a frame cut short.
        Seeded(1, 2);
        AssertKilled(Harness.Run(point, "save", _ck, "3", Seed.ToString(CultureInfo.InvariantCulture), "8000", "4"));

        var staged = Directory.GetFiles(Path.Combine(_ck, ".staging"), global::DataraxCkpt.Format.StepFormat.ManifestFile, SearchOption.AllDirectories);
        var half = File.ReadAllBytes(Assert.Single(staged));
        // A piece is flushed when the next sequence would not fit behind it: a little under 64 KiB.
        Assert.True(half.Length > global::DataraxCkpt.Format.Lz4Pieces.PieceSize / 2, $"the staged manifest holds {half.Length} bytes: the kill came before a piece was written");
        var content = new byte[global::DataraxCkpt.Format.Lz4Frame.ReadContentSize(half)];
        Assert.Throws<InvalidDataException>(() => global::DataraxCkpt.Format.Lz4Frame.Decode(half, content));

        AssertOnlySeededStepsAndNextSaveWorks(8000, 4);
    }

    [Theory]
    [InlineData("save.data.chunk-written@2", false, false)]
    [InlineData("save.data.chunk-written@2", false, true)]
    [InlineData("commit.before-rename", false, false)]
    [InlineData("commit.before-rename", false, true)]
    [InlineData("commit.after-rename", true, false)]
    [InlineData("commit.after-rename", true, true)]
    [InlineData("commit.item-list.partly-written", true, false)]
    [InlineData("commit.item-list.partly-written", true, true)]
    [InlineData("commit.after-index", true, false)]
    [InlineData("commit.after-index", true, true)]
    [InlineData("publish.rename@1", false, true)]
    [InlineData("publish.rename@2", true, true)]
    [InlineData("publish.before-flush", true, false)]
    [InlineData("publish.before-flush", true, true)]
    public void Kill_during_an_overwrite_never_leaves_the_step_missing_or_mixed(string point, bool newVersionSurvives, bool portableRename)
    {
        Seeded(1, 2);
        AssertKilled(Harness.Run(point, Storage.PortableOverwriteTests.HarnessArgs(portableRename, "overwrite", _ck, "2", "99", "4")));

        // A reader arriving first must get one whole version, never an error or a mix.
        using (var reader = Storage.PortableOverwriteTests.Handler(portableRename))
        {
            Assert.Equal(new long[] { 1, 2 }, reader.GetCheckpointSteps(_ck));
            AssertRestoresExactly(reader, _ck, 2, newVersionSurvives ? 99 : Seed, newVersionSurvives ? 4 : 2);
            AssertRestoresExactly(reader, _ck, 1, Seed, 2);
        }

        using (var next = Storage.PortableOverwriteTests.Handler(portableRename))
        {
            next.Save(_ck, HarnessState.Create(5, Seed, 1), step: 5);
            Assert.Equal(new long[] { 1, 2, 5 }, next.GetCheckpointSteps(_ck));

            // The next write settles the interrupted overwrite for good: the version a reader saw
            // first is the one that stays (a recovery that rolled a completed exchange back, or
            // forward an incomplete one, would change step 2 here).
            AssertRestoresExactly(next, _ck, 2, newVersionSurvives ? 99 : Seed, newVersionSurvives ? 4 : 2);
            AssertRestoresExactly(next, _ck, 1, Seed, 2);
            Assert.True(next.Verify(_ck, 2).Ok, "step 2 fails verification after the interrupted overwrite was settled");
        }

        AssertNoLeftovers();
        StoreAssert.Figure(_output, 3, "SIGKILL at a named overwrite point", $"{point}: survived, step 2 {(newVersionSurvives ? "new" : "old")} version whole before and after the next write");
    }

    [Theory]
    [InlineData("remove.before-unpublish", true)]
    [InlineData("remove.after-unpublish", false)]
    [InlineData("remove.folder-trashed@1", false)]
    [InlineData("remove.after-trash", false)]
    public void Kill_during_a_remove_leaves_the_step_whole_or_gone_and_the_next_write_finishes_it(string point, bool stepSurvives)
    {
        Seeded(1, 2, 3);
        AssertKilled(Harness.Run(point, "remove", _ck, "2"));
        using (var reader = new CheckpointHandler())
        {
            var listed = reader.GetCheckpointSteps(_ck);
            Assert.Equal(stepSurvives ? new long[] { 1, 2, 3 } : new long[] { 1, 3 }, listed);
            foreach (var step in listed)
            {
                AssertRestoresExactly(reader, _ck, step, Seed, 2);
            }
        }

        using (var next = new CheckpointHandler())
        {
            next.Save(_ck, HarnessState.Create(4, Seed, 1), step: 4);
            Assert.Equal(stepSurvives ? new long[] { 1, 2, 3, 4 } : new long[] { 1, 3, 4 }, next.GetCheckpointSteps(_ck));
            AssertRestoresExactly(next, _ck, 1, Seed, 2);
            AssertRestoresExactly(next, _ck, 3, Seed, 2);
        }

        AssertNoLeftovers();
        StoreAssert.Figure(_output, 4, "SIGKILL at a named remove point", $"{point}: survived, step 2 {(stepSurvives ? "whole" : "gone")}, no leftovers");
    }

    [Theory]
    [InlineData("remove.before-unpublish")]
    [InlineData("remove.after-unpublish")]
    [InlineData("remove.folder-trashed@1")]
    [InlineData("remove.folder-trashed@2")]
    [InlineData("remove.after-trash")]
    public void Kill_during_pruning_never_leaves_a_half_deleted_step_listed(string point)
    {
        Seeded(1, 2, 3, 4, 5);
        AssertKilled(Harness.Run(point, "prune", _ck, "2"));
        using (var reader = new CheckpointHandler())
        {
            var listed = reader.GetCheckpointSteps(_ck);
            Assert.Contains(4L, listed);
            Assert.Contains(5L, listed);
            foreach (var step in listed)
            {
                AssertRestoresExactly(reader, _ck, step, Seed, 2);
            }
        }

        using (var next = new CheckpointHandler())
        {
            next.Prune(_ck, new RetentionPolicy { Keep = 2 });
            Assert.Equal(new long[] { 4, 5 }, next.GetCheckpointSteps(_ck));
        }

        AssertNoLeftovers();
        StoreAssert.Figure(_output, 4, "SIGKILL at a named prune point", $"{point}: survived, every listed step exact, next prune completed");
    }

    [Theory]
    [InlineData("remove.after-unpublish")]
    [InlineData("remove.folder-trashed@150")]
    [InlineData("remove.after-trash")]
    public void Kill_during_a_prune_of_hundreds_of_steps_leaves_only_the_kept_steps_listed_and_the_next_write_finishes_it(string point)
    {
        // Past 256 steps a prune takes its bulk paths (one pass over the rows, one listing of the folders,
        // intents cleared in one statement): 300 index rows without folders between real steps 1, 2 and 900, 901.
        Seeded(1, 2, 900, 901);
        using (var index = PlantedManifest.OpenIndex(_ck))
        using (var cmd = index.CreateCommand())
        {
            cmd.CommandText = """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 300)
                INSERT INTO steps(step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned)
                SELECT 100 + n.i, printf('%032x', 100 + n.i), s.created_utc, s.size, s.stored_size, s.item_count, s.metadata, s.manifest_hash, 0
                FROM n, steps AS s WHERE s.step = 1;
                """;
            cmd.ExecuteNonQuery();
        }

        AssertKilled(Harness.Run(point, "prune", _ck, "2"));
        using (var reader = new CheckpointHandler())
        {
            Assert.Equal(new long[] { 900, 901 }, reader.GetCheckpointSteps(_ck));
            AssertRestoresExactly(reader, _ck, 901, Seed, 2);
        }

        using (var next = new CheckpointHandler())
        {
            next.Save(_ck, HarnessState.Create(902, Seed, 1), step: 902);
            Assert.Equal(new long[] { 900, 901, 902 }, next.GetCheckpointSteps(_ck));
            AssertRestoresExactly(next, _ck, 900, Seed, 2);
        }

        using (var index = PlantedManifest.OpenIndex(_ck))
        using (var cmd = index.CreateCommand())
        {
            cmd.CommandText = "SELECT count(*) FROM intents;";
            Assert.Equal(0L, (long)cmd.ExecuteScalar()!);
        }

        AssertNoLeftovers();
        StoreAssert.Figure(_output, 4, "SIGKILL at a named prune point, 304 steps", $"{point}: survived, only the kept steps listed, next write finished the removal");
    }

    [Theory]
    [InlineData("remove.before-unpublish", true)]
    [InlineData("remove.after-unpublish", false)]
    [InlineData("remove.folder-trashed@5000", false)]
    [InlineData("remove.after-trash", false)]
    public void Kill_during_a_prune_of_ten_thousand_steps_with_its_bigger_page_cache_leaves_all_or_only_the_kept_steps_listed(string point, bool allListed)
    {
        // From StepIndex.LargeRemoval steps on, the removal's transaction runs with a 64 MiB page cache:
        // a kill before it commits leaves every step listed, after it only the kept ones, and the next write finishes it.
        const int Copied = DataraxCkpt.Storage.StepIndex.LargeRemoval + 300;
        Seeded(1, 2, 20_000, 20_001);
        using (var index = PlantedManifest.OpenIndex(_ck))
        using (var cmd = index.CreateCommand())
        {
            cmd.CommandText = """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $count)
                INSERT INTO steps(step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned)
                SELECT 100 + n.i, printf('%032x', 100 + n.i), s.created_utc, s.size, s.stored_size, s.item_count, s.metadata, s.manifest_hash, 0
                FROM n, steps AS s WHERE s.step = 1;
                """;
            cmd.Parameters.AddWithValue("$count", Copied);
            cmd.ExecuteNonQuery();
        }

        List<long> before;
        using (var reader = new CheckpointHandler())
        {
            before = reader.GetCheckpointSteps(_ck).ToList();
        }

        AssertKilled(Harness.Run(point, "prune", _ck, "2"));
        using (var reader = new CheckpointHandler())
        {
            Assert.Equal(allListed ? before : [20_000, 20_001], reader.GetCheckpointSteps(_ck));
            AssertRestoresExactly(reader, _ck, 20_001, Seed, 2);
        }

        using (var next = new CheckpointHandler())
        {
            next.Save(_ck, HarnessState.Create(20_002, Seed, 1), step: 20_002);
            Assert.Equal(allListed ? [.. before, 20_002] : new long[] { 20_000, 20_001, 20_002 }, next.GetCheckpointSteps(_ck));
            // Killed before its transaction, the prune removed nothing; run again, it removes what it planned.
            Assert.Equal(allListed ? Copied + 2 : 0, next.Prune(_ck, new RetentionPolicy { Keep = 3 }).Count);
            Assert.Equal(new long[] { 20_000, 20_001, 20_002 }, next.GetCheckpointSteps(_ck));
            AssertRestoresExactly(next, _ck, 20_000, Seed, 2);
        }

        using (var index = PlantedManifest.OpenIndex(_ck))
        using (var cmd = index.CreateCommand())
        {
            cmd.CommandText = "SELECT count(*) FROM intents;";
            Assert.Equal(0L, (long)cmd.ExecuteScalar()!);
        }

        AssertNoLeftovers();
        StoreAssert.Figure(_output, 4, $"SIGKILL at a named prune point, {Copied + 4} steps", $"{point}: survived, all or only the kept steps listed, next write finished the removal");
    }

    [Fact]
    public void Kill_while_pinning_keeps_the_step_and_repair_settles_the_pin()
    {
        Seeded(1);
        AssertKilled(Harness.Run("pin.after-marker", "pin", _ck, "1"));
        using var h = new CheckpointHandler();
        AssertRestoresExactly(h, _ck, 1, Seed, 2);
        h.RepairIndex(_ck);
        Assert.True(h.GetCheckpoint(_ck, 1).Pinned);
        StoreAssert.Figure(_output, 4, "SIGKILL at a named pin point", "pin.after-marker: survived, step exact, pin settled by repair");
    }

    [Theory]
    [InlineData("repair.after-index-main-aside")]
    [InlineData("repair.after-index-aside")]
    [InlineData("repair.step-indexed@2")]
    [InlineData("repair.before-index-rename")]
    [InlineData("repair.before-index-move-in")]
    public void Kill_during_an_index_rebuild_never_leaves_a_partial_index(string point)
    {
        Seeded(1, 2, 3);
        File.WriteAllBytes(Path.Combine(_ck, "index.sqlite"), new byte[4096]); // a damaged index
        foreach (var side in new[] { "-wal", "-shm" })
        {
            File.Delete(Path.Combine(_ck, "index.sqlite" + side));
        }

        AssertKilled(Harness.Run(point, "repair", _ck));
        using var h = new CheckpointHandler();
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
        AssertRestoresExactly(h, _ck, 2, Seed, 2);
        StoreAssert.Figure(_output, 6, "SIGKILL at a named repair point", $"{point}: survived, index lists exactly the 3 steps");
    }

    [Fact]
    public void Sigkill_in_the_middle_of_a_one_gibibyte_save_leaves_the_store_as_it_was()
    {
        Seeded(1);
        using var child = Harness.Start(null, "save", _ck, "2", "5", "1024");
        var data = Path.Combine(_ck, ".staging");
        var deadline = DateTime.UtcNow.AddMinutes(2);
        // Kill once a good part of the tensor file is on disk and still growing, i.e. truly mid-write.
        long Written() => Directory.Exists(data)
            ? Directory.GetFiles(data, "tensors.lz4", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length)
            : 0;
        long firstSeen = 0, atKill = 0;
        while (DateTime.UtcNow < deadline && !child.HasExited)
        {
            var written = Written();
            if (firstSeen == 0 && written > 0)
            {
                firstSeen = written;
            }

            if (written > 200L << 20)
            {
                atKill = written;
                break;
            }

            Thread.Sleep(20);
        }

        Assert.False(child.HasExited, "the 1 GiB save finished before it could be killed");
        child.Kill();
        child.WaitForExit();
        Assert.True(atKill > 200L << 20, $"the kill did not land mid-write: {atKill} bytes of tensor data were on disk after 2 minutes");
        Assert.True(atKill > firstSeen, $"the tensor file did not grow before the kill (first seen {firstSeen} bytes, at the kill {atKill})");
        Assert.True(atKill < 1L << 30, $"the tensor file was already complete ({atKill} bytes) when the child was killed");

        using var h = new CheckpointHandler();
        Assert.Equal(new long[] { 1 }, h.GetCheckpointSteps(_ck));
        AssertRestoresExactly(h, _ck, 1, Seed, 2);
        h.Save(_ck, HarnessState.Create(3, Seed, 1), step: 3);
        Assert.Equal(new long[] { 1, 3 }, h.GetCheckpointSteps(_ck));
        AssertNoLeftovers();
        StoreAssert.Figure(_output, 1, "SIGKILL mid-way through a 1 GiB save", $"killed with {atKill >> 20} MiB of tensor data on disk (grew from {firstSeen >> 20} MiB): survived, step 1 exact, no leftovers");
    }
}
