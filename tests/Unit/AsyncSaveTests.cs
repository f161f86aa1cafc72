using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests;

/// <summary>Asynchronous saves: copy-then-return, background order, failures never lost, readers wait.</summary>
public sealed class AsyncSaveTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public AsyncSaveTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private static CheckpointHandler AsyncHandler() => new(new CheckpointOptions { Async = true });

    [Fact]
    public void Changes_after_save_returns_do_not_leak_into_the_checkpoint()
    {
        var weights = new float[1 << 20];
        weights[0] = 1;
        using (var h = AsyncHandler())
        {
            var info = h.Save(_ck, new Dictionary<string, object?> { ["w"] = weights }, step: 3);
            Assert.Equal(3, info.Step);
            weights[0] = 2;
            h.WaitUntilFinished();
        }

        using var reader = new CheckpointHandler();
        Assert.Equal(1f, ((float[])((Dictionary<string, object?>)reader.Restore(_ck)!)["w"]!)[0]);
    }

    [Fact]
    public void Background_saves_run_in_order_and_retention_applies_to_each()
    {
        using var h = AsyncHandler();
        for (var s = 0; s < 6; s++)
        {
            h.Save(_ck, new Dictionary<string, object?> { ["s"] = s, ["w"] = new double[4096] }, keep: 2);
        }

        h.WaitUntilFinished();
        Assert.Equal(new long[] { 4, 5 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void Restore_and_listings_wait_for_pending_saves()
    {
        using var h = AsyncHandler();
        h.Save(_ck, new Dictionary<string, object?> { ["w"] = new float[8 << 20] }, step: 0);
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = "second" }, step: 1);
        Assert.Equal(new long[] { 0, 1 }, h.GetCheckpointSteps(_ck));
        Assert.Equal("second", ((Dictionary<string, object?>)h.Restore(_ck)!)["v"]);
    }

    private void BreakQueuedSave(CheckpointHandler h)
    {
        // The first save keeps the background busy while the second one's staging folder is taken away.
        h.Save(_ck, new Dictionary<string, object?> { ["w"] = new float[32 << 20] }, step: 0);
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        var staging = Directory.GetDirectories(Path.Combine(_ck, ".staging"), "1-*").Single();
        Directory.Delete(staging, recursive: true);
    }

    [Fact]
    public void A_background_failure_is_raised_by_wait_until_finished_and_the_store_stays_sound()
    {
        using var h = AsyncHandler();
        BreakQueuedSave(h);
        Assert.ThrowsAny<IOException>(h.WaitUntilFinished);
        h.WaitUntilFinished(); // raised once, not again
        Assert.Equal(new long[] { 0 }, h.GetCheckpointSteps(_ck));
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 1);
        h.WaitUntilFinished();
        Assert.Equal(new long[] { 0, 1 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_background_failure_is_raised_by_the_next_save()
    {
        using var h = AsyncHandler();
        BreakQueuedSave(h);
        Assert.True(SpinWait.SpinUntil(() => h.PendingSaves == 0, TimeSpan.FromMinutes(1)));
        Assert.ThrowsAny<IOException>(() => h.Save(_ck, 1, step: 2));
        h.WaitUntilFinished(); // raised once, not again
        Assert.Equal(new long[] { 0 }, h.GetCheckpointSteps(_ck)); // the save that raised it did not run
    }

    [Fact]
    public void A_read_that_waits_for_pending_saves_raises_their_failure()
    {
        using var h = AsyncHandler();
        BreakQueuedSave(h);
        Assert.ThrowsAny<IOException>(() => h.GetCheckpointSteps(_ck));
        Assert.Equal(new long[] { 0 }, h.GetCheckpointSteps(_ck)); // raised once; the store is sound
    }

    [Fact]
    public void A_restore_that_waits_for_pending_saves_raises_their_failure()
    {
        using var h = AsyncHandler();
        BreakQueuedSave(h);
        Assert.ThrowsAny<IOException>(() => h.Restore(_ck, step: 0));
        Assert.IsType<float[]>(((Dictionary<string, object?>)h.Restore(_ck, step: 0)!)["w"]);
    }

    private static async Task<bool> Finishes(Task task, TimeSpan within) => await Task.WhenAny(task, Task.Delay(within)) == task;

    /// <summary>A log that stalls the background writer when it starts writing <paramref name="step"/>, until released.</summary>
    private sealed class StallingLog : IDisposable
    {
        private readonly string _writing;
        private readonly string? _reserved;

        public StallingLog(long writingStep, long? reservedStep = null)
        {
            _writing = $"Writing step {writingStep}:";
            _reserved = reservedStep is long r ? $"Reserved step {r} " : null;
        }

        public ManualResetEventSlim Reached { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public void Write(string line)
        {
            if (line.StartsWith(_writing, StringComparison.Ordinal) || (_reserved is not null && line.StartsWith(_reserved, StringComparison.Ordinal)))
            {
                Reached.Set();
                Assert.True(Release.Wait(TimeSpan.FromMinutes(1)), "the test never released the stalled operation");
            }
        }

        public void Dispose()
        {
            Release.Set();
            Reached.Dispose();
            Release.Dispose();
        }
    }

    [Fact]
    public void Every_background_failure_is_kept_and_raised_together()
    {
        using var log = new StallingLog(0);
        using var h = new CheckpointHandler(new CheckpointOptions { Async = true, Log = log.Write, MaxPendingSaves = 8 });
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 0 }, step: 0);
        Assert.True(log.Reached.Wait(TimeSpan.FromSeconds(30)));
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
        foreach (var staging in Directory.GetDirectories(Path.Combine(_ck, ".staging")).Where(d => Path.GetFileName(d)[0] is '1' or '2'))
        {
            Directory.Delete(staging, recursive: true);
        }

        log.Release.Set();
        var all = Assert.Throws<AggregateException>(h.WaitUntilFinished);
        Assert.Equal(2, all.InnerExceptions.Count);
        Assert.All(all.InnerExceptions, e => Assert.IsAssignableFrom<IOException>(e));
        Assert.Contains("2 background saves failed", all.Message, StringComparison.Ordinal);
        h.WaitUntilFinished(); // raised once, not again
        Assert.Equal(new long[] { 0 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public async Task A_save_beyond_the_pending_count_waits_until_a_background_save_finishes()
    {
        using var log = new StallingLog(0);
        using var h = new CheckpointHandler(new CheckpointOptions { Async = true, Log = log.Write, MaxPendingSaves = 2 });
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 0 }, step: 0);
        Assert.True(log.Reached.Wait(TimeSpan.FromSeconds(30)));
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);

        var third = Task.Run(() => h.Save(_ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 2));
        Assert.False(await Finishes(third, TimeSpan.FromMilliseconds(500)), "a third save was queued beyond MaxPendingSaves = 2");
        Assert.False(Directory.Exists(Path.Combine(_ck, ".staging")) && Directory.GetDirectories(Path.Combine(_ck, ".staging"), "2-*").Length > 0,
            "the waiting save already reserved its step");

        log.Release.Set();
        Assert.True(await Finishes(third, TimeSpan.FromSeconds(30)), "the third save never got room");
        Assert.Equal(2, (await third).Step);
        h.WaitUntilFinished();
        Assert.Equal(new long[] { 0, 1, 2 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public async Task A_save_beyond_the_pending_bytes_waits_and_a_single_larger_save_still_goes_through()
    {
        using var log = new StallingLog(0);
        const long limit = 6 << 20;
        using var h = new CheckpointHandler(new CheckpointOptions { Async = true, Log = log.Write, MaxPendingSaves = 8, MaxPendingBytes = limit });
        h.Save(_ck, new Dictionary<string, object?> { ["w"] = new byte[4 << 20] }, step: 0);
        Assert.True(log.Reached.Wait(TimeSpan.FromSeconds(30)));

        var second = Task.Run(() => h.Save(_ck, new Dictionary<string, object?> { ["w"] = new byte[4 << 20] }, step: 1));
        Assert.False(await Finishes(second, TimeSpan.FromMilliseconds(500)), "8 MiB were queued beyond MaxPendingBytes = 6 MiB");
        log.Release.Set();
        Assert.True(await Finishes(second, TimeSpan.FromSeconds(30)));

        // Alone in the queue, a save larger than the limit is not refused (it would never fit).
        h.WaitUntilFinished();
        h.Save(_ck, new Dictionary<string, object?> { ["w"] = new byte[8 << 20] }, step: 2);
        h.WaitUntilFinished();
        Assert.Equal(new long[] { 0, 1, 2 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void Pending_limits_below_one_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CheckpointHandler(new CheckpointOptions { Async = true, MaxPendingSaves = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CheckpointHandler(new CheckpointOptions { Async = true, MaxPendingBytes = 0 }));
    }

    [Fact]
    public async Task A_save_racing_close_is_refused_and_never_runs_after_close_returned()
    {
        using var log = new StallingLog(writingStep: -1, reservedStep: 5);
        var h = new CheckpointHandler(new CheckpointOptions { Async = true, Log = log.Write });
        var save = Task.Run(() => h.Save(_ck, new Dictionary<string, object?> { ["v"] = 5 }, step: 5));
        Assert.True(log.Reached.Wait(TimeSpan.FromSeconds(30)), "the save never reserved its step");

        // Close returns while the save is between its checks and its queueing.
        Assert.True(await Finishes(Task.Run(h.Close), TimeSpan.FromSeconds(30)), "Close waited for a save that was not queued");
        log.Release.Set();
        var error = await Assert.ThrowsAsync<ObjectDisposedException>(() => save);
        Assert.Contains("closed", error.Message, StringComparison.Ordinal);

        await Task.Delay(300);
        using var reader = new CheckpointHandler();
        Assert.Empty(reader.GetCheckpointSteps(_ck));
        Assert.Empty(Directory.Exists(Path.Combine(_ck, ".staging")) ? Directory.GetFileSystemEntries(Path.Combine(_ck, ".staging")) : []);
    }

    [Fact]
    public async Task A_save_waiting_for_room_when_the_handler_closes_is_refused()
    {
        using var log = new StallingLog(0);
        var h = new CheckpointHandler(new CheckpointOptions { Async = true, Log = log.Write, MaxPendingSaves = 1 });
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 0 }, step: 0);
        Assert.True(log.Reached.Wait(TimeSpan.FromSeconds(30)));
        var waiting = Task.Run(() => h.Save(_ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1));
        Assert.False(await Finishes(waiting, TimeSpan.FromMilliseconds(300)));

        var close = Task.Run(h.Close);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting);
        log.Release.Set();
        Assert.True(await Finishes(close, TimeSpan.FromSeconds(30)));
        using var reader = new CheckpointHandler();
        Assert.Equal(new long[] { 0 }, reader.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_background_failure_is_raised_by_close()
    {
        var h = AsyncHandler();
        BreakQueuedSave(h);
        Assert.ThrowsAny<IOException>(h.Close);
    }

    [Fact]
    public void Unsupported_values_are_refused_synchronously_even_when_async()
    {
        using var h = AsyncHandler();
        Assert.Throws<UnsupportedValueException>(() => h.Save(_ck, new Dictionary<string, object?> { ["f"] = new object() }));
        Assert.False(Directory.Exists(_ck));
    }
}
