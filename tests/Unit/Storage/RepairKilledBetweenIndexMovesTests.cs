using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A repair moves the index's main file aside before its -wal and -shm. Connections opened before (a save's kept
/// connection, a reader's; neither holds the directory lock) keep the log they opened, and SQLite decides from
/// SQLITE_FCNTL_HAS_MOVED (the main file only) whether to reuse them, checkpoint at close and delete the -wal by path.
/// When the logs went first, a repair killed before the main file moved left the index without its logs: the kept
/// connection committed into the log set aside (its step unlisted), and the last old connection to close deleted
/// the new -wal other processes had committed to. Found by the attack on the kept index connection.
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class RepairKilledBetweenIndexMovesTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public RepairKilledBetweenIndexMovesTests() => _ck = Path.GetFullPath(_dir.Sub("ck"));

    public void Dispose() => _dir.Dispose();

    private string IndexPath => Path.Combine(_ck, StepIndex.FileName);

    private static long Count(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void A_repair_killed_after_moving_the_main_file_aside_loses_no_step_of_a_kept_save_a_reader_or_other_processes()
    {
        using (var h = new CheckpointHandler())
        {
            foreach (var s in new long[] { 1, 2, 3 })
            {
                h.Save(_ck, new Dictionary<string, object?> { ["n"] = s }, step: s);
            }
        }

        SqliteConnection.ClearAllPools();
        // A save in this process holds its kept index connection between its reservation and its commit.
        var store = new CheckpointStore(_ck, new CheckpointOptions());
        var state = StateEncoder.Encode(new Dictionary<string, object?> { ["n"] = 4L }, null);
        var reservation = store.Reserve(4, overwrite: false);
        SqliteConnection? holder = null;
        // A reader's connection, open and queried (it holds the old -wal and -shm) across the repair.
        using var reader = PlantedManifest.OpenIndex(_ck);
        try
        {
            Assert.Equal(3L, Count(reader, "SELECT count(*) FROM steps;"));
            new IndexFile(IndexPath).Execute("UPDATE steps SET save_id = 'bad' WHERE step = 2;"); // damage: repair rebuilds

            // The repair (another process) is killed right after moving the main file aside, before its logs.
            var (code, output) = Harness.Run("repair.after-index-main-aside", "repair", _ck);
            Assert.True(code == Harness.Killed, $"the repair was not killed at the point (exit {code}): {output}");
            Assert.False(File.Exists(IndexPath), "the main file was not moved aside first");
            Assert.True(File.Exists(IndexPath + "-wal"), "the old log is not left at the path: the point was not between the moves");
            Assert.Single(Directory.GetFiles(_ck, "index.sqlite.damaged-*"));

            // A third process saves: the lost index is rebuilt only after its orphaned logs went aside.
            foreach (var s in new[] { 5, 6 })
            {
                var (saved, said) = Harness.Run(null, "save", _ck, s.ToString(System.Globalization.CultureInfo.InvariantCulture), "7", "1", "16");
                Assert.True(saved == 0, said);
            }

            // A connection of the new index holds a commit in the new -wal, not yet checkpointed.
            holder = PlantedManifest.OpenIndex(_ck);
            using (var cmd = holder.CreateCommand())
            {
                cmd.CommandText = "PRAGMA wal_autocheckpoint = 0; UPDATE steps SET pinned = 1 WHERE step = 6;";
                cmd.ExecuteNonQuery();
            }

            Assert.True(File.Exists(IndexPath + "-wal"));
            // The kept connection's file was moved: the commit goes to the index at the path.
            store.Complete(reservation, state, keep: null, onBytesWritten: null);
            // The reader is the last connection of the old file; its main file is gone (HAS_MOVED), so SQLite
            // neither checkpoints into it nor deletes -wal/-shm by path at its close.
            reader.Close();
            Assert.True(File.Exists(IndexPath + "-wal"), "a connection of the moved index deleted the new index's log at its close");
            Assert.Equal(1L, Count(holder, "SELECT pinned FROM steps WHERE step = 6;"));
        }
        finally
        {
            reservation.Dispose();
            state.Release();
            holder?.Dispose();
        }

        SqliteConnection.ClearAllPools();
        // The main file alone, after the last close, lists every step whose save returned.
        var copy = Path.Combine(_dir.Sub("copy"), "index.sqlite");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        File.Copy(IndexPath, copy);
        using (var alone = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = copy, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString()))
        {
            alone.Open();
            Assert.Equal(6L, Count(alone, "SELECT count(*) FROM steps WHERE step IN (1, 2, 3, 4, 5, 6);"));
            Assert.Equal(1L, Count(alone, "SELECT pinned FROM steps WHERE step = 6;"));
        }

        using var check = new CheckpointHandler();
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6 }, check.GetCheckpointSteps(_ck));
        foreach (var s in new long[] { 1, 2, 3, 4 })
        {
            var restored = (System.Collections.IDictionary)check.Restore(_ck, s)!;
            Assert.Equal(s, Convert.ToInt64(restored["n"], System.Globalization.CultureInfo.InvariantCulture));
        }

        foreach (var s in new long[] { 5, 6 })
        {
            Assert.NotNull(check.Restore(_ck, s));
        }

        Assert.Empty(check.RepairIndex(_ck, dryRun: true).Problems);
    }
}
