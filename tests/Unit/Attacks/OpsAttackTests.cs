using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>Hostile review of the issue 9 operations change: dead ends and hangs a user could hit.</summary>
public sealed class OpsAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public OpsAttackTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, object?> State(int v) => new() { ["v"] = v, ["w"] = new float[] { v, v } };

    [Fact]
    public void Saves_keep_working_while_a_failed_retention_cannot_finish_removing_its_steps()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: 1);
        h.Save(_ck, State(2), step: 2);
        File.WriteAllText(Path.Combine(_ck, ".trash"), "in the way");
        Assert.Throws<RetentionFailedException>(() => h.Save(_ck, State(3), step: 3, keep: 1));

        // The cause is still there: a training loop must still be able to save its next checkpoints.
        h.Save(_ck, State(4), step: 4);
        h.Save(_ck, State(5));
        Assert.Equal(new long[] { 3, 4, 5 }, h.GetCheckpointSteps(_ck));
        Assert.Equal(5, ((Dictionary<string, object?>)h.Restore(_ck)!)["v"]);

        // Once the cause is gone, the removal finishes and nothing that is listed was lost.
        File.Delete(Path.Combine(_ck, ".trash"));
        h.Save(_ck, State(6), step: 6);
        Assert.Equal(new long[] { 3, 4, 5, 6 }, h.GetCheckpointSteps(_ck));
        Assert.False(Directory.Exists(Path.Combine(_ck, "1")));
        Assert.False(Directory.Exists(Path.Combine(_ck, "2")));
    }

    [Fact]
    public void A_repair_while_a_removal_cannot_finish_never_lists_a_step_whose_folder_is_then_removed()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: 1);
        File.WriteAllText(Path.Combine(_ck, ".trash"), "in the way");
        Assert.Throws<RetentionFailedException>(() => h.Save(_ck, State(2), step: 2, keep: 1));
        h.RepairIndex(_ck);

        File.Delete(Path.Combine(_ck, ".trash"));
        h.Save(_ck, State(3), step: 3);

        // Whatever is listed restores: repair must not list a step whose removal then completes.
        foreach (var step in h.GetCheckpointSteps(_ck))
        {
            Assert.Equal((int)step, ((Dictionary<string, object?>)h.Restore(_ck, step: step)!)["v"]);
        }

        Assert.Equal(new long[] { 2, 3 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public async Task A_log_callback_that_lists_the_directory_during_an_async_save_does_not_hang()
    {
        CheckpointHandler? h = null;
        var listed = new List<int>();
        void OnLog(string line)
        {
            if (line.StartsWith("Published step", StringComparison.Ordinal))
            {
                listed.Add(h!.GetCheckpointSteps(_ck).Count);
            }
        }

        h = new CheckpointHandler(new CheckpointOptions { Async = true, Log = OnLog });
        var run = Task.Run(() =>
        {
            h.Save(_ck, State(1), step: 1);
            h.WaitUntilFinished();
        });
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(finished == run, "a log callback that reads the directory deadlocked the async save");
        await run;
        Assert.Single(listed);
        h.Dispose();
    }

    [Fact]
    public void A_log_callback_that_restores_during_a_save_does_not_wait_for_its_own_lock()
    {
        CheckpointHandler? h = null;
        var restored = new List<object?>();
        void OnLog(string line)
        {
            if (line.StartsWith("Published step 2", StringComparison.Ordinal))
            {
                restored.Add(((Dictionary<string, object?>)h!.Restore(_ck, step: 1)!)["v"]);
            }
        }

        h = new CheckpointHandler(new CheckpointOptions { Log = OnLog, LockTimeout = TimeSpan.FromSeconds(5) });
        h.Save(_ck, State(1), step: 1);
        h.Save(_ck, State(2), step: 2);
        Assert.Equal(new object?[] { 1 }, restored);
        h.Dispose();
    }
    [Fact]
    public async Task A_reader_that_may_only_read_lists_and_restores_correctly_while_a_writer_saves_and_prunes()
    {
        using (var seed = new CheckpointHandler())
        {
            seed.Save(_ck, State(0), step: 0);
        }

        using var writer = new CheckpointHandler();
        using var reader = new CheckpointHandler(new CheckpointOptions { SimulatedDenial = SimulatedDenial.AccessDenied });
        var writing = Task.Run(() =>
        {
            for (var i = 1; i <= 150; i++)
            {
                writer.Save(_ck, State(i), step: i, keep: 2);
            }
        });

        var failures = new List<string>();
        var reads = 0;
        while (!writing.IsCompleted)
        {
            try
            {
                var steps = reader.GetCheckpointSteps(_ck);
                Assert.NotEmpty(steps);
                var latest = steps[^1];
                try
                {
                    Assert.Equal((int)latest, ((Dictionary<string, object?>)reader.Restore(_ck, step: latest)!)["v"]);
                }
                catch (StepNotFoundException)
                {
                    // Pruned between the listing and the restore: a clear answer, not garbage.
                }

                reads++;
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                failures.Add($"{e.GetType().Name}: {e.Message}");
            }
        }

        await writing;
        Assert.True(reads > 0, "the reader never ran while the writer was saving");
        Assert.Empty(failures);
    }
    [Fact]
    public async Task A_reader_that_may_only_read_lists_a_large_index_correctly_while_a_writer_grows_it()
    {
        using var writer = new CheckpointHandler();
        using var reader = new CheckpointHandler(new CheckpointOptions { SimulatedDenial = SimulatedDenial.AccessDenied });
        var note = new string('n', 8000);
        for (var i = 0; i < 50; i++)
        {
            writer.Save(_ck, State(i), step: i, metadata: new Dictionary<string, object?> { ["note"] = note + i });
        }

        var writing = Task.Run(() =>
        {
            for (var i = 50; i < 400; i++)
            {
                writer.Save(_ck, State(i), step: i, metadata: new Dictionary<string, object?> { ["note"] = note + i });
            }
        });

        var failures = new List<string>();
        var last = 0;
        while (!writing.IsCompleted)
        {
            try
            {
                var listed = reader.ListCheckpoints(_ck);
                var steps = listed.Select(c => c.Step).ToList();
                Assert.Equal(Enumerable.Range(0, steps.Count).Select(i => (long)i), steps);
                Assert.True(steps.Count >= last, $"the listing went back from {last} to {steps.Count} steps");
                Assert.All(listed, c => Assert.Equal(note + c.Step, c.Metadata["note"]));
                last = steps.Count;
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                failures.Add($"{e.GetType().Name}: {e.Message}");
            }
        }

        await writing;
        Assert.Empty(failures);
    }
    [Fact]
    public async Task Close_racing_saves_from_many_threads_keeps_exactly_the_saves_that_returned_a_record()
    {
        var h = new CheckpointHandler(new CheckpointOptions { Async = true, MaxPendingSaves = 2 });
        var returned = new System.Collections.Concurrent.ConcurrentBag<long>();
        var refused = 0;
        var other = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        using var go = new ManualResetEventSlim();
        var savers = Enumerable.Range(0, 6).Select(t => Task.Run(() =>
        {
            go.Wait();
            for (var i = 0; i < 40; i++)
            {
                try
                {
                    returned.Add(h.Save(_ck, State((t * 100) + i)).Step);
                }
                catch (ObjectDisposedException)
                {
                    Interlocked.Increment(ref refused);
                    return;
                }
                catch (Exception e)
                {
                    other.Add(e);
                    return;
                }
            }
        })).ToArray();

        go.Set();
        await Task.Delay(300);
        var closing = Task.Run(h.Close);
        var all = Task.WhenAll(savers.Append(closing));
        Assert.True(await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(60))) == all, "Close racing saves hung");
        Assert.Empty(other);

        using var check = new CheckpointHandler();
        var listed = check.GetCheckpointSteps(_ck);
        Assert.Equal(returned.Order(), listed);
        Assert.Equal(listed.Count, listed.Distinct().Count());
        foreach (var step in listed)
        {
            Assert.NotNull(check.Restore(_ck, step: step));
        }

        // No refused save left a reservation behind that blocks the step numbers after the last one.
        check.Save(_ck, State(-1));
        Assert.Equal(listed.Count + 1, check.GetCheckpointSteps(_ck).Count);
    }
    [Fact]
    public async Task An_async_save_after_a_background_retention_failure_is_saved_and_never_reported_with_that_failure()
    {
        using (var seed = new CheckpointHandler())
        {
            seed.Save(_ck, State(1), step: 1);
        }

        File.WriteAllText(Path.Combine(_ck, ".trash"), "in the way");
        using var h = new CheckpointHandler(new CheckpointOptions { Async = true });
        h.Save(_ck, State(2), step: 2, keep: 1);
        while (h.PendingSaves > 0)
        {
            await Task.Delay(10);
        }

        // A caller told "RetentionFailed: the step was saved" treats its save as done: it must be.
        try
        {
            h.Save(_ck, State(3), step: 3);
        }
        catch (RetentionFailedException e)
        {
            Assert.Equal(3, e.Checkpoint.Step);
        }

        var failure = Record.Exception(h.WaitUntilFinished);
        Assert.Contains(3L, h.GetCheckpointSteps(_ck));
        var retention = Assert.IsType<RetentionFailedException>(failure);
        Assert.Equal(2, retention.Checkpoint.Step);
    }
}
