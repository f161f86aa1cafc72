using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability.CrashStates;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// An I/O error on the index says what its errno says: SQLite reports a write over the disk quota, a read-only mount,
/// a denied write, a full disk under its shared memory and a failed lock all as SQLITE_IOERR, which read "the disk
/// failed a read or write… check the disk" (session 17) where that advice misleads: free space, remount, fix the
/// permissions, find the other process. The errno is real: strace fails the harness's calls on the file with it.
/// </summary>
public sealed class IndexIoCauseTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public IndexIoCauseTests()
    {
        _ck = _dir.Sub("ck");
        using var h = new CheckpointHandler();
        h.Save(_ck, new System.Collections.Hashtable { ["v"] = 1 }, step: 1);
        h.Save(_ck, new System.Collections.Hashtable { ["v"] = 2 }, step: 2);
    }

    public void Dispose() => _dir.Dispose();

    [StraceTheory]
    [InlineData("pwrite64", "EDQUOT", "-wal", "the disk quota is exceeded", "Free disk space (or raise the quota)")] // SQLITE_IOERR_WRITE, errno 122
    [InlineData("pwrite64", "ENOSPC", "-shm", "No space left on device", "Free disk space")] // SQLITE_IOERR_SHMSIZE, errno 28
    [InlineData("pwrite64", "EROFS", "-wal", "mounted read-only", "Remount it read-write")] // SQLITE_IOERR_WRITE, errno 30
    [InlineData("pwrite64", "EACCES", "-wal", "permission denied", "may write the directory")] // SQLITE_IOERR_WRITE, errno 13
    [InlineData("fcntl", "EIO", "", "could not be locked", "another process may hold a lock")] // SQLITE_IOERR_LOCK
    public void A_save_whose_index_call_fails_says_what_its_errno_says_not_that_the_disk_failed(string syscall, string errno, string suffix, string cause, string advice)
    {
        var file = Path.Combine(_ck, StepIndex.FileName) + suffix;

        var (exitCode, output) = InjectedErrno.Run(syscall, errno, "1+", file, "save", _ck, "9", "1", "1", "1");

        Assert.True(exitCode == 4, $"save exited {exitCode}, not 4 (IOException): {output}");
        Assert.Contains(Path.Combine(_ck, StepIndex.FileName), output, StringComparison.Ordinal);
        Assert.Contains(cause, output, StringComparison.Ordinal);
        Assert.Contains(advice, output, StringComparison.Ordinal);
        Assert.Contains("not damage", output, StringComparison.Ordinal);
        Assert.DoesNotContain("check the disk", output, StringComparison.Ordinal);
        Assert.DoesNotContain("disk failed", output, StringComparison.Ordinal);
        using var h = new CheckpointHandler();
        Assert.Equal([1L, 2], h.GetCheckpointSteps(_ck));
    }

    /// <summary>
    /// A full listing steps its rows on a connection of its own (not the index's), whose errno SqliteReadFailure.Throw
    /// hands on in the SqliteException's Data: the error then says the errno of the read that failed, and a C# caller
    /// reads it as docs/cmdlets.md says, <c>e.Data["DataraxCkpt.SystemErrno"]</c> of the IOException (the harness prints
    /// it). The 7th pread64 of index.sqlite is the listing connection's first page read past the header (the index's
    /// own connection reads 3 times, the listing's header read and first page read 3): EINVAL, an SQLITE_IOERR_READ.
    /// </summary>
    [StraceTheory]
    [InlineData("7")]
    public void A_listing_whose_own_connection_fails_a_read_gives_its_errno_in_the_message_and_the_exception_data(string when)
    {
        var (_, output) = InjectedErrno.Run("pread64", "EINVAL", when, Path.Combine(_ck, StepIndex.FileName), "list", _ck);

        var all = Assert.Single(output.Split('\n'), l => l.StartsWith("all: ", StringComparison.Ordinal));
        Assert.StartsWith("all: !IOException", all, StringComparison.Ordinal);
        Assert.Contains("errno 22", all, StringComparison.Ordinal);
        Assert.EndsWith("errno-data=22", all.TrimEnd('\r'), StringComparison.Ordinal);
    }

    [StraceTheory]
    [InlineData("pwrite64", "EIO", "-wal")] // SQLITE_IOERR_WRITE, errno 5: the disk did fail
    public void A_save_whose_index_write_fails_with_EIO_still_says_the_disk_failed(string syscall, string errno, string suffix)
    {
        var (exitCode, output) = InjectedErrno.Run(syscall, errno, "1+", Path.Combine(_ck, StepIndex.FileName) + suffix, "save", _ck, "9", "1", "1", "1");

        Assert.True(exitCode == 4, $"save exited {exitCode}, not 4 (IOException): {output}");
        Assert.Contains("the disk failed a read or write", output, StringComparison.Ordinal);
        Assert.Contains("errno 5, EIO", output, StringComparison.Ordinal);
        Assert.Contains("check the disk", output, StringComparison.Ordinal);
    }
}
