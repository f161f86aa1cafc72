using System.Collections;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability.CrashStates;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// The first writing open of a store written before the step-number index (version 2 without <c>steps_by_step</c>) adds
/// it; on a disk over its quota Linux fails that write with EDQUOT, which SQLite reports as an I/O error (SQLITE_IOERR,
/// extended IOERR_WRITE or IOERR_FSYNC), not SQLITE_FULL. The index only speeds a listing up: the open goes on without it,
/// so the removal run to free space is not failed by it, and a later writer adds it. Errors of other kinds still fail the
/// open. The failure is injected inside the index's own transaction (<c>index.step-number-index.before-commit</c>, as
/// SQLite would raise it at the commit) in a child process.
/// </summary>
public sealed class StepNumberIndexIoErrorTests : IDisposable
{
    private const string Point = "index.step-number-index.before-commit";
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public StepNumberIndexIoErrorTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private IndexFile Index => new(Path.Combine(_ck, StepIndex.FileName));

    private bool HasStepNumberIndex() =>
        Index.Scalar($"SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '{StepIndex.StepNumberIndex}';") == 1;

    /// <summary>Steps 1 to 4, then the index as the engine before <c>steps_by_step</c> left it.</summary>
    private void OlderStore()
    {
        using (var h = new CheckpointHandler())
        {
            for (var step = 1; step <= 4; step++)
            {
                h.Save(_ck, new Hashtable { ["v"] = step }, step: step);
            }
        }

        Index.Execute($"DROP INDEX {StepIndex.StepNumberIndex}; PRAGMA wal_checkpoint(TRUNCATE);");
        Assert.False(HasStepNumberIndex());
    }

    [Theory]
    [InlineData(778)] // SQLITE_IOERR_WRITE: the write(2) of a page over quota (EDQUOT)
    [InlineData(1034)] // SQLITE_IOERR_FSYNC
    [InlineData(10)] // SQLITE_IOERR
    [InlineData(13)] // SQLITE_FULL (tolerated before)
    public void An_io_error_adding_the_step_number_index_leaves_an_older_store_writable_and_a_later_writer_adds_it(int code)
    {
        OlderStore();
        var fault = $"{Point}=sqlite:{code}@1+";

        var prune = Harness.Run(fault, "prune", _ck, "2");
        Assert.True(prune.ExitCode == 0, $"prune exited {prune.ExitCode}: {prune.Output}");
        var save = Harness.Run(fault, "save", _ck, "7", "1", "1", "64");
        Assert.True(save.ExitCode == 0, $"save exited {save.ExitCode}: {save.Output}");

        Assert.False(HasStepNumberIndex());
        using (var h = new CheckpointHandler())
        {
            Assert.Equal([3L, 4, 7], h.GetCheckpointSteps(_ck));
            Assert.Equal([3L, 4, 7], h.ListCheckpoints(_ck).Select(c => c.Step));

            // No fault in this process: its first write adds the index.
            h.SetPinned(_ck, 3, true);
            Assert.True(HasStepNumberIndex());
            Assert.Equal([3L, 4, 7], h.GetCheckpointSteps(_ck));
            Assert.Empty(h.RepairIndex(_ck, dryRun: true).Problems);
        }
    }

    [Theory]
    [InlineData($"{Point}=sqlite:11", 3, "CorruptCheckpoint")] // SQLITE_CORRUPT: damage, which repair is for
    [InlineData($"{Point}=bug", 5, "InvalidOperationException")] // an error of no kind the engine expects
    public void A_failure_of_another_kind_adding_the_step_number_index_still_fails_the_open(string fault, int exitCode, string shown)
    {
        OlderStore();

        var prune = Harness.Run(fault, "prune", _ck, "2");

        Assert.True(prune.ExitCode == exitCode, $"prune exited {prune.ExitCode}: {prune.Output}");
        Assert.Contains(shown, prune.Output, StringComparison.Ordinal);
        Assert.False(HasStepNumberIndex());
        using var h = new CheckpointHandler();
        Assert.Equal([1L, 2, 3, 4], h.GetCheckpointSteps(_ck));
    }

    [StraceTheory]
    [InlineData("1")] // the first write of the index's log: the step-number index's, which the open goes on from
    public void Damage_read_after_a_write_error_the_open_went_on_from_is_damage_not_a_failed_disk_read(string when)
    {
        // SQLite keeps a failed call's errno on the file (here the log's EIO) and never clears it; the damaged intents
        // page read next by the same open was taken for a read the disk failed (its "errno" the write's), so the writer
        // said "check the disk" and never "run Repair-CheckpointIndex".
        OlderStore();
        var root = Index.Scalar("SELECT rootpage FROM sqlite_master WHERE name = 'intents';");
        var pageSize = Index.Scalar("PRAGMA page_size;");
        using (var f = new FileStream(Index.Path, FileMode.Open, FileAccess.Write))
        {
            f.Position = (root - 1) * pageSize;
            f.Write(Enumerable.Repeat((byte)0xA5, (int)pageSize).ToArray());
        }

        var (exitCode, output) = InjectedErrno.Run("pwrite64", "EIO", when, Index.Path + "-wal", "pin", _ck, "1");

        Assert.True(exitCode == 3, $"pin exited {exitCode}, not 3 (CorruptCheckpoint): {output}");
        Assert.Contains("CorruptCheckpoint", output, StringComparison.Ordinal);
        Assert.Contains("run Repair-CheckpointIndex", output, StringComparison.Ordinal);
        Assert.DoesNotContain("check the disk", output, StringComparison.Ordinal);
    }
}
