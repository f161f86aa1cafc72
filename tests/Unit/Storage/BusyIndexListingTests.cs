using System.Diagnostics;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A listing while another connection holds the index file's lock (Get-Checkpoint while something else has the file
/// locked) waits it out with the index's busy timeout and lists every step; it neither fails at once nor hangs.
/// </summary>
/// <remarks>
/// How the lock is held matters (an earlier draft of this test hung, in the test, not the engine): a connection in WAL
/// mode keeps a SHARED lock on the file while open, so no other connection can take the EXCLUSIVE lock while the
/// engine's own index connection is open; and Microsoft.Data.Sqlite's command timeout of 0 means "retry a busy
/// statement forever", so a probe with <c>Default Timeout=0</c> that met the lock never returned. Here the lock is
/// taken while no engine connection is open (the listing), or on an index in rollback-journal mode, where idle
/// connections hold no lock (the scan connection); the probe is a raw SQLite connection with no busy handler, which
/// returns SQLITE_BUSY at once; and every engine call runs under a deadline, so a hang fails instead of hanging.
/// </remarks>
public sealed class BusyIndexListingTests : IDisposable
{
    private static readonly TimeSpan Held = TimeSpan.FromMilliseconds(1500);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(50);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Store()
    {
        var ck = _dir.Sub("ck");
        using var h = new CheckpointHandler();
        for (var s = 1; s <= 3; s++)
        {
            h.Save(ck, new Dictionary<string, object?> { ["v"] = s }, step: s);
        }

        return ck;
    }

    /// <summary>
    /// Takes the index file's EXCLUSIVE lock on a connection of its own (in WAL mode, only possible while no other
    /// connection has the file open), checks that a reader with no busy handler is refused, and returns a thread that
    /// commits and closes it <see cref="Held"/> later.
    /// </summary>
    private static Thread HoldLock(string ck, bool walExclusive)
    {
        var file = Path.Combine(ck, StepIndex.FileName);
        var holder = new SqliteConnection($"Data Source={file};Pooling=False;Default Timeout=5");
        holder.Open();
        using (var cmd = holder.CreateCommand())
        {
            cmd.CommandText = (walExclusive ? "PRAGMA locking_mode = EXCLUSIVE; " : string.Empty)
                + "BEGIN EXCLUSIVE; UPDATE steps SET pinned = pinned WHERE step = 1;";
            cmd.ExecuteNonQuery();
        }

        // A raw connection has no busy handler: a held lock is SQLITE_BUSY at once (never Microsoft.Data.Sqlite's
        // retry loop, which a command timeout of 0 makes endless).
        Assert.Equal(raw.SQLITE_OK, raw.sqlite3_open_v2(file, out var probe, raw.SQLITE_OPEN_READONLY, null));
        using (probe)
        {
            Assert.Equal(raw.SQLITE_BUSY, raw.sqlite3_exec(probe, "SELECT count(*) FROM steps;"));
        }

        var release = new Thread(() =>
        {
            Thread.Sleep(Held);
            using (holder)
            using (var cmd = holder.CreateCommand())
            {
                cmd.CommandText = "COMMIT;";
                cmd.ExecuteNonQuery();
            }
        }) { IsBackground = true };
        release.Start();
        return release;
    }

    /// <summary>Runs <paramref name="call"/> on a thread of its own and fails the test if it has not returned by the deadline.</summary>
    private static T WithinDeadline<T>(Func<T> call)
    {
        var run = Task.Factory.StartNew(call, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(run.Wait(Deadline), $"still running after {Deadline} with the lock released after {Held}: a hang");
        return run.Result;
    }

    [Fact]
    public void A_listing_of_a_busy_index_waits_for_it_and_lists_every_step()
    {
        var ck = Store();
        using var h = new CheckpointHandler();
        Assert.Equal(new long[] { 1, 2, 3 }, h.ListCheckpoints(ck).Select(c => c.Step));
        var release = HoldLock(ck, walExclusive: true);
        var clock = Stopwatch.StartNew();
        var listed = WithinDeadline(() => h.ListCheckpoints(ck).Select(c => c.Step).ToArray());
        Assert.Equal(new long[] { 1, 2, 3 }, listed);
        Assert.True(clock.Elapsed >= Held - TimeSpan.FromMilliseconds(300), $"listed after {clock.Elapsed}, before the lock was released: it was not busy");
        Assert.True(release.Join(Deadline));
    }

    [Fact]
    public void A_scan_connection_opened_on_a_busy_index_waits_for_it_and_sets_its_cache()
    {
        var ck = Store();
        // Rollback-journal mode: the index's own open connection holds no lock between statements, so another one can
        // hold the file's lock while the index is open and the scan connection's first read meets it.
        using (var convert = new SqliteConnection($"Data Source={Path.Combine(ck, StepIndex.FileName)};Pooling=False"))
        {
            convert.Open();
            using var cmd = convert.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode = DELETE;";
            Assert.Equal("delete", (string)cmd.ExecuteScalar()!);
        }

        using var index = StepIndex.Open(ck, create: false, upgrade: false);
        var release = HoldLock(ck, walExclusive: false);
        var clock = Stopwatch.StartNew();
        var scan = WithinDeadline(index.OpenScanConnection);
        var waited = clock.Elapsed;
        Assert.NotNull(scan);
        using (scan)
        {
            Assert.True(waited >= Held - TimeSpan.FromMilliseconds(300), $"returned after {waited}, before the lock was released");
            Assert.Equal(raw.SQLITE_OK, raw.sqlite3_prepare_v2(scan, "PRAGMA cache_size;", out var statement));
            using (statement)
            {
                Assert.Equal(raw.SQLITE_ROW, raw.sqlite3_step(statement));
                Assert.Equal(32, raw.sqlite3_column_int64(statement, 0));
            }
        }

        Assert.True(release.Join(Deadline));
        using var h = new CheckpointHandler();
        Assert.Equal(new long[] { 1, 2, 3 }, h.ListCheckpoints(ck).Select(c => c.Step));
    }
}
