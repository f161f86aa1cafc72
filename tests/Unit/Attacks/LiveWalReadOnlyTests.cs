using DataraxCkpt.Tests.Storage;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// A read-only copy (a snapshot, a read-only mount) of a directory whose writer was still connected: the
/// index's last changes are only in its write-ahead log. Readers must see them, never the stale main file.
/// </summary>
public sealed class LiveWalReadOnlyTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var entry in Directory.GetFileSystemEntries(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, entry));
            if (Directory.Exists(entry))
            {
                Directory.CreateDirectory(target);
            }
            else
            {
                File.Copy(entry, target);
            }
        }
    }

    /// <summary>A copy of a directory where step 1 was removed while another connection kept the log alive.</summary>
    private string CopyWithLiveWal(bool keepSharedMemory)
    {
        var source = _dir.Sub("source");
        using var writer = new CheckpointHandler();
        writer.Save(source, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        writer.Save(source, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
        var copy = _dir.Sub("copy");
        using (var holder = new SqliteConnection($"Data Source={Path.Combine(source, "index.sqlite")};Pooling=False"))
        {
            holder.Open();
            using (var read = holder.CreateCommand())
            {
                read.CommandText = "SELECT count(*) FROM steps;";
                _ = read.ExecuteScalar();
            }

            CopyTree(Path.Combine(source, "1"), Path.Combine(_dir.Path, "kept-1"));
            writer.Remove(source, 1);
            Assert.True(File.Exists(Path.Combine(source, "index.sqlite-wal")), "the log should still hold the removal");

            CopyTree(source, copy);
        }

        // Step 1's folder is still there, as in a snapshot taken before its removal reached the disk.
        CopyTree(Path.Combine(_dir.Path, "kept-1"), Path.Combine(copy, "1"));

        if (!keepSharedMemory)
        {
            File.Delete(Path.Combine(copy, "index.sqlite-shm"));
        }

        return copy;
    }

    [RootMountFact]
    public void A_read_only_mount_of_a_directory_with_a_live_log_lists_what_the_log_says()
    {
        var copy = CopyWithLiveWal(keepSharedMemory: true);
        using var mount = ReadOnlyMount.Of(copy, _dir.Sub("ro"));
        using var h = new CheckpointHandler(new CheckpointOptions { LockTimeout = TimeSpan.FromSeconds(10) });
        Assert.Equal(new long[] { 2 }, h.GetCheckpointSteps(mount.Path));
        Assert.Equal(2, ((Dictionary<string, object?>)h.Restore(mount.Path)!)["v"]);
        var e = Assert.Throws<StepNotFoundException>(() => h.Restore(mount.Path, step: 1));
        Assert.Equal(1, e.Step);
    }
}
