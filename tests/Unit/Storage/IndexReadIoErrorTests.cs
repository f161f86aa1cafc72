using System.Globalization;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability.CrashStates;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A read of <c>index.sqlite</c> that the disk fails with EIO is an I/O error naming the index and saying to check the disk
/// and retry, never damage: SQLite itself turns an EIO on a page read into SQLITE_IOERR_CORRUPTFS and then SQLITE_CORRUPT
/// ("database disk image is malformed"), which the engine reported as CorruptCheckpoint with "run Repair-CheckpointIndex",
/// the wrong advice on a failing disk (a rebuild rewrites the index there). The EIO is real: strace fails the harness's
/// pread64 calls on the index file from the N-th on (<c>-P</c> counts only calls on that path), in a child process.
/// Nothing in the store changes.
/// </summary>
public sealed class IndexReadIoErrorTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public IndexReadIoErrorTests()
    {
        _ck = _dir.Sub("ck");
        using var h = new CheckpointHandler();
        for (var step = 1; step <= 3; step++)
        {
            h.Save(_ck, new System.Collections.Hashtable { ["v"] = step }, step: step);
        }
    }

    public void Dispose() => _dir.Dispose();

    [StraceTheory]
    [InlineData("1+")] // the first read of the file (its header) on: SQLite's SQLITE_IOERR (10), which read "I/O error writing the index"
    [InlineData("4+")] // a page read of the listing's scan connection: SQLite's SQLITE_CORRUPT (11) from IOERR_CORRUPTFS
    public void A_listing_whose_index_read_fails_with_EIO_is_an_io_error_naming_the_index_and_not_damage(string when)
    {
        var before = Listing();

        var (exitCode, output) = RunWithReadEio(when, "list", _ck);

        Assert.True(exitCode == 0, $"list exited {exitCode}: {output}");
        var lines = output.Split('\n').Where(l => l.StartsWith("all:", StringComparison.Ordinal) || l.StartsWith("last:", StringComparison.Ordinal)
            || l.StartsWith("first:", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Contains(lines, l => l.Contains("!IOException", StringComparison.Ordinal));
        foreach (var line in lines.Where(l => l.Contains('!', StringComparison.Ordinal)))
        {
            Assert.Contains("!IOException", line, StringComparison.Ordinal);
            Assert.Contains(Path.Combine(_ck, StepIndex.FileName), line, StringComparison.Ordinal);
            Assert.Contains("check the disk", line, StringComparison.Ordinal);
            Assert.DoesNotContain("Repair", line, StringComparison.Ordinal);
            Assert.DoesNotContain("damaged", line, StringComparison.Ordinal);
        }

        Assert.Equal(before, Listing());
    }

    /// <summary>
    /// The listing without SQLite's own log and shared memory of a repair's connection, which may be left (it could not
    /// read to close them): they are not the store's records; the index file itself and every step are compared.
    /// </summary>
    private static List<string> Records(List<string> listing) =>
        listing.Where(l => !l.StartsWith(StepIndex.FileName + "-wal ", StringComparison.Ordinal)
            && !l.StartsWith(StepIndex.FileName + "-shm ", StringComparison.Ordinal)).ToList();

    [StraceTheory]
    [InlineData("3+")] // past the writer's own checks of the file: SQLite's SQLITE_CORRUPT (11) from IOERR_CORRUPTFS
    public void A_save_whose_index_read_fails_with_EIO_is_an_io_error_and_rebuilds_nothing(string when)
    {
        var before = Listing();

        var (exitCode, output) = RunWithReadEio(when, "save", _ck, "9", "1", "1", "1");

        Assert.True(exitCode == 4, $"save exited {exitCode}, not 4 (IOException): {output}");
        Assert.Contains(Path.Combine(_ck, StepIndex.FileName), output, StringComparison.Ordinal);
        Assert.Contains("check the disk", output, StringComparison.Ordinal);
        Assert.DoesNotContain("CorruptCheckpoint", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Repair", output, StringComparison.Ordinal);
        Assert.Equal(before, Listing());
        using var h = new CheckpointHandler();
        Assert.Equal([1L, 2, 3], h.GetCheckpointSteps(_ck));
    }

    [StraceTheory]
    [InlineData("3+")] // the repair's read of the index: SQLite's SQLITE_CORRUPT (11) from IOERR_CORRUPTFS
    [InlineData("1+")] // Attack: the repair's own read of the header (IsUnversioned, a FileStream): .NET's bare "Input/output error : path"
    public void A_repair_whose_index_read_fails_with_EIO_sets_nothing_aside_and_rewrites_nothing(string when)
    {
        var before = Listing();

        var (exitCode, output) = RunWithReadEio(when, "repair", _ck);

        Assert.True(exitCode == 4, $"repair exited {exitCode}, not 4 (IOException): {output}");
        Assert.Contains(Path.Combine(_ck, StepIndex.FileName), output, StringComparison.Ordinal);
        Assert.Contains("check the disk", output, StringComparison.Ordinal);
        AssertNamesTheWayOut(output);
        Assert.Equal(Records(before), Records(Listing()));
        using var h = new CheckpointHandler();
        Assert.Equal([1L, 2, 3], h.GetCheckpointSteps(_ck));
    }

    [StraceTheory]
    [InlineData("5")] // Attack: one page read of PRAGMA integrity_check fails (a transient EIO): integrity_check reports
    [InlineData("8")] // it as a row ("unable to get the page"), not an error, and the repair took the row for damage
    public void Attack_a_repair_whose_integrity_check_read_fails_once_with_EIO_sets_nothing_aside(string when)
    {
        var before = Listing();

        var (exitCode, output) = RunWithReadEio(when, "repair", _ck);

        Assert.True(exitCode == 4, $"repair exited {exitCode}, not 4 (IOException): {output}");
        Assert.Contains("check the disk", output, StringComparison.Ordinal);
        Assert.Equal(Records(before), Records(Listing()));
    }

    [StraceTheory]
    [InlineData("list")]
    [InlineData("repair")]
    public void Attack_a_read_of_the_write_ahead_log_that_fails_with_EIO_is_an_io_error_not_damage(string command)
    {
        // Attack: the log holds a committed frame (another connection is open, so no close checkpointed it): every
        // read of page 1 goes to index.sqlite-wal, whose EIO SQLite reports as SQLITE_CORRUPT too, while the main
        // file's errno (the only one read) is 0: the listing said "run Repair-CheckpointIndex" and the repair set
        // the index and its log aside.
        var path = Path.Combine(_ck, StepIndex.FileName);
        using var holder = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
        holder.Open();
        using (var cmd = holder.CreateCommand())
        {
            cmd.CommandText = "PRAGMA wal_autocheckpoint = 0; PRAGMA user_version = 2;";
            cmd.ExecuteNonQuery();
        }

        Assert.True(new FileInfo(path + "-wal").Length > 0);
        var before = Listing().Where(l => !l.StartsWith(StepIndex.FileName + "-", StringComparison.Ordinal)).ToList();

        var (exitCode, output) = RunWithReadEio("1+", path + "-wal", [command, _ck]);

        Assert.DoesNotContain("CorruptCheckpoint", output, StringComparison.Ordinal);
        Assert.DoesNotContain("run Repair-CheckpointIndex to rebuild", output, StringComparison.Ordinal);
        Assert.Contains("check the disk", output, StringComparison.Ordinal);
        if (command == "list")
        {
            Assert.DoesNotContain("Repair-CheckpointIndex", output, StringComparison.Ordinal);
        }
        else
        {
            // The repair refused names its way out (session 18), which is not the damage's advice to rebuild.
            AssertNamesTheWayOut(output);
        }

        Assert.True(command == "list" ? exitCode == 0 : exitCode == 4, $"{command} exited {exitCode}: {output}");
        Assert.Equal(before, Listing().Where(l => !l.StartsWith(StepIndex.FileName + "-", StringComparison.Ordinal)).ToList());
    }

    [Fact]
    public void Real_damage_to_the_index_is_still_reported_as_damage_with_repair_advice()
    {
        // Bad bytes, no failing call: the page after the header overwritten, the read itself succeeds.
        using (var f = new FileStream(Path.Combine(_ck, StepIndex.FileName), FileMode.Open, FileAccess.Write))
        {
            f.Position = 4096;
            f.Write(Enumerable.Repeat((byte)0xA5, 4096).ToArray());
        }

        var (exitCode, output) = Harness.Run(null, "list", _ck);

        Assert.True(exitCode == 0, $"list exited {exitCode}: {output}");
        Assert.Contains("CorruptCheckpoint", output, StringComparison.Ordinal);
        Assert.Contains("Repair-CheckpointIndex", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// A repair refused for a read the disk failed names the way out (Repair-CheckpointIndex -Force), says it keeps the
    /// index aside unread, and what it risks (session 18: the refusal gave no way out but deleting the index by hand).
    /// </summary>
    internal static void AssertNamesTheWayOut(string output)
    {
        Assert.Contains("Repair-CheckpointIndex -Force", output, StringComparison.Ordinal);
        Assert.Contains("aside unread", output, StringComparison.Ordinal);
        Assert.Contains("never deleted", output, StringComparison.Ordinal);
        Assert.Contains("It risks", output, StringComparison.Ordinal);
    }

    /// <summary>Every entry under the store, with its size and last write time: a rebuild or set-aside changes it.</summary>
    private List<string> Listing() => ListingOf(_ck);

    /// <summary>Every entry under <paramref name="store"/>, with its size and last write time.</summary>
    internal static List<string> ListingOf(string store) => new DirectoryInfo(store).EnumerateFileSystemInfos("*", SearchOption.AllDirectories)
        .Select(i => string.Create(CultureInfo.InvariantCulture,
            $"{Path.GetRelativePath(store, i.FullName)} {(i as FileInfo)?.Length} {i.LastWriteTimeUtc.Ticks}"))
        .Order(StringComparer.Ordinal).ToList();

    /// <summary>Runs the harness under strace, every pread64 on the index file from the <paramref name="when"/>-th on failing with EIO.</summary>
    private (int ExitCode, string Output) RunWithReadEio(string when, params string[] args) =>
        RunWithReadEio(when, Path.Combine(_ck, StepIndex.FileName), args);

    /// <summary>As above, the reads of <paramref name="file"/> failing.</summary>
    private static (int ExitCode, string Output) RunWithReadEio(string when, string file, string[] args) =>
        InjectedErrno.Run("pread64", "EIO", when, file, args);
}
