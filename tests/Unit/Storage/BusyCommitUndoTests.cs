using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A save whose index commit fails after its folder went in puts the previous state back and clears its intent
/// (StepCommit.Publish); where even that fails, the caller must still see the save's own error. Since a busy index is a
/// <see cref="TimeoutException"/> (BusyIndexTimeoutTests), the undo's RemoveIntent on the same held index fails with one too:
/// the undo's filter did not take it, so the undo's error replaced the commit's and the staging was not kept for recovery
/// (found by the attack on robust16). The errors are told apart by identity: two fresh-clone CI runs failed an
/// earlier form that looked for CommitStep in the stack trace, which tier-1 inlining drops in a long test process.
/// </summary>
public sealed class BusyCommitUndoTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Takes the index's write lock on a connection of its own at the save's first progress report (its data being written), once the save's intent is committed.</summary>
    private sealed class HoldIndexAtFirstProgress(string ck) : IProgress<CheckpointProgress>
    {
        public SqliteConnection? Holder { get; private set; }

        public void Report(CheckpointProgress value)
        {
            if (Holder is not null)
            {
                return;
            }

            Holder = new SqliteConnection($"Data Source={Path.Combine(ck, StepIndex.FileName)};Pooling=False");
            Holder.Open();

            // The overwrite's intent commits on a thread of its own while the data is written (round 40): taking the
            // write lock before it is in would fail the intent, not the commit this test is about. Wait for it.
            using var intents = Holder.CreateCommand();
            intents.CommandText = "SELECT count(*) FROM intents;";
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (Convert.ToInt64(intents.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the overwrite's intent was not committed within 60 s");
                Thread.Sleep(5);
            }

            using var cmd = Holder.CreateCommand();
            cmd.CommandText = "BEGIN IMMEDIATE; UPDATE steps SET pinned = pinned WHERE step = 1;";
            cmd.ExecuteNonQuery();
        }
    }

    [Fact]
    public void An_overwrite_whose_commit_and_undo_find_the_index_held_raises_the_commits_error_and_keeps_the_old_version()
    {
        var ck = _dir.Sub("ck");
        using (var h = new CheckpointHandler())
        {
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
        }

        var hold = new HoldIndexAtFirstProgress(ck);
        // The first TimeoutException this thread throws is the commit's (the index is held from the data's writing on);
        // the undo's RemoveIntent, on the same held index, would throw a second one. Told apart by identity, not by
        // stack frames, which the JIT's inlining drops (CommitStep vanished from the trace in fresh-clone CI runs).
        var thread = Environment.CurrentManagedThreadId;
        TimeoutException? first = null;
        void Record(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs args)
        {
            if (first is null && args.Exception is TimeoutException t && Environment.CurrentManagedThreadId == thread)
            {
                first = t;
            }
        }

        TimeoutException e;
        AppDomain.CurrentDomain.FirstChanceException += Record;
        try
        {
            using var h = new CheckpointHandler(new CheckpointOptions { IndexBusyTimeout = TimeSpan.FromSeconds(1), Progress = hold });
            e = Assert.Throws<TimeoutException>(() => h.Save(ck, new Dictionary<string, object?> { ["v"] = new float[100_000] }, step: 2, overwrite: true));
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Record;
        }

        hold.Holder!.Dispose();
        Assert.NotNull(first);
        Assert.True(ReferenceEquals(first, e), $"the save raised a later error than its first one; first: {first}{Environment.NewLine}raised: {e}");

        using var after = new CheckpointHandler();
        after.Save(ck, new Dictionary<string, object?> { ["v"] = 3 }, step: 3);
        Assert.Equal([1L, 2, 3], after.GetCheckpointSteps(ck));
        Assert.Equal(2, Assert.IsAssignableFrom<System.Collections.IDictionary>(after.Restore(ck, step: 2))["v"]);
    }
}
