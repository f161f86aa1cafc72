using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// An index whose schema version (SQLite's user_version) reads 0: damage (a foreign or hand-edited file), or a
/// writer's new index between its first page (switching to WAL commits it) and its schema's commit. Readers and
/// dry runs used to create the schema there themselves, i.e. commit write-ahead-log frames into a file they
/// only read (found by the attack on index repair, /tmp/sia-probe/wal). They now write nothing: the index is
/// reported as damage for repair, and a reader racing a creation waits for it under the shared lock.
/// </summary>
public sealed class UnversionedIndexTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public UnversionedIndexTests() => _ck = _dir.Sub("ck");

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

    /// <summary>The index file's bytes, and those of its -wal (null when absent or empty: it holds no frame then).</summary>
    private (byte[] Main, byte[]? Wal) Snapshot()
    {
        var wal = IndexPath + "-wal";
        return (File.ReadAllBytes(IndexPath), File.Exists(wal) && new FileInfo(wal).Length > 0 ? File.ReadAllBytes(wal) : null);
    }

    /// <summary>Replaces the index by a WAL-mode file with no table and version 0: what a writer's creation shows before its schema commits.</summary>
    private void FirstPageOnly()
    {
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(IndexPath + suffix);
        }

        new IndexFile(IndexPath).Execute("PRAGMA journal_mode = WAL;");
        Assert.Equal(4096, new FileInfo(IndexPath).Length);
    }

    [Fact]
    public void A_listing_of_an_index_with_tables_but_version_0_writes_nothing_and_reports_damage_that_repair_rebuilds()
    {
        Seed();
        new IndexFile(IndexPath).Execute("PRAGMA user_version = 0;");
        var before = Snapshot();

        using var h = new CheckpointHandler();
        var e = Assert.Throws<CorruptCheckpointException>(() => h.ListCheckpoints(_ck));
        Assert.Contains("user_version 0", e.Message, StringComparison.Ordinal);
        Assert.Throws<CorruptCheckpointException>(() => h.GetCheckpointSteps(_ck));

        var after = Snapshot();
        Assert.Equal(before.Main, after.Main);
        Assert.Null(after.Wal);

        h.RepairIndex(_ck);
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_listing_of_an_index_with_no_schema_beside_step_folders_writes_nothing_and_reports_damage()
    {
        Seed();
        FirstPageOnly();
        var before = Snapshot();

        using var h = new CheckpointHandler();
        var e = Assert.Throws<CorruptCheckpointException>(() => h.GetCheckpointSteps(_ck));
        Assert.Contains("no schema", e.Message, StringComparison.Ordinal);

        var after = Snapshot();
        Assert.Equal(before.Main, after.Main);
        Assert.Null(after.Wal);

        h.RepairIndex(_ck);
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_dry_run_repair_of_an_index_with_version_0_writes_nothing_and_reports_a_rebuild()
    {
        Seed();
        new IndexFile(IndexPath).Execute("PRAGMA user_version = 0;");
        var before = Snapshot();

        using var h = new CheckpointHandler();
        var report = h.RepairIndex(_ck, dryRun: true);
        Assert.Contains(report.Problems, p => p.Contains("would be rebuilt", StringComparison.Ordinal));

        var after = Snapshot();
        Assert.Equal(before.Main, after.Main);
        Assert.Null(after.Wal);
        Assert.Empty(Directory.GetFiles(_ck, "index.sqlite.damaged-*"));
    }

    [Fact]
    public async Task A_listing_racing_the_creation_of_a_new_index_waits_for_it_instead_of_creating_the_schema_itself()
    {
        Directory.CreateDirectory(_ck);
        FirstPageOnly();
        var before = Snapshot();

        Task<IReadOnlyList<long>> listing;
        using (DirectoryLock.Acquire(Path.GetFullPath(_ck), exclusive: true, TimeSpan.FromSeconds(5)))
        {
            // The creator holds the exclusive lock between its first page and its schema commit.
            listing = Task.Run(() =>
            {
                using var h = new CheckpointHandler();
                return h.GetCheckpointSteps(_ck);
            });
            await Task.Delay(500);
            Assert.False(listing.IsCompleted, listing.IsFaulted ? listing.Exception!.ToString() : "the listing did not wait for the creator");
            Assert.Equal(before.Main, Snapshot().Main);
            Assert.Null(Snapshot().Wal);

            using (StepIndex.Open(Path.GetFullPath(_ck), create: true, upgrade: true))
            {
            }
        }

        Assert.Empty(await listing);
    }
}
