using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A save keeps the index connection of its reservation until its commit (one open and one checkpoint of
/// the log per save). The directory lock is released in between, so a repair in another process may move
/// the index aside and rename a rebuilt one in; the commit must then go to the new index, and closing the
/// kept connection must not delete the write-ahead log and shared memory that now belong to it.
/// </summary>
public sealed class KeptIndexConnectionTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public KeptIndexConnectionTests() => _ck = Path.GetFullPath(_dir.Sub("ck"));

    public void Dispose() => _dir.Dispose();

    private string IndexPath => Path.Combine(_ck, StepIndex.FileName);

    private static Dictionary<string, object?> State(long n) => new() { ["n"] = n };

    [Fact]
    public void A_save_leaves_no_write_ahead_log_behind_once_it_returns()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
            h.Save(_ck, State(2), step: 2);
        }

        Assert.True(File.Exists(IndexPath));
        Assert.False(File.Exists(IndexPath + "-wal"), "the last close checkpoints the log into index.sqlite and deletes it");
        Assert.False(File.Exists(IndexPath + "-shm"));

        // index.sqlite alone is the whole index: a copy of it without its log lists both steps.
        var copy = _dir.Sub("copy");
        Directory.CreateDirectory(copy);
        File.Copy(IndexPath, Path.Combine(copy, StepIndex.FileName));
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(copy, StepIndex.FileName), Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM steps;";
        Assert.Equal(2L, (long)cmd.ExecuteScalar()!);
    }

    [Fact]
    public void A_save_whose_index_was_replaced_while_it_wrote_commits_into_the_new_index_and_keeps_its_log()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
        }

        var store = new CheckpointStore(_ck, new CheckpointOptions());
        var state = StateEncoder.Encode(State(2), null);
        var reservation = store.Reserve(2, overwrite: false);
        SqliteConnection? other = null;
        try
        {
            // What a repair does while the save writes unlocked: the index and its log go aside, and a
            // writer rebuilds the index from the step folders and commits to it.
            foreach (var suffix in new[] { "-wal", "-shm", string.Empty })
            {
                if (File.Exists(IndexPath + suffix))
                {
                    File.Move(IndexPath + suffix, IndexPath + ".damaged-test" + suffix);
                }
            }

            using (var h = new CheckpointHandler())
            {
                h.Save(_ck, State(3), step: 3);
            }

            // Another connection holds a commit of the new index in its log, not yet checkpointed.
            other = PlantedManifest.OpenIndex(_ck);
            using (var cmd = other.CreateCommand())
            {
                cmd.CommandText = "PRAGMA wal_autocheckpoint = 0; UPDATE steps SET pinned = 1 WHERE step = 3;";
                cmd.ExecuteNonQuery();
            }

            Assert.True(File.Exists(IndexPath + "-wal"));
            store.Complete(reservation, state, keep: null, onBytesWritten: null);
            Assert.True(File.Exists(IndexPath + "-wal"), "the replaced index's connection deleted the new index's log");
        }
        finally
        {
            reservation.Dispose();
            state.Release();
            other?.Dispose();
        }

        using var check = new CheckpointHandler();
        Assert.Equal(new long[] { 1, 2, 3 }, check.GetCheckpointSteps(_ck));
        Assert.True(check.GetCheckpoint(_ck, 3).Pinned);
        Assert.Equal(2L, Convert.ToInt64(check.Restore(_ck, 2) is System.Collections.IDictionary d ? d["n"] : null, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void An_abandoned_reservation_clears_its_intent_on_the_kept_connection_and_leaves_no_log()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
        }

        var store = new CheckpointStore(_ck, new CheckpointOptions());
        using (var reservation = store.Reserve(2, overwrite: false))
        {
            store.Abandon(reservation);
        }

        Assert.False(File.Exists(IndexPath + "-wal"));
        using var c = PlantedManifest.OpenIndex(_ck);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM intents;";
        Assert.Equal(0L, (long)cmd.ExecuteScalar()!);
    }
}
