using System.Diagnostics;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// An index another connection holds for the whole busy timeout (a program with a transaction open on it, a save,
/// prune or repair of another process that does not end): the reader or writer gives up with a
/// <see cref="TimeoutException"/> (shown by the cmdlets as <c>LockTimeout</c>, ResourceBusy) naming the checkpoint
/// directory, the index, who holds it and what to do, with SQLite's error inside; it surfaced as SQLite's bare
/// "database is locked" (SQLITE_BUSY), which the cmdlets showed as <c>IndexUnavailable</c>. The wait is 60 s; these
/// tests set it to one second through the options' internal seam (<c>IndexBusyTimeout</c>).
/// </summary>
public sealed class BusyIndexTimeoutTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(1);
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public BusyIndexTimeoutTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private CheckpointHandler Handler() => new(new CheckpointOptions { IndexBusyTimeout = Wait });

    /// <summary>
    /// Saves steps 1 to 3 and takes the index's EXCLUSIVE lock on a connection of its own (possible in WAL mode only while
    /// no other connection has the file open: the handler's connections are closed between calls).
    /// </summary>
    private SqliteConnection HeldIndex()
    {
        using (var h = new CheckpointHandler())
        {
            for (var s = 1; s <= 3; s++)
            {
                h.Save(_ck, new Dictionary<string, object?> { ["v"] = s }, step: s);
            }
        }

        var holder = new SqliteConnection($"Data Source={Path.Combine(_ck, StepIndex.FileName)};Pooling=False;Default Timeout=5");
        holder.Open();
        using var cmd = holder.CreateCommand();
        cmd.CommandText = "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; UPDATE steps SET pinned = pinned WHERE step = 1;";
        cmd.ExecuteNonQuery();
        return holder;
    }

    private void AssertExplained(Action call)
    {
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<TimeoutException>(call);
        // The seam's wait, not the 60 s one (nor SQLite's answer at once).
        Assert.InRange(clock.Elapsed, Wait - TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(30));
        Assert.Contains($"'{_ck}'", e.Message, StringComparison.Ordinal);
        Assert.Contains(StepIndex.FileName, e.Message, StringComparison.Ordinal);
        Assert.Contains("another process", e.Message, StringComparison.Ordinal);
        Assert.Contains("Retry", e.Message, StringComparison.Ordinal);
        var sqlite = Assert.IsType<SqliteException>(e.InnerException);
        Assert.Equal(5, sqlite.SqliteErrorCode & 0xFF);
    }

    [Fact]
    public void A_listing_of_an_index_held_for_the_whole_wait_fails_with_a_timeout_naming_the_directory_and_what_to_do()
    {
        using var holder = HeldIndex();
        using var h = Handler();
        AssertExplained(() => h.ListCheckpoints(_ck));
        AssertExplained(() => h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_save_and_a_prune_of_an_index_held_for_the_whole_wait_fail_with_the_same_timeout_and_change_nothing()
    {
        using (var holder = HeldIndex())
        using (var h = Handler())
        {
            AssertExplained(() => h.Save(_ck, new Dictionary<string, object?> { ["v"] = 4 }, step: 4));
            AssertExplained(() => h.Prune(_ck, new RetentionPolicy { Keep = 1 }));
        }

        using var after = new CheckpointHandler();
        Assert.Equal([1L, 2, 3], after.GetCheckpointSteps(_ck));
    }
}
