using System.Diagnostics;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A repair moves the damaged index, its -wal and -shm aside and renames a rebuilt index in. Readers take no lock:
/// one that opened the old main file before it was moved opens its -wal and -shm by path on its first query, so
/// they can appear again after the repair looked. A -wal with frames beside the rebuilt index would be replayed
/// into it by SQLite on the next open (integrity_check ok, the steps table gone: every step unlisted). Found by
/// the attack on index repair (/tmp/sia-probe/wal).
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class RepairLogBesideIndexTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public RepairLogBesideIndexTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private string IndexPath => Path.Combine(_ck, StepIndex.FileName);

    private void Seed()
    {
        using var h = new CheckpointHandler();
        foreach (var s in new long[] { 1, 2, 3 })
        {
            h.Save(_ck, new Dictionary<string, object?> { ["n"] = s }, step: s);
        }
    }

    /// <summary>A write-ahead log with committed frames of another database (same page size) that rewrites its schema page.</summary>
    private byte[] ForeignWal()
    {
        var other = Path.Combine(Directory.CreateDirectory(_dir.Sub("other")).FullName, "other.sqlite");
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = other, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t(x); INSERT INTO t VALUES ('stale');";
        cmd.ExecuteNonQuery();
        var wal = File.ReadAllBytes(other + "-wal");
        Assert.True(wal.Length > 32, "the test could not capture a write-ahead log with frames");
        return wal;
    }

    [Fact]
    public async Task A_foreign_wal_appearing_after_the_repair_set_the_index_aside_is_moved_aside_and_every_step_stays_listed()
    {
        Seed();
        var wal = ForeignWal();
        File.WriteAllBytes(IndexPath, new byte[4096]); // a damaged index
        foreach (var side in new[] { "-wal", "-shm" })
        {
            File.Delete(IndexPath + side);
        }

        // The repair stops for 4 s once the old index is aside and the rebuilt one is complete, before renaming it in.
        using var child = Harness.Start("repair.before-index-move-in=delay:4000", "repair", _ck);
        var output = child.StandardOutput.ReadToEndAsync();
        var errors = child.StandardError.ReadToEndAsync();
        // At the point: the old index aside, the rebuilt one closed (its log gone), still for a while (no rebuild going on).
        bool AtThePoint() => Directory.GetFiles(_ck, "index.sqlite.damaged-*").Length > 0 && !File.Exists(IndexPath)
            && File.Exists(IndexPath + ".rebuild") && !File.Exists(IndexPath + ".rebuild-wal") && !File.Exists(IndexPath + ".rebuild-journal");
        var clock = Stopwatch.StartNew();
        while (!(AtThePoint() && Pause() && AtThePoint()) && !child.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            Thread.Sleep(2);
        }

        if (child.HasExited)
        {
            Assert.Fail("the repair ended before the index was aside: " + await output + await errors);
        }

        Assert.True(File.Exists(IndexPath + ".rebuild"), "the rebuilt index is not complete beside the index: " + string.Join(" ", Directory.GetFiles(_ck).Select(Path.GetFileName)) + " after " + clock.Elapsed);
        // What a reader of the old index, killed after writing frames, would leave: a log with frames at the path.
        File.WriteAllBytes(IndexPath + "-wal", wal);
        Assert.True(child.WaitForExit(TimeSpan.FromMinutes(2)), "the repair did not finish");
        var said = await output + await errors;
        Assert.True(child.ExitCode == 0, said);

        SqliteConnection.ClearAllPools();
        using var h = new CheckpointHandler();
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
        Assert.Contains(Directory.GetFiles(_ck, "index.sqlite.damaged-*-wal"), f => File.ReadAllBytes(f).SequenceEqual(wal));
        Assert.False(File.Exists(IndexPath + "-wal") && new FileInfo(IndexPath + "-wal").Length > 0);
        Assert.Empty(h.RepairIndex(_ck).Problems);
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_repair_of_a_lost_index_sets_the_orphaned_log_aside_before_creating_the_new_index()
    {
        Seed();
        var wal = ForeignWal();
        SqliteConnection.ClearAllPools();
        // What a repair killed after moving the main file aside leaves: no main file, a log with frames at the path.
        File.Move(IndexPath, IndexPath + ".damaged-test");
        File.Delete(IndexPath + "-shm");
        File.WriteAllBytes(IndexPath + "-wal", wal);

        using var h = new CheckpointHandler();
        h.RepairIndex(_ck);
        SqliteConnection.ClearAllPools();
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
        Assert.Contains(Directory.GetFiles(_ck, "index.sqlite.damaged-*-wal"), f => File.ReadAllBytes(f).SequenceEqual(wal));
        // Nothing of the stale log was replayed into the new index (before: its table was there).
        Assert.Equal(0L, new IndexFile(IndexPath).Scalar("SELECT count(*) FROM sqlite_master WHERE name = 't';"));
        Assert.Empty(h.RepairIndex(_ck, dryRun: true).Problems);
    }

    private static bool Pause()
    {
        Thread.Sleep(300);
        return true;
    }

    [Fact]
    public void A_reader_of_the_old_index_that_closes_after_the_repair_deletes_nothing_the_rebuilt_index_needs()
    {
        Seed();
        new IndexFile(IndexPath).Execute("UPDATE steps SET save_id = 'bad' WHERE step = 2;"); // repair rebuilds and swaps the file

        // A reader that opened the old main file before the repair moved it, and queries only after: SQLite then
        // opens (creates) -wal and -shm by path beside the rebuilt index. Its file was moved, so its close deletes nothing:
        // the rebuilt index's own last connection (the listing below) checkpoints and deletes them.
        using var stale = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = IndexPath, Pooling = false }.ToString());
        stale.Open();
        using (var h = new CheckpointHandler())
        {
            h.RepairIndex(_ck);
            Assert.Empty(Directory.GetFiles(_ck, "index.sqlite.rebuild*"));
            Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
        }

        using (var cmd = stale.CreateCommand())
        {
            cmd.CommandText = "SELECT count(*) FROM steps;";
            Assert.Equal(3L, (long)cmd.ExecuteScalar()!);
        }

        Assert.True(File.Exists(IndexPath + "-wal"), "the stale reader did not open a log beside the rebuilt index");
        using (var h = new CheckpointHandler())
        {
            Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
        }

        Assert.False(File.Exists(IndexPath + "-wal"), "the rebuilt index's last connection left its log");
        stale.Close(); // the old file moved (SQLITE_FCNTL_HAS_MOVED): no checkpoint, no deletion by path
        Assert.False(File.Exists(IndexPath + "-wal"));

        // The rebuilt index was whole in its main file when renamed in: nothing was lost with its log.
        using (var h = new CheckpointHandler())
        {
            Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
            h.Save(_ck, new Dictionary<string, object?> { ["n"] = 4L }, step: 4);
        }

        SqliteConnection.ClearAllPools();
        using (var h = new CheckpointHandler())
        {
            Assert.Equal(new long[] { 1, 2, 3, 4 }, h.GetCheckpointSteps(_ck));
            Assert.Empty(h.RepairIndex(_ck, dryRun: true).Problems);
        }
    }

    [Fact]
    public void A_reader_of_the_old_index_closing_last_leaves_the_log_a_writer_of_the_rebuilt_index_committed_to()
    {
        Seed();
        new IndexFile(IndexPath).Execute("UPDATE steps SET save_id = 'bad' WHERE step = 2;"); // repair rebuilds and swaps the file

        // Opened on the old main file before the repair moved it; its first query comes after the rebuilt index is in.
        using var stale = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = IndexPath, Pooling = false }.ToString());
        stale.Open();
        using (var h = new CheckpointHandler())
        {
            h.RepairIndex(_ck);
        }

        using var staleQuery = stale.CreateCommand();
        staleQuery.CommandText = "SELECT count(*) FROM steps;";
        Assert.Equal(3L, (long)staleQuery.ExecuteScalar()!);
        Assert.True(File.Exists(IndexPath + "-wal"), "the stale reader did not open a log beside the rebuilt index");

        // A writer of the rebuilt index commits into the log and stays connected (a kill before its close leaves
        // its commit in the log alone).
        using var writer = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = IndexPath, Pooling = false }.ToString());
        writer.Open();
        using (var cmd = writer.CreateCommand())
        {
            cmd.CommandText = "UPDATE steps SET pinned = 1 WHERE step = 3;";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }

        var log = File.ReadAllBytes(IndexPath + "-wal");
        Assert.True(log.Length > 32, "the writer's commit is not in the log");

        // The stale reader closes: its file was moved (SQLITE_FCNTL_HAS_MOVED compares the path's inode), so SQLite
        // neither checkpoints into the old file nor deletes -wal or -shm by path.
        stale.Close();
        Assert.True(File.Exists(IndexPath + "-shm"), "the stale reader's close deleted the rebuilt index's shared memory");
        Assert.Equal(log, File.ReadAllBytes(IndexPath + "-wal"));

        // What a kill of the writer now would leave: the main file and its log, the commit in the log alone.
        var copy = Directory.CreateDirectory(_dir.Sub("copy")).FullName;
        File.Copy(IndexPath, Path.Combine(copy, StepIndex.FileName));
        File.Copy(IndexPath + "-wal", Path.Combine(copy, StepIndex.FileName + "-wal"));
        Assert.Equal(1L, new IndexFile(Path.Combine(copy, StepIndex.FileName)).Scalar("SELECT pinned FROM steps WHERE step = 3;"));
        writer.Close();
        SqliteConnection.ClearAllPools();
        using (var h = new CheckpointHandler())
        {
            Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
            Assert.Empty(h.RepairIndex(_ck, dryRun: true).Problems);
        }
    }

    [Fact]
    public void A_reader_of_the_old_index_closing_alone_after_the_repair_deletes_no_log_by_path()
    {
        Seed();
        new IndexFile(IndexPath).Execute("UPDATE steps SET save_id = 'bad' WHERE step = 2;");
        using var stale = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = IndexPath, Pooling = false }.ToString());
        stale.Open();
        using (var h = new CheckpointHandler())
        {
            h.RepairIndex(_ck);
        }

        using (var cmd = stale.CreateCommand())
        {
            cmd.CommandText = "SELECT count(*) FROM steps;";
            Assert.Equal(3L, (long)cmd.ExecuteScalar()!);
        }

        Assert.True(File.Exists(IndexPath + "-wal"), "the stale reader did not open a log beside the rebuilt index");
        stale.Close(); // the only connection of either file, but its file was moved: no checkpoint, no deletion
        Assert.True(File.Exists(IndexPath + "-wal"), "the stale reader's close deleted the log at the path");
        Assert.True(File.Exists(IndexPath + "-shm"), "the stale reader's close deleted the shared memory at the path");
    }
}
