using System.Diagnostics;
using System.Globalization;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A save commits its intent on another thread while it writes and flushes its staging files, and joins it
/// before the publish (docs/guarantees.md, "The save's intent and its staging files"); the staging folder's two
/// flushes start once both files exist and run beside the manifest's write and fsync ("The step's flushes before
/// its publish"). A child killed in either window, or whose intent commit or folder flush fails, leaves every
/// earlier step exact, no half step, no leftover staging folder after the next write, and a directory that
/// repair reconciles without problems.
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class IntentOverlapTests : IDisposable
{
    private const int Seed = 11;
    private readonly TempDirectory _dir = new();
    private readonly string _ck;
    private readonly ITestOutputHelper _output;

    public IntentOverlapTests(ITestOutputHelper output)
    {
        _ck = _dir.Sub("ck");
        _output = output;
    }

    public void Dispose() => _dir.Dispose();

    private static string S(long value) => value.ToString(CultureInfo.InvariantCulture);

    private void Seeded(bool portable, params long[] steps)
    {
        using var h = PortableOverwriteTests.Handler(portable);
        foreach (var s in steps)
        {
            h.Save(_ck, HarnessState.Create(s, Seed, 2), step: s);
        }
    }

    private static void AssertRestores(CheckpointHandler h, string dir, long step, int seed, int megabytes)
    {
        var expected = HarnessState.Create(step, seed, megabytes);
        Assert.Null(StateComparer.FirstDifference(expected, h.Restore(dir, step)));
    }

    private string[] StagingFolders() => Directory.Exists(Path.Combine(_ck, ".staging")) ? Directory.GetDirectories(Path.Combine(_ck, ".staging")) : [];

    /// <summary>The store after the interrupted save: steps 1 and 2 as seeded (2 in its seed-<paramref name="step2Seed"/> version), nothing else listed, the next save and a repair clean.</summary>
    private void AssertStoreAsBeforeAndClean(bool portable, int step2Seed = Seed)
    {
        using (var reader = PortableOverwriteTests.Handler(portable))
        {
            // A reader neither recovers nor sweeps: the interrupted save is simply not listed.
            Assert.Equal(new long[] { 1, 2 }, reader.GetCheckpointSteps(_ck));
            AssertRestores(reader, _ck, 1, Seed, 2);
            AssertRestores(reader, _ck, 2, step2Seed, 2);
        }

        using (var next = PortableOverwriteTests.Handler(portable))
        {
            next.Save(_ck, HarnessState.Create(4, Seed, 1), step: 4);
            Assert.Equal(new long[] { 1, 2, 4 }, next.GetCheckpointSteps(_ck));
            Assert.Empty(StagingFolders());
            var trash = Path.Combine(_ck, ".trash");
            Assert.True(!Directory.Exists(trash) || Directory.GetFileSystemEntries(trash).Length == 0, "the trash is empty");
            var report = next.RepairIndex(_ck);
            Assert.Empty(report.Problems);
            Assert.Empty(report.StepsAdded);
            Assert.Empty(report.RowsRemoved);
            Assert.Equal(new long[] { 1, 2, 4 }, next.GetCheckpointSteps(_ck));
            AssertRestores(next, _ck, 2, step2Seed, 2);
        }
    }

    /// <summary>
    /// Waits (at most 50 s) for a held-back child's staging folder to satisfy <paramref name="ready"/>, then 300 ms
    /// more for whatever the child was flushing meanwhile; returns that folder. The child must still be running.
    /// </summary>
    private string HeldStagingFolder(Process child, Func<string, bool> ready, string what)
    {
        var watch = Stopwatch.StartNew();
        string? staged = null;
        while (staged is null && watch.Elapsed < TimeSpan.FromSeconds(50) && !child.HasExited)
        {
            staged = StagingFolders().FirstOrDefault(ready);
            Thread.Sleep(20);
        }

        Assert.False(child.HasExited, $"the save ended (or failed) before {what}");
        Assert.NotNull(staged);
        Thread.Sleep(300);
        return staged;
    }

    /// <summary>Kills the held-back child from outside, then checks its staging folder is left to sweep and the store is as before.</summary>
    private void KillHeldAndCheck(Process child, string staged)
    {
        child.Kill();
        Assert.True(child.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.True(Directory.Exists(staged), "the killed save's staging folder is still there for the next writer to sweep");
        AssertStoreAsBeforeAndClean(false);
    }

    [Theory]
    [InlineData("save.intent.before-commit", false)]
    [InlineData("save.intent.before-commit", true)]
    [InlineData("save.intent.committed", false)]
    [InlineData("save.intent.committed", true)]
    public void Kill_while_the_intent_commits_beside_the_staging_writes_leaves_the_store_as_before(string point, bool portable)
    {
        Seeded(portable, 1, 2);
        var run = Harness.Run(point, PortableOverwriteTests.HarnessArgs(portable, "save", _ck, "3", S(Seed), "8"));
        Assert.True(run.ExitCode == Harness.Killed, $"expected the child to be killed, got exit {run.ExitCode}: {run.Output}");
        AssertStoreAsBeforeAndClean(portable);
        StoreAssert.Figure(_output, 1, "SIGKILL while the intent commits beside the staging writes", $"{point}{(portable ? " (two renames)" : string.Empty)}: survived, step 3 absent, no leftovers, repair clean");
    }

    [Theory]
    [InlineData("save.intent.before-commit", false)]
    [InlineData("save.intent.before-commit", true)]
    [InlineData("save.intent.committed", false)]
    [InlineData("save.intent.committed", true)]
    public void Kill_while_an_overwrites_intent_commits_keeps_the_old_version(string point, bool portable)
    {
        Seeded(portable, 1, 2);
        var run = Harness.Run(point, PortableOverwriteTests.HarnessArgs(portable, "overwrite", _ck, "2", "99", "2"));
        Assert.True(run.ExitCode == Harness.Killed, $"expected the child to be killed, got exit {run.ExitCode}: {run.Output}");
        AssertStoreAsBeforeAndClean(portable);
    }

    [Fact]
    public void Kill_with_the_staging_files_flushed_and_no_intent_committed_leaves_the_store_as_before()
    {
        // The window the overlap opens, held open on purpose: the intent's commit waits at its first point while
        // the writer finishes and flushes both staging files; the child is then killed from outside. Before the
        // overlap the intent was committed before any staging file existed, so this state could not arise.
        Seeded(false, 1, 2);
        using var child = Harness.Start("save.intent.before-commit=delay:60000", "save", _ck, "3", S(Seed), "2");
        // Then the writer has time to flush what it wrote (it waits at the join afterwards).
        var staged = HeldStagingFolder(child, d => File.Exists(Path.Combine(d, "manifest.json.lz4")) && File.Exists(Path.Combine(d, "tensors.lz4")),
            "the staging files were seen with the intent held back");
        Assert.False(Directory.Exists(Path.Combine(_ck, "3")), "nothing is published before the intent is committed");
        KillHeldAndCheck(child, staged);
        StoreAssert.Figure(_output, 1, "SIGKILL while the intent commits beside the staging writes", "staging files flushed, intent not committed: survived, step 3 absent, staging swept, repair clean");
    }

    [Theory]
    [InlineData("save.intent.before-commit=ioerror")]
    [InlineData("save.intent.before-commit=diskfull")]
    [InlineData("save.intent.committed=ioerror")]
    [InlineData("save.intent.before-start=ioerror")]
    [InlineData("fsync.directory=ioerror@1")]
    [InlineData("fsync.directory=ioerror@2")]
    [InlineData("fsync.directory=diskfull@1")]
    [InlineData("save.folder.sync-started=ioerror")]
    public void A_failed_intent_commit_or_staging_folder_flush_fails_the_save_and_leaves_no_staging_folder(string fault)
    {
        Seeded(false, 1, 2);
        var run = Harness.Run(fault, "save", _ck, "3", S(Seed), "2");
        Assert.True(run.ExitCode == 4, $"expected a failed save (exit 4), got exit {run.ExitCode}: {run.Output}");
        Assert.Empty(StagingFolders());
        Assert.False(Directory.Exists(Path.Combine(_ck, "3")));
        AssertStoreAsBeforeAndClean(false);
    }

    /// <summary>
    /// In a seeded store a save's first two directory flushes are its staging folder's (on pool threads, beside the
    /// manifest's write); the third is the publish's. The kill lands in whichever flush comes first or second.
    /// </summary>
    [Theory]
    [InlineData("save.folder.sync-started", "save", false)]
    [InlineData("fsync.directory@1", "save", false)]
    [InlineData("fsync.directory@2", "save", false)]
    [InlineData("save.folder.sync-started", "overwrite", false)]
    [InlineData("save.folder.sync-started", "overwrite", true)]
    [InlineData("fsync.directory@1", "overwrite", true)]
    [InlineData("fsync.directory@2", "overwrite", false)]
    public void Kill_while_the_staging_folder_is_flushed_beside_the_manifest_leaves_the_store_as_before(string point, string command, bool portable)
    {
        Seeded(portable, 1, 2);
        var args = command == "save" ? new[] { "save", _ck, "3", S(Seed), "8" } : new[] { "overwrite", _ck, "2", "99", "2" };
        var run = Harness.Run(point, PortableOverwriteTests.HarnessArgs(portable, args));
        Assert.True(run.ExitCode == Harness.Killed, $"expected the child to be killed, got exit {run.ExitCode}: {run.Output}");
        Assert.False(Directory.Exists(Path.Combine(_ck, "3")), "nothing is published by a save killed before its rename");
        AssertStoreAsBeforeAndClean(portable);
        StoreAssert.Figure(_output, 1, "SIGKILL while the staging folder is flushed beside the manifest",
            $"{command} at {point}{(portable ? " (two renames)" : string.Empty)}: survived, the step whole or absent, no leftovers, repair clean");
    }

    [Fact]
    public void Kill_with_the_staging_folder_flushed_and_the_manifest_not_yet_written_leaves_the_store_as_before()
    {
        // The window the early folder flush opens, held open on purpose: the writer waits right after the folder's
        // flushes started, before a byte of the manifest is written, while pool threads finish those flushes; the
        // child is then killed from outside. Before, the folder was flushed only after both files were.
        Seeded(false, 1, 2);
        using var child = Harness.Start("save.folder.sync-started=delay:60000", "save", _ck, "3", S(Seed), "2");
        // Then the pool threads have time to finish the folder's flushes.
        var staged = HeldStagingFolder(child, d => File.Exists(Path.Combine(d, "manifest.json.lz4")), "its manifest file was seen with the writer held back");
        Assert.Equal(0, new FileInfo(Path.Combine(staged, "manifest.json.lz4")).Length);
        KillHeldAndCheck(child, staged);
        StoreAssert.Figure(_output, 1, "SIGKILL while the staging folder is flushed beside the manifest", "folder flushed, manifest empty: survived, step 3 absent, staging swept, repair clean");
    }

    [Fact]
    public void An_async_save_whose_intent_cannot_be_committed_fails_the_save_call_itself()
    {
        Seeded(false, 1, 2);
        var run = Harness.Run("save.intent.before-commit=ioerror", "save-async", _ck, "3", S(Seed), "2");
        Assert.True(run.ExitCode == 4 && !run.Output.Contains("queued", StringComparison.Ordinal),
            $"expected the Save call itself to fail (exit 4, nothing queued), got exit {run.ExitCode}: {run.Output}");
        AssertStoreAsBeforeAndClean(false);
    }
}
