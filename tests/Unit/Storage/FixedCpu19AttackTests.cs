using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Attacks on f4e041a (a commit into a replaced or rebuilt index checks its staged files) and e85c68d (a reader with file
/// locking off reads a lost index's step folders into memory).
/// </summary>
public sealed class FixedCpu19AttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public void A_healthy_pinned_overwrite_without_tensors_commits_into_an_index_set_aside_meanwhile()
    {
        // f4e041a must not refuse a whole save: an empty data file (no tensors), a pin that travels into the new folder
        // (PINNED written after the check), an overwrite.
        var ck = Path.GetFullPath(_dir.Sub("ck"));
        using (var h = new CheckpointHandler())
        {
            h.Save(ck, new Dictionary<string, object?> { ["n"] = 1L, ["w"] = new float[] { 1, 2, 3 } }, step: 1);
            h.SetPinned(ck, 1, pinned: true);
        }

        var store = new CheckpointStore(ck, new CheckpointOptions());
        var state = StateEncoder.Encode(new Dictionary<string, object?> { ["n"] = 2L }, null);
        var reservation = store.Reserve(1, overwrite: true);
        try
        {
            reservation.AwaitReserved();
            var indexPath = StepIndex.PathOf(ck);
            foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
            {
                if (File.Exists(indexPath + suffix))
                {
                    File.Move(indexPath + suffix, indexPath + ".aside-test" + suffix);
                }
            }

            var info = store.Complete(reservation, state, keep: null, onBytesWritten: null);
            Assert.True(info.Pinned);
        }
        finally
        {
            reservation.Dispose();
            state.Release();
        }

        using var check = new CheckpointHandler();
        Assert.Equal([1L], check.GetCheckpointSteps(ck));
        Assert.True(check.Verify(ck, 1).Ok);
        Assert.Equal(2L, ((Dictionary<string, object?>)check.Restore(ck)!)["n"]);
    }

    [Fact]
    public void A_reader_with_locking_off_lists_no_half_written_folder_and_writes_nothing()
    {
        var ck = Path.GetFullPath(_dir.Sub("ck"));
        using (var h = new CheckpointHandler())
        {
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 1, ["w"] = new float[] { 1, 2, 3, 4 } }, step: 1);
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 2, ["w"] = new float[] { 1, 2, 3, 4 } }, step: 2);
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 3, ["w"] = Enumerable.Range(0, 4096).Select(i => (float)i).ToArray() }, step: 3);
        }

        foreach (var file in Directory.GetFiles(ck, "index.sqlite*"))
        {
            File.Delete(file);
        }

        // A folder without a manifest (a copy under way), a folder whose data file is cut short, and a live save's staging.
        Directory.CreateDirectory(Path.Combine(ck, "4"));
        File.WriteAllBytes(Path.Combine(ck, "4", "tensors.lz4"), new byte[16]);
        var data3 = Path.Combine(ck, "3", "tensors.lz4");
        using (var f = new FileStream(data3, FileMode.Open, FileAccess.Write))
        {
            f.SetLength(f.Length / 2);
        }

        var staging = Path.Combine(ck, ".staging");
        var live = Path.Combine(staging, "5-live");
        Directory.CreateDirectory(live);
        File.Copy(Path.Combine(ck, "2", "manifest.json.lz4"), Path.Combine(live, "manifest.json.lz4"));
        File.Copy(Path.Combine(ck, "2", "tensors.lz4"), Path.Combine(live, "tensors.lz4"));

        var before = Snapshot(ck);
        using var r = new CheckpointHandler(new CheckpointOptions { SimulatedFileLockingDisabled = true, AllowNetworkFileSystem = false });
        Assert.Equal([1L, 2], r.GetCheckpointSteps(ck));
        Assert.Equal(2, ((Dictionary<string, object?>)r.Restore(ck)!)["v"]);
        Assert.Equal(before, Snapshot(ck));
    }

    [Fact]
    public void A_reader_with_locking_off_lists_a_store_whose_index_creation_was_killed()
    {
        // e85c68d reads the folders only for a lost index (missing or empty). An index whose creation was killed between
        // its first page (WAL switch, user_version 0) and its schema is not "lost": the reader opens it, finds no schema,
        // and says "run Repair-CheckpointIndex", which locking off refuses; the refusal itself says listing still works.
        var ck = Path.GetFullPath(_dir.Sub("ck"));
        using (var h = new CheckpointHandler())
        {
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
        }

        foreach (var file in Directory.GetFiles(ck, "index.sqlite*"))
        {
            File.Delete(file);
        }

        using (var c = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + StepIndex.PathOf(ck) + ";Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode=WAL;";
            cmd.ExecuteScalar();
        }

        Assert.True(StepIndex.IsUnversioned(ck));
        using var r = new CheckpointHandler(new CheckpointOptions { SimulatedFileLockingDisabled = true, AllowNetworkFileSystem = false });
        Assert.Equal([1L, 2], r.GetCheckpointSteps(ck));
        Assert.Equal(2, ((Dictionary<string, object?>)r.Restore(ck)!)["v"]);
    }

    private static string Snapshot(string ck) => string.Join("\n", Directory.EnumerateFileSystemEntries(ck, "*", SearchOption.AllDirectories)
        .Order(StringComparer.Ordinal)
        .Select(p => p + (File.Exists(p) ? ":" + new FileInfo(p).Length : "/")));
}
