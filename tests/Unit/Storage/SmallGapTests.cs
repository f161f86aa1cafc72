using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Issue 9 item 10 (the storage part): a planted PINNED link is never followed, the Log callback never
/// runs under the directory lock, repair keeps rows of folders it could not read for a transient
/// reason, and rebuilding a damaged index keeps the deletes that were in progress.
/// </summary>
public sealed class SmallGapTests : IDisposable
{
    private const int Seed = 11;
    private readonly TempDirectory _parent = new();
    private readonly string _ck;

    public SmallGapTests() => _ck = _parent.Sub("ck");

    public void Dispose() => _parent.Dispose();

    private void Seeded(params long[] steps)
    {
        using var h = new CheckpointHandler();
        foreach (var s in steps)
        {
            h.Save(_ck, HarnessState.Create(s, Seed, 1, 64), step: s);
        }
    }

    [Fact]
    public void Pinning_does_not_follow_a_planted_pinned_link_out_of_the_directory()
    {
        Seeded(1);
        var victim = _parent.Sub("victim.txt");
        File.WriteAllText(victim, "the user's own file");
        File.CreateSymbolicLink(Path.Combine(_ck, "1", "PINNED"), victim);
        var before = OutsideSnapshot.Take(_parent.Path, _ck);

        using var h = new CheckpointHandler();
        h.SetPinned(_ck, 1, true);

        Assert.Equal(before, OutsideSnapshot.Take(_parent.Path, _ck));
        var marker = new FileInfo(Path.Combine(_ck, "1", "PINNED"));
        Assert.True(marker.Exists && marker.LinkTarget is null, "the marker must be a regular file of the step folder");
        Assert.True(h.GetCheckpoint(_ck, 1).Pinned);

        h.SetPinned(_ck, 1, false);
        Assert.Equal(before, OutsideSnapshot.Take(_parent.Path, _ck));
    }

    [Fact]
    public void A_planted_pinned_link_does_not_pin_the_step_on_repair()
    {
        Seeded(1);
        var victim = _parent.Sub("victim.txt");
        File.WriteAllText(victim, "x");
        File.CreateSymbolicLink(Path.Combine(_ck, "1", "PINNED"), victim);

        using var h = new CheckpointHandler();
        h.RepairIndex(_ck);
        Assert.False(h.GetCheckpoint(_ck, 1).Pinned);
    }

    [Fact]
    public void The_log_callback_never_runs_under_the_directory_lock()
    {
        Seeded(1);
        var inner = new CheckpointHandler(new CheckpointOptions { LockTimeout = TimeSpan.FromSeconds(2) });
        var reentered = new List<string>();
        var failures = new List<Exception>();
        var options = new CheckpointOptions
        {
            LockTimeout = TimeSpan.FromSeconds(2),
            Log = message =>
            {
                // A callback that takes the directory's exclusive lock itself (a -Verbose handler that
                // writes a marker step, or simply one that blocks): it must never wait on our own lock.
                try
                {
                    var step = 1000 + reentered.Count;
                    inner.Save(_ck, HarnessState.Create(step, Seed, 1, 8), step: step);
                    reentered.Add(message);
                }
                catch (Exception e)
                {
                    failures.Add(e);
                }
            },
        };

        using (var h = new CheckpointHandler(options))
        {
            h.Save(_ck, HarnessState.Create(2, Seed, 1, 64), step: 2, keep: 10);
            h.SetPinned(_ck, 2, true);
            h.Remove(_ck, 2, force: true);
        }

        inner.Dispose();
        Assert.Empty(failures);
        Assert.NotEmpty(reentered);
        Assert.Contains(reentered, m => m.StartsWith("Published step 2", StringComparison.Ordinal));
    }

    [Fact]
    public void Repair_keeps_the_row_of_a_step_it_could_not_read_for_a_transient_io_error()
    {
        Seeded(1, 2, 3);
        var run = Harness.Run("step.open=ioerror@2", "repair", _ck);
        Assert.Equal(0, run.ExitCode);

        using var h = new CheckpointHandler();
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
        Assert.Equal(new long[] { 1, 2, 3 }, h.RepairIndex(_ck).StepsIndexed);
    }

    [Fact]
    public void Rebuilding_a_damaged_index_keeps_a_delete_in_progress()
    {
        Seeded(1, 2, 3);
        string saveId2;
        using (var index = PlantedManifest.OpenIndex(_ck))
        {
            using (var read = index.CreateCommand())
            {
                read.CommandText = "SELECT save_id FROM steps WHERE step = 2;";
                saveId2 = (string)read.ExecuteScalar()!;
            }

            // A removal of step 2 that stopped after its unpublish transaction, then damage elsewhere.
            using var cmd = index.CreateCommand();
            cmd.CommandText = """
                DELETE FROM steps WHERE step = 2; DELETE FROM step_items WHERE step = 2;
                INSERT INTO intents(save_id, op, step, staging) VALUES ($id, 'delete', 2, NULL);
                UPDATE steps SET save_id = 'damaged' WHERE step = 3;
                """;
            cmd.Parameters.AddWithValue("$id", saveId2);
            cmd.ExecuteNonQuery();
        }

        using var h = new CheckpointHandler();
        var report = h.RepairIndex(_ck);
        Assert.Equal(new long[] { 1, 3 }, report.StepsIndexed);
        Assert.Equal(new long[] { 1, 3 }, h.GetCheckpointSteps(_ck));
        Assert.False(Directory.Exists(Path.Combine(_ck, "2")), "the removal must be completed, not undone");
    }
}
