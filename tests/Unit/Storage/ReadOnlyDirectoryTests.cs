using System.Diagnostics;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Read-only checkpoint directories (issue 9, item 6): a read-only mount, a backup snapshot, a directory
/// the user may only read. Listing, restoring, verifying and comparing work without writing anything;
/// changes fail at once with their cause, never after a 60 s wait for a lock.
/// </summary>
public sealed class ReadOnlyDirectoryTests : IDisposable
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(20);

    private readonly TempDirectory _dir = new();
    private readonly string _source;

    public ReadOnlyDirectoryTests()
    {
        _source = _dir.Sub("source");
        using var writer = new CheckpointHandler();
        writer.Save(_source, new Dictionary<string, object?> { ["v"] = 1, ["w"] = new float[] { 1, 2, 3 } }, step: 1,
            metadata: new Dictionary<string, object?> { ["note"] = "first" });
        writer.Save(_source, new Dictionary<string, object?> { ["v"] = 2, ["w"] = new float[] { 1, 2, 4 } }, step: 2);
        writer.SetPinned(_source, 2, pinned: true);
    }

    public void Dispose() => _dir.Dispose();

    private void DeleteIndex()
    {
        foreach (var file in Directory.GetFiles(_source, "index.sqlite*"))
        {
            File.Delete(file);
        }
    }

    /// <summary>Every entry under the directory with its size and modification time.</summary>
    private static string[] Snapshot(string path) => Directory.GetFileSystemEntries(path, "*", SearchOption.AllDirectories)
        .Select(e => $"{Path.GetRelativePath(path, e)}|{(File.Exists(e) ? new FileInfo(e).Length : -1)}|{File.GetLastWriteTimeUtc(e).Ticks}")
        .Order(StringComparer.Ordinal).ToArray();

    private static void AssertReadsWork(CheckpointHandler h, string ck)
    {
        Assert.Equal(new long[] { 1, 2 }, h.GetCheckpointSteps(ck));
        Assert.Equal(2, h.LatestStep(ck));
        var listed = h.ListCheckpoints(ck);
        Assert.Equal(new long[] { 1, 2 }, listed.Select(c => c.Step));
        Assert.Equal(new[] { false, true }, listed.Select(c => c.Pinned));
        Assert.Equal("first", h.RestoreMetadata(ck, 1)!["note"]);
        Assert.Equal(2, h.GetItems(ck, 1).Count);
        var one = (Dictionary<string, object?>)h.Restore(ck, step: 1)!;
        Assert.Equal(1, one["v"]);
        Assert.Equal(new float[] { 1, 2, 3 }, (float[])one["w"]!);
        Assert.Equal(2, ((Dictionary<string, object?>)h.Restore(ck)!)["v"]);
        Assert.True(h.Verify(ck, 1).Ok);
        Assert.True(h.Verify(ck, 2).Ok);
        Assert.Equal(new[] { "v", "w" }, h.Compare(ck, 1, 2).Select(d => d.Name).Order());
    }

    private static void AssertChangesFailAtOnce(CheckpointHandler h, string ck, Type expected, string cause)
    {
        var watch = Stopwatch.StartNew();
        foreach (var change in new Action[]
        {
            () => h.Save(ck, new Dictionary<string, object?> { ["v"] = 3 }, step: 3),
            () => h.Prune(ck, new RetentionPolicy { Keep = 1 }),
            () => h.Remove(ck, 1),
            () => h.SetPinned(ck, 1, pinned: true),
        })
        {
            var e = Assert.ThrowsAny<Exception>(change);
            Assert.IsAssignableFrom(expected, e);
            Assert.Contains(cause, e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Contains(ck, e.Message, StringComparison.Ordinal);
        }

        Assert.True(watch.Elapsed < LockTimeout / 2, $"the changes took {watch.Elapsed} to fail: a real error was retried as contention");
    }

    // ----- a real read-only bind mount -----

    [RootMountFact]
    public void A_read_only_bind_mount_lists_restores_verifies_and_compares_and_refuses_changes_at_once()
    {
        using var mount = ReadOnlyMount.Of(_source, _dir.Sub("ro"));
        var before = Snapshot(_source);
        using var h = new CheckpointHandler(new CheckpointOptions { LockTimeout = LockTimeout });
        AssertReadsWork(h, mount.Path);
        AssertChangesFailAtOnce(h, mount.Path, typeof(IOException), "read-only");
        Assert.Equal(before, Snapshot(_source));
    }

    [RootMountFact]
    public void A_read_only_bind_mount_without_an_index_is_read_from_its_step_folders()
    {
        DeleteIndex();
        using var mount = ReadOnlyMount.Of(_source, _dir.Sub("ro"));
        var before = Snapshot(_source);
        using var h = new CheckpointHandler(new CheckpointOptions { LockTimeout = LockTimeout });
        AssertReadsWork(h, mount.Path);
        Assert.Equal(before, Snapshot(_source));
        Assert.False(File.Exists(Path.Combine(_source, "index.sqlite")));
    }

    [RootMountFact]
    public void A_read_only_bind_mount_without_a_lock_file_is_read_unlocked()
    {
        File.Delete(Path.Combine(_source, DirectoryLock.FileName));
        using var mount = ReadOnlyMount.Of(_source, _dir.Sub("ro"));
        using var h = new CheckpointHandler(new CheckpointOptions { LockTimeout = LockTimeout });
        AssertReadsWork(h, mount.Path);
    }

    // ----- simulated: opens for writing fail, whoever runs the test -----

    [Theory]
    [InlineData("ReadOnlyFileSystem", typeof(IOException), "read-only")]
    [InlineData("AccessDenied", typeof(UnauthorizedAccessException), "write access")]
    public void A_directory_that_may_only_be_read_lists_restores_verifies_and_compares_and_refuses_changes_at_once(string denial, Type expected, string cause)
    {
        var before = Snapshot(_source);
        using var h = new CheckpointHandler(new CheckpointOptions { LockTimeout = LockTimeout, SimulatedDenial = Enum.Parse<SimulatedDenial>(denial) });
        AssertReadsWork(h, _source);
        AssertChangesFailAtOnce(h, _source, expected, cause);
        Assert.Equal(before, Snapshot(_source));
    }

    [Theory]
    [InlineData("ReadOnlyFileSystem")]
    [InlineData("AccessDenied")]
    public void A_directory_that_may_only_be_read_and_has_no_index_is_read_from_its_step_folders(string denial)
    {
        DeleteIndex();
        var before = Snapshot(_source);
        using var h = new CheckpointHandler(new CheckpointOptions { LockTimeout = LockTimeout, SimulatedDenial = Enum.Parse<SimulatedDenial>(denial) });
        AssertReadsWork(h, _source);
        Assert.Equal(before, Snapshot(_source));
    }

    [Fact]
    public void An_unreadable_lock_file_stops_readers_with_its_cause_instead_of_letting_them_read_unlocked()
    {
        using var h = new CheckpointHandler(new CheckpointOptions { LockTimeout = LockTimeout, SimulatedDenial = SimulatedDenial.LockFileUnreadable });
        var watch = Stopwatch.StartNew();
        var e = Assert.Throws<UnauthorizedAccessException>(() => h.Restore(_source, step: 1));
        Assert.True(watch.Elapsed < LockTimeout / 2, $"took {watch.Elapsed}");
        Assert.Contains(Path.Combine(_source, DirectoryLock.FileName), e.Message, StringComparison.Ordinal);
        Assert.Contains("read access", e.Message, StringComparison.Ordinal);
        Assert.Throws<UnauthorizedAccessException>(() => h.Verify(_source, 1));
    }

    [Fact]
    public void A_lock_held_by_another_process_is_still_waited_for()
    {
        using var held = DirectoryLock.Acquire(_source, exclusive: true, TimeSpan.FromSeconds(5));
        using var h = new CheckpointHandler(new CheckpointOptions { LockTimeout = TimeSpan.FromSeconds(1) });
        var watch = Stopwatch.StartNew();
        Assert.Throws<TimeoutException>(() => h.Restore(_source, step: 1));
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.9), $"gave up after {watch.Elapsed}");
    }
}
