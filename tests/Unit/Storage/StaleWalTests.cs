using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Issue 9 item 3: an <c>index.sqlite-wal</c> left beside a lost main file belongs to the old index. A
/// rebuilt index renamed beside it would have SQLite replay it: deleted steps listed again, pins reverted.
/// </summary>
public sealed class StaleWalTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public StaleWalTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private string IndexPath => Path.Combine(_ck, "index.sqlite");

    /// <summary>Saves 1–3, captures a write-ahead log of that state, then removes 2 and pins 3.</summary>
    private byte[] StaleWalOfAnOlderState()
    {
        using (var h = new CheckpointHandler())
        {
            foreach (var s in new long[] { 1, 2, 3 })
            {
                h.Save(_ck, new Dictionary<string, object?> { ["n"] = s }, step: s);
            }
        }

        byte[] wal;
        using (var c = PlantedManifest.OpenIndex(_ck))
        {
            using (var cmd = c.CreateCommand())
            {
                // Rewrites the pages of every row into the WAL and keeps them there (no checkpoint).
                cmd.CommandText = "PRAGMA wal_autocheckpoint = 0; UPDATE steps SET pinned = pinned + 1; UPDATE steps SET pinned = pinned - 1; UPDATE step_items SET step = step + 1000000; UPDATE step_items SET step = step - 1000000;";
                cmd.ExecuteNonQuery();
            }

            wal = File.ReadAllBytes(IndexPath + "-wal");
        }

        SqliteConnection.ClearAllPools();
        using (var h = new CheckpointHandler())
        {
            h.Remove(_ck, 2);
            h.SetPinned(_ck, 3, true);
        }

        Assert.True(wal.Length > 32, "the test could not capture a write-ahead log");
        return wal;
    }

    [Fact]
    public void A_stale_wal_beside_a_lost_index_does_not_bring_back_deleted_steps_or_revert_pins()
    {
        var wal = StaleWalOfAnOlderState();
        File.Delete(IndexPath);
        File.Delete(IndexPath + "-shm");
        File.WriteAllBytes(IndexPath + "-wal", wal);

        using var h = new CheckpointHandler();
        Assert.Equal(new long[] { 1, 3 }, h.GetCheckpointSteps(_ck));
        Assert.True(h.GetCheckpoint(_ck, 3).Pinned);
        h.Prune(_ck, new RetentionPolicy { Keep = 1 }); // the pin of 3 and keep=1 leave 1 and 3 only if 3 is still pinned
        Assert.Equal(new long[] { 3 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_stale_wal_beside_a_damaged_index_does_not_bring_back_deleted_steps_or_revert_pins()
    {
        var wal = StaleWalOfAnOlderState();
        File.WriteAllBytes(IndexPath, new byte[8192]);
        File.Delete(IndexPath + "-shm");
        File.WriteAllBytes(IndexPath + "-wal", wal);

        using var h = new CheckpointHandler();
        h.RepairIndex(_ck);
        Assert.Equal(new long[] { 1, 3 }, h.GetCheckpointSteps(_ck));
        Assert.True(h.GetCheckpoint(_ck, 3).Pinned);
    }

    [Fact]
    public void A_stale_wal_beside_a_lost_index_of_an_emptied_directory_lists_nothing()
    {
        var wal = StaleWalOfAnOlderState();
        foreach (var s in new[] { "1", "3" })
        {
            Directory.Delete(Path.Combine(_ck, s), recursive: true);
        }

        File.Delete(IndexPath);
        File.Delete(IndexPath + "-shm");
        File.WriteAllBytes(IndexPath + "-wal", wal);

        using var h = new CheckpointHandler();
        h.Save(_ck, new Dictionary<string, object?> { ["n"] = 7L }, step: 7);
        Assert.Equal(new long[] { 7 }, h.GetCheckpointSteps(_ck));
    }
}
