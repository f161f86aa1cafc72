using System.Collections;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// The step-number index (<c>steps_by_step</c>, docs/format.md §3): a new or rebuilt index has it and lists step numbers
/// from it alone; an index written before it (same schema version 2, without it) lists the same steps from its table,
/// on every open that writes nothing, and gains the index at its first write; every write keeps it equal to the table.
/// </summary>
public sealed class StepNumberIndexTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public StepNumberIndexTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private IndexFile Index => new(Path.Combine(_ck, StepIndex.FileName));

    private bool HasStepNumberIndex() =>
        Index.Scalar($"SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '{StepIndex.StepNumberIndex}';") == 1;

    /// <summary>What SQLite does for the engine's step-number query: its EXPLAIN QUERY PLAN details, joined.</summary>
    private string PlanOfStepNumbers()
    {
        using var c = Index.Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "EXPLAIN QUERY PLAN " + StepIndex.StepNumbersSql;
        using var r = cmd.ExecuteReader();
        var details = new List<string>();
        while (r.Read())
        {
            details.Add(r.GetString(3));
        }

        return string.Join(" | ", details);
    }

    /// <summary>The steps as the table itself holds them, read without any index.</summary>
    private List<long> TableSteps()
    {
        using var c = Index.Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT step FROM steps NOT INDEXED ORDER BY step;";
        using var r = cmd.ExecuteReader();
        var steps = new List<long>();
        while (r.Read())
        {
            steps.Add(r.GetInt64(0));
        }

        return steps;
    }

    private void SaveSteps(CheckpointHandler h, params long[] steps)
    {
        foreach (var step in steps)
        {
            h.Save(_ck, new Hashtable { ["v"] = (int)step, ["w"] = new float[] { step, 1 } }, step: step,
                metadata: new Dictionary<string, object?> { ["note"] = new string('m', 200) });
        }
    }

    /// <summary>The store as the engine before the step-number index left it: its schema had everything else.</summary>
    private void MakeItAsThePreviousEngineWroteIt()
    {
        Index.Execute($"DROP INDEX {StepIndex.StepNumberIndex}; PRAGMA wal_checkpoint(TRUNCATE);");
        Assert.False(HasStepNumberIndex());
        Assert.Equal(3, Index.Scalar("PRAGMA user_version;"));
    }

    [Fact]
    public void A_new_store_lists_its_step_numbers_from_the_step_number_index_alone()
    {
        using var h = new CheckpointHandler();
        SaveSteps(h, 5, 1, 3);

        Assert.True(HasStepNumberIndex());
        Assert.Contains($"COVERING INDEX {StepIndex.StepNumberIndex}", PlanOfStepNumbers(), StringComparison.Ordinal);
        Assert.Equal([1L, 3, 5], h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void An_index_written_before_the_step_number_index_lists_the_same_steps_without_writing_and_gains_it_at_the_first_write()
    {
        using var h = new CheckpointHandler();
        SaveSteps(h, 0, 2, 4, 6);
        MakeItAsThePreviousEngineWroteIt();
        Assert.DoesNotContain(StepIndex.StepNumberIndex, PlanOfStepNumbers(), StringComparison.Ordinal);

        Assert.Equal([0L, 2, 4, 6], h.GetCheckpointSteps(_ck));
        Assert.Equal(6, h.LatestStep(_ck));
        Assert.Equal([0L, 2, 4, 6], h.ListCheckpoints(_ck).Select(c => c.Step));
        Assert.Equal(2, h.Prune(_ck, new RetentionPolicy { Keep = 2 }, dryRun: true).Count);
        Assert.Empty(h.RepairIndex(_ck, dryRun: true).Problems);
        Assert.False(HasStepNumberIndex());

        h.SetPinned(_ck, 2, true);
        Assert.True(HasStepNumberIndex());
        Assert.Equal([0L, 2, 4, 6], h.GetCheckpointSteps(_ck));
        Assert.Contains($"COVERING INDEX {StepIndex.StepNumberIndex}", PlanOfStepNumbers(), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_write_keeps_the_step_number_index_equal_to_the_table()
    {
        using var h = new CheckpointHandler();
        SaveSteps(h, 1, 2, 3, 4, 5, 6, 7, 8);
        void AssertSame(long[] expected)
        {
            Assert.Equal(expected, TableSteps());
            Assert.Equal(expected, h.GetCheckpointSteps(_ck));
            Assert.Equal("ok", string.Join(",", h.RepairIndex(_ck, dryRun: true).Problems.DefaultIfEmpty("ok")));
        }

        h.Save(_ck, new Hashtable { ["v"] = 30 }, step: 3, overwrite: true);
        AssertSame([1, 2, 3, 4, 5, 6, 7, 8]);
        h.Remove(_ck, 4);
        AssertSame([1, 2, 3, 5, 6, 7, 8]);
        h.SetPinned(_ck, 1, true);
        h.Prune(_ck, new RetentionPolicy { Keep = 2 });
        AssertSame([1, 7, 8]);
        SaveSteps(h, 0, 9);
        AssertSame([0, 1, 7, 8, 9]);
    }

    [Fact]
    public void Repair_rebuilds_the_index_with_the_step_number_index()
    {
        using (var h = new CheckpointHandler())
        {
            SaveSteps(h, 10, 20, 30);
        }

        MakeItAsThePreviousEngineWroteIt();
        Index.Execute("PRAGMA user_version = 0;");

        using (var h = new CheckpointHandler())
        {
            var report = h.RepairIndex(_ck);
            Assert.Equal([10L, 20, 30], report.StepsIndexed);
            Assert.True(HasStepNumberIndex());
            Assert.Equal([10L, 20, 30], h.GetCheckpointSteps(_ck));
        }
    }

    [RootMountFact]
    public void A_read_only_mount_of_an_index_written_before_the_step_number_index_lists_its_steps()
    {
        using (var h = new CheckpointHandler())
        {
            SaveSteps(h, 3, 1, 2);
        }

        MakeItAsThePreviousEngineWroteIt();
        using var mount = ReadOnlyMount.Of(_ck, _dir.Sub("ro"));
        using (var h = new CheckpointHandler())
        {
            Assert.Equal([1L, 2, 3], h.GetCheckpointSteps(mount.Path));
            Assert.Equal([1L, 2, 3], h.ListCheckpoints(mount.Path).Select(c => c.Step));
        }

        Assert.False(HasStepNumberIndex());
    }
}
