using System.Security.Cryptography;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Reliability.CrashStates;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// The way out of a repair refused because the disk fails to read <c>index.sqlite</c> (one bad sector is enough, for
/// ever): <c>RepairIndex(force: true)</c> (<c>Repair-CheckpointIndex -Force</c>) renames the index aside unread, keeps
/// it, and rebuilds the index from the step folders' manifests, reporting what it read and what it could not. The EIO is
/// real: strace fails the harness's pread64 calls on the index file (and, where said, on a step's manifest).
/// </summary>
public sealed class ForcedRepairTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;
    private readonly string _index;

    public ForcedRepairTests()
    {
        _ck = _dir.Sub("ck");
        _index = Path.Combine(_ck, StepIndex.FileName);
        using var h = new CheckpointHandler();
        for (var step = 1; step <= 3; step++)
        {
            h.Save(_ck, State(step), step: step);
        }

        h.SetPinned(_ck, 2, true);
    }

    public void Dispose() => _dir.Dispose();

    private const int Seed = 18;

    private static Dictionary<string, object?> State(long step) => HarnessState.Create(step, Seed, 2, 256);

    [StraceTheory]
    [InlineData("1+")] // every read of the file, its header (the repair's own FileStream read) first
    [InlineData("3+")] // past the header: SQLite's reads of its pages
    public void A_forced_repair_of_an_index_the_disk_cannot_read_sets_it_aside_unread_and_every_step_restores(string when)
    {
        var original = Bytes(_index);

        var (exitCode, output) = InjectedErrno.Run("pread64", "EIO", when, _index, "repair-force", _ck);

        Assert.True(exitCode == 0, $"forced repair exited {exitCode}: {output}");
        Assert.Contains("indexed: 1,2,3", output, StringComparison.Ordinal);
        Assert.Contains("set aside unread as 'index.sqlite.unreadable-", output, StringComparison.Ordinal);
        Assert.Contains("check the disk", output, StringComparison.Ordinal);
        // Kept whole, never deleted nor rewritten: the same bytes under the new name.
        var aside = Assert.Single(Directory.GetFiles(_ck, StepIndex.FileName + ".unreadable-*"), f => !f.EndsWith("-wal", StringComparison.Ordinal) && !f.EndsWith("-shm", StringComparison.Ordinal));
        Assert.Equal(original, Bytes(aside));
        AssertEveryStepRestores();
    }

    [StraceTheory]
    [InlineData("1+")]
    public void A_forced_dry_run_over_an_unreadable_index_lists_what_a_rebuild_would_and_changes_nothing(string when)
    {
        var before = Listing();

        var (exitCode, output) = InjectedErrno.Run("pread64", "EIO", when, _index, "repair-force-dry", _ck);

        Assert.True(exitCode == 0, $"forced dry run exited {exitCode}: {output}");
        Assert.Contains("indexed: 1,2,3", output, StringComparison.Ordinal);
        Assert.Contains("a forced repair would set it aside unread", output, StringComparison.Ordinal);
        Assert.Equal(before, Listing());
    }

    /// <summary>
    /// The forced dry run notes an old version parked in the trash, which the real rebuild puts back. The real rebuild
    /// drops a link standing where <c>.trash</c> belongs, never follows it: what lies behind one is not counted either.
    /// </summary>
    [StraceTheory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void A_forced_dry_run_notes_a_parked_old_version_in_a_real_trash_only(bool trashIsLink, bool noted)
    {
        var trash = Path.Combine(_ck, StepFolders.TrashFolder);
        if (Directory.Exists(trash))
        {
            Directory.Delete(trash, recursive: true);
        }

        var holder = trashIsLink ? _dir.Sub("elsewhere") : trash;
        Directory.CreateDirectory(Path.Combine(holder, StepFolders.StagingName(4, "0123456789abcdef0123456789abcdef") + StepFolders.DisplacedSuffix));
        if (trashIsLink)
        {
            Directory.CreateSymbolicLink(trash, holder);
        }

        var (exitCode, output) = InjectedErrno.Run("pread64", "EIO", "1+", _index, "repair-force-dry", _ck);

        Assert.True(exitCode == 0, $"forced dry run exited {exitCode}: {output}");
        Assert.Contains("a forced repair would set it aside unread", output, StringComparison.Ordinal);
        Assert.Equal(noted, output.Contains("the trash holds an old version", StringComparison.Ordinal));
    }

    /// <summary>
    /// The trash note is looked up while the unreadable index is reported: a trash that cannot be listed (its third
    /// getdents64 fails with EIO: the dry run's own sweep reads it whole first) is said in the report, which it must not replace.
    /// </summary>
    [StraceTheory]
    [InlineData("3")]
    public void A_forced_dry_run_whose_trash_note_fails_still_reports_the_unreadable_index(string failedListing)
    {
        var trash = Path.Combine(_ck, StepFolders.TrashFolder);
        Directory.CreateDirectory(Path.Combine(trash, StepFolders.StagingName(4, "0123456789abcdef0123456789abcdef") + StepFolders.DisplacedSuffix));

        var (exitCode, output) = InjectedErrno.RunTraced(
            ["-e", "trace=pread64,getdents64", "-e", "inject=pread64:error=EIO:when=1+", "-e", $"inject=getdents64:error=EIO:when={failedListing}", "-P", _index, "-P", trash],
            "repair-force-dry", _ck);

        Assert.True(exitCode == 0, $"forced dry run exited {exitCode}: {output}");
        Assert.Contains("indexed: 1,2,3", output, StringComparison.Ordinal);
        Assert.Contains("a forced repair would set it aside unread", output, StringComparison.Ordinal);
        Assert.Contains("the trash ('.trash') could not be listed", output, StringComparison.Ordinal);
    }

    [StraceTheory]
    [InlineData("1+")]
    public void A_forced_repair_reports_a_step_folder_it_cannot_read_and_a_later_repair_lists_it_again(string when)
    {
        var manifest = Path.Combine(_ck, "2", "manifest.json.lz4");
        Assert.True(File.Exists(manifest), "the step folder layout changed: " + string.Join(", ", Directory.GetFiles(Path.Combine(_ck, "2"))));

        var (exitCode, output) = InjectedErrno.Run("pread64", "EIO", when, [_index, manifest], "repair-force", _ck);

        Assert.True(exitCode == 0, $"forced repair exited {exitCode}: {output}");
        Assert.Contains("indexed: 1,3", output, StringComparison.Ordinal);
        Assert.Contains(output.Split('\n'), l => l.StartsWith("problem: step 2:", StringComparison.Ordinal) && l.Contains("left in place", StringComparison.Ordinal));
        Assert.True(Directory.Exists(Path.Combine(_ck, "2")), "the unreadable step's folder was not left in place");

        // Once the folder reads again, a plain repair lists it: nothing was lost.
        using (var h = new CheckpointHandler())
        {
            Assert.Equal([2L], h.RepairIndex(_ck).StepsAdded);
        }

        AssertEveryStepRestores();
    }

    [Fact]
    public void A_forced_repair_of_an_index_that_reads_repairs_it_in_place_and_sets_nothing_aside()
    {
        using var h = new CheckpointHandler();

        var report = h.RepairIndex(_ck, dryRun: false, force: true);

        Assert.Equal([1L, 2, 3], report.StepsIndexed);
        Assert.Empty(report.Problems);
        Assert.Empty(Directory.GetFiles(_ck, StepIndex.FileName + ".*-*"));
        AssertEveryStepRestores();
    }

    /// <summary>Steps 1 to 3 listed, each restoring exactly what was saved, step 2 still pinned (its marker).</summary>
    private void AssertEveryStepRestores()
    {
        using var h = new CheckpointHandler();
        Assert.Equal([1L, 2, 3], h.GetCheckpointSteps(_ck));
        foreach (var step in new long[] { 1, 2, 3 })
        {
            StoreAssert.RestoresExactly(h, _ck, step, Seed, 2, 256);
        }

        Assert.Equal([2L], h.ListCheckpoints(_ck).Where(c => c.Pinned).Select(c => c.Step));
    }

    private static string Bytes(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private List<string> Listing() => IndexReadIoErrorTests.ListingOf(_ck);
}
