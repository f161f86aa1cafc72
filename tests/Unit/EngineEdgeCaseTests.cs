using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests;

/// <summary>
/// Engine paths no other test reached (issue 13, missing coverage): missing-step errors of every
/// step-taking read, calls after Close, dry runs of Remove and RepairIndex, unpinning and overwriting
/// a pinned step, item patterns with ? and with no match, the lock timeout, progress callbacks and
/// one handler used from many threads.
/// </summary>
public sealed class EngineEdgeCaseTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public EngineEdgeCaseTests()
    {
        _ck = _dir.Sub("ck");
        foreach (var step in new long[] { 1, 2, 3 })
        {
            _handler.Save(_ck, new Dictionary<string, object?> { ["w1"] = new float[] { step, 2 }, ["w2"] = new float[] { 3, step }, ["bias"] = step }, step: step);
        }
    }

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    public static TheoryData<string> StepReads() => new() { "Verify", "GetItems", "CompareBefore", "CompareAfter", "RestoreMetadata", "Restore", "GetCheckpoint", "Remove", "SetPinned" };

    [Theory]
    [MemberData(nameof(StepReads))]
    public void A_missing_step_is_reported_with_the_step_and_the_steps_that_exist(string call)
    {
        Action act = call switch
        {
            "Verify" => () => _handler.Verify(_ck, 9),
            "GetItems" => () => _handler.GetItems(_ck, 9),
            "CompareBefore" => () => _handler.Compare(_ck, 9, 2),
            "CompareAfter" => () => _handler.Compare(_ck, 1, 9),
            "RestoreMetadata" => () => _handler.RestoreMetadata(_ck, 9),
            "Restore" => () => _handler.Restore(_ck, 9),
            "GetCheckpoint" => () => _handler.GetCheckpoint(_ck, 9),
            "Remove" => () => _handler.Remove(_ck, 9),
            _ => () => _handler.SetPinned(_ck, 9, true),
        };
        var e = Assert.Throws<StepNotFoundException>(act);
        Assert.Equal(9, e.Step);
        Assert.Equal("StepNotFound", e.ErrorId);
        Assert.Contains("9", e.Message, StringComparison.Ordinal);
        Assert.Equal(new long[] { 1, 2, 3 }, _handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_closed_handler_refuses_every_call()
    {
        var closed = new CheckpointHandler();
        closed.Close();
        Assert.Throws<ObjectDisposedException>(() => closed.Restore(_ck));
        Assert.Throws<ObjectDisposedException>(() => closed.GetCheckpointSteps(_ck));
        Assert.Throws<ObjectDisposedException>(() => closed.Verify(_ck, 1));
        Assert.Throws<ObjectDisposedException>(() => closed.Prune(_ck, new RetentionPolicy { Keep = 1 }));
        Assert.Throws<ObjectDisposedException>(() => closed.RepairIndex(_ck));
        closed.Close(); // a second close is harmless
        Assert.Equal(new long[] { 1, 2, 3 }, _handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_dry_run_remove_reports_the_step_and_changes_nothing()
    {
        var info = _handler.Remove(_ck, 2, dryRun: true);
        Assert.Equal(2, info.Step);
        Assert.Equal(new long[] { 1, 2, 3 }, _handler.GetCheckpointSteps(_ck));
        Assert.True(Directory.Exists(Path.Combine(_ck, "2")));
        Assert.True(_handler.Verify(_ck, 2).Ok);
    }

    [Fact]
    public void A_dry_run_repair_of_a_deleted_index_reports_the_steps_and_writes_no_index()
    {
        foreach (var f in Directory.GetFiles(_ck, "index.sqlite*"))
        {
            File.Delete(f);
        }

        var dry = _handler.RepairIndex(_ck, dryRun: true);
        Assert.True(dry.DryRun);
        Assert.Equal(new long[] { 1, 2, 3 }, dry.StepsAdded);
        Assert.Empty(Directory.GetFiles(_ck, "index.sqlite*"));
        var real = _handler.RepairIndex(_ck);
        Assert.False(real.DryRun);
        Assert.Equal(new long[] { 1, 2, 3 }, real.StepsIndexed);
    }

    [Fact]
    public void A_pinned_step_can_be_unpinned_and_then_pruned_and_an_overwrite_keeps_the_pin_rule()
    {
        _handler.SetPinned(_ck, 1, true);
        Assert.Empty(_handler.Prune(_ck, new RetentionPolicy { Keep = 2 }));
        Assert.True(_handler.GetCheckpoint(_ck, 1).Pinned);
        Assert.Throws<StepPinnedException>(() => _handler.Remove(_ck, 1));

        // Overwriting a pinned step replaces its data; whatever the engine does with the pin, the step
        // stays restorable and exactly the new data comes back.
        var overwritten = _handler.Save(_ck, new Dictionary<string, object?> { ["bias"] = 100L }, step: 1, overwrite: true);
        Assert.Equal(1, overwritten.Step);
        Assert.Equal(100L, ((Dictionary<string, object?>)_handler.Restore(_ck, 1)!)["bias"]);

        var unpinned = _handler.SetPinned(_ck, 1, false);
        Assert.False(unpinned.Pinned);
        Assert.False(_handler.GetCheckpoint(_ck, 1).Pinned);
        Assert.Equal(new long[] { 1 }, _handler.Prune(_ck, new RetentionPolicy { Keep = 2 }).Select(c => c.Step));
        Assert.Equal(new long[] { 2, 3 }, _handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void Item_patterns_match_one_character_with_a_question_mark_and_nothing_when_no_leaf_matches()
    {
        var two = Assert.IsAssignableFrom<System.Collections.IDictionary>(_handler.Restore(_ck, 3, ["w?"]));
        Assert.Equal(new[] { "w1", "w2" }, two.Keys.Cast<string>().Order(StringComparer.Ordinal));
        Assert.Equal(new float[] { 3, 2 }, (float[])two["w1"]!);
        var none = Assert.IsAssignableFrom<System.Collections.IDictionary>(_handler.Restore(_ck, 3, ["w?x", "nothing*"]));
        Assert.Empty(none);
    }

    [Fact]
    public void A_writer_waiting_longer_than_LockTimeout_fails_with_a_timeout_that_names_the_directory()
    {
        using var quick = new CheckpointHandler(new CheckpointOptions { LockTimeout = TimeSpan.FromMilliseconds(300) });
        using (DirectoryLock.Acquire(Path.GetFullPath(_ck), exclusive: true, TimeSpan.FromSeconds(5)))
        {
            var e = Assert.Throws<TimeoutException>(() => quick.Save(_ck, 1, step: 4));
            Assert.Contains(Path.GetFullPath(_ck), e.Message, StringComparison.Ordinal);
        }

        quick.Save(_ck, 1, step: 4);
        Assert.Equal(new long[] { 1, 2, 3, 4 }, quick.GetCheckpointSteps(_ck));
    }

    [Fact]
    public async Task One_handler_used_from_many_threads_saves_and_restores_every_step_exactly()
    {
        var ck = _dir.Sub("threads");
        await Task.WhenAll(Enumerable.Range(10, 16).Select(step => Task.Run(() =>
        {
            _handler.Save(ck, new Dictionary<string, object?> { ["w"] = Enumerable.Repeat((float)step, 1000).ToArray() }, step: step);
            var back = (Dictionary<string, object?>)_handler.Restore(ck, step)!;
            Assert.All((float[])back["w"]!, v => Assert.Equal(step, v));
        })));
        Assert.Equal(Enumerable.Range(10, 16).Select(i => (long)i), _handler.GetCheckpointSteps(ck));
    }

    private sealed class Recorder : IProgress<CheckpointProgress>
    {
        public List<CheckpointProgress> Reports { get; } = new();

        public void Report(CheckpointProgress value)
        {
            lock (Reports)
            {
                Reports.Add(value);
            }
        }
    }

    [Fact]
    public void Progress_callbacks_count_the_bytes_of_a_save_and_a_restore_up_to_the_total()
    {
        var recorder = new Recorder();
        using var h = new CheckpointHandler(new CheckpointOptions { Progress = recorder });
        var ck = _dir.Sub("progress");
        var w = new float[3_000_000]; // 12 MB: several chunks
        h.Save(ck, new Dictionary<string, object?> { ["w"] = w }, step: 5);
        _ = h.Restore(ck, 5);
        foreach (var operation in new[] { "Save", "Restore" })
        {
            var reports = recorder.Reports.Where(r => r.Operation == operation).ToList();
            Assert.NotEmpty(reports);
            Assert.All(reports, r => Assert.Equal(5, r.Step));
            Assert.All(reports, r => Assert.Equal(Path.GetFullPath(ck), r.Directory));
            Assert.All(reports, r => Assert.InRange(r.BytesDone, 0, r.BytesTotal));
            Assert.True(reports.Max(r => r.BytesTotal) >= 12_000_000, $"{operation} total {reports.Max(r => r.BytesTotal)}");
            Assert.Equal(reports[^1].BytesTotal, reports.Max(r => r.BytesDone));
        }
    }
}
