using System.Globalization;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Issue 9 item 2: overwrites on both rename paths (the Linux exchange, and the two renames of Windows
/// and NFS, forced with DATARAXCKPT_PORTABLE_RENAME / --portable-rename). When a rename or the directory
/// flush fails, step N stays listed and restores its old or its new version, never missing, and the
/// old version is never deleted before the new one is committed.
/// </summary>
public sealed class PortableOverwriteTests : IDisposable
{
    private const int Seed = 11;
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public PortableOverwriteTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    internal static CheckpointHandler Handler(bool portable) => new(new CheckpointOptions(), portable);

    internal static string[] HarnessArgs(bool portable, params string[] args) => portable ? ["--portable-rename", .. args] : args;

    private void Seeded(bool portable, params long[] steps)
    {
        using var h = Handler(portable);
        foreach (var s in steps)
        {
            h.Save(_ck, HarnessState.Create(s, Seed, 2), step: s);
        }
    }

    /// <summary>True when step restores exactly the state (step, seed, tensors).</summary>
    private static bool RestoresAs(CheckpointHandler h, string ck, long step, int seed, int tensors)
    {
        var expected = HarnessState.Create(step, seed, tensors);
        var actual = (Dictionary<string, object?>)h.Restore(ck, step)!;
        return expected.Keys.Order().SequenceEqual(actual.Keys.Order()) && expected.All(kv => kv.Value is float[] f
            ? f.AsSpan().SequenceEqual((float[])actual[kv.Key]!)
            : Equals(kv.Value, actual[kv.Key]));
    }

    private void AssertStepTwoIsOldOrNew(bool portable)
    {
        using var h = Handler(portable);
        Assert.Equal(new long[] { 1, 2 }, h.GetCheckpointSteps(_ck));
        Assert.True(RestoresAs(h, _ck, 2, Seed, 2) || RestoresAs(h, _ck, 2, 99, 4), "step 2 restores neither its old nor its new version");
        Assert.True(RestoresAs(h, _ck, 1, Seed, 2));
    }

    private void AssertNoLeftoversAfterNextSave(bool portable)
    {
        using (var h = Handler(portable))
        {
            h.Save(_ck, HarnessState.Create(5, Seed, 1), step: 5);
        }

        foreach (var folder in new[] { ".staging", ".trash" })
        {
            var path = Path.Combine(_ck, folder);
            if (Directory.Exists(path))
            {
                Assert.Empty(Directory.GetDirectories(path));
            }
        }
    }

    private static void AssertFailedWithIoError((int ExitCode, string Output) run) =>
        Assert.True(run.ExitCode == 4 && run.Output.Contains("Injected I/O error", StringComparison.Ordinal),
            $"expected the injected I/O error (exit 4), got exit {run.ExitCode}: {run.Output}");

    /// <summary>Folders holding a step manifest in the engine's own folders (a parked or displaced version).</summary>
    private int ParkedVersions() => new[] { ".staging", ".trash" }.Select(f => Path.Combine(_ck, f)).Where(Directory.Exists)
        .SelectMany(Directory.GetDirectories).Count(d => File.Exists(Path.Combine(d, "manifest.json.lz4")));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_overwrite_replaces_the_step_and_leaves_nothing_behind_on_either_rename_path(bool portable)
    {
        Seeded(portable, 1, 2);
        using (var h = Handler(portable))
        {
            h.SetPinned(_ck, 2, true);
            h.Save(_ck, HarnessState.Create(2, 99, 4), step: 2, overwrite: true);
            Assert.True(RestoresAs(h, _ck, 2, 99, 4));
            Assert.True(h.GetCheckpoint(_ck, 2).Pinned);
        }

        Assert.False(Directory.Exists(Path.Combine(_ck, ".trash")) && Directory.GetFileSystemEntries(Path.Combine(_ck, ".trash")).Length > 0);
        AssertNoLeftoversAfterNextSave(portable);
    }

    [Fact]
    public void The_portable_rename_variable_makes_the_harness_take_the_two_rename_path()
    {
        Seeded(true, 1, 2);
        // The fault point lies only on the two-rename path: hit there, the child is killed; not hit, it finishes.
        Assert.Equal(0, Harness.Run("publish.rename", HarnessArgs(false, "overwrite", _ck, "2", "99", "4")).ExitCode);
        Assert.Equal(Harness.Killed, Harness.Run("publish.rename", HarnessArgs(true, "overwrite", _ck, "2", "98", "4")).ExitCode);
    }

    [Fact]
    public void A_failed_second_rename_puts_the_old_version_back()
    {
        Seeded(true, 1, 2);
        AssertFailedWithIoError(Harness.Run("publish.rename=ioerror@2", HarnessArgs(true, "overwrite", _ck, "2", "99", "4")));

        using (var h = Handler(true))
        {
            Assert.Equal(new long[] { 1, 2 }, h.GetCheckpointSteps(_ck));
            Assert.True(RestoresAs(h, _ck, 2, Seed, 2), "step 2 must restore its old version");
        }

        AssertNoLeftoversAfterNextSave(true);
    }

    [Fact]
    public void A_failed_second_rename_whose_undo_fails_too_keeps_both_versions_for_recovery()
    {
        Seeded(true, 1, 2);
        AssertFailedWithIoError(Harness.Run("publish.rename=ioerror@2+", HarnessArgs(true, "overwrite", _ck, "2", "99", "4")));

        // Before any recovery: the step folder is gone, but both versions are on disk where the intent says.
        Assert.False(Directory.Exists(Path.Combine(_ck, "2")));
        Assert.Equal(2, ParkedVersions());

        AssertStepTwoIsOldOrNew(true);
        AssertNoLeftoversAfterNextSave(true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_failed_directory_flush_after_the_publish_never_deletes_the_old_version(bool portable)
    {
        Seeded(portable, 1, 2);
        AssertFailedWithIoError(Harness.Run("publish.before-flush=ioerror", HarnessArgs(portable, "overwrite", _ck, "2", "99", "4")));

        // The publish may not be durable: the old version must still be on disk until recovery settles it.
        Assert.Equal(1, ParkedVersions());
        AssertStepTwoIsOldOrNew(portable);
        AssertNoLeftoversAfterNextSave(portable);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_failed_index_commit_after_the_publish_keeps_the_old_version_on_either_path(bool portable)
    {
        Seeded(portable, 1, 2);
        AssertFailedWithIoError(Harness.Run("commit.after-rename=ioerror", HarnessArgs(portable, "overwrite", _ck, "2", "99", "4")));
        using (var h = Handler(portable))
        {
            Assert.Equal(new long[] { 1, 2 }, h.GetCheckpointSteps(_ck));
            Assert.True(RestoresAs(h, _ck, 2, Seed, 2));
        }

        AssertNoLeftoversAfterNextSave(portable);
    }

    [Fact]
    public void A_kill_between_the_two_renames_completes_the_swap()
    {
        Seeded(true, 1, 2);
        Assert.Equal(Harness.Killed, Harness.Run("publish.rename@2", HarnessArgs(true, "overwrite", _ck, "2", "99", "4")).ExitCode);
        using (var h = Handler(true))
        {
            Assert.Equal(new long[] { 1, 2 }, h.GetCheckpointSteps(_ck));
            Assert.True(RestoresAs(h, _ck, 2, 99, 4), "the staged version was complete: recovery must finish the swap");
        }

        AssertNoLeftoversAfterNextSave(true);
    }

    [Fact]
    public void A_kill_after_the_old_version_was_parked_and_the_new_one_lost_restores_the_old()
    {
        Seeded(true, 1, 2);
        Assert.Equal(Harness.Killed, Harness.Run("publish.rename@2", HarnessArgs(true, "overwrite", _ck, "2", "99", "4")).ExitCode);
        // The staged version is unusable (a half-written disk block): the parked old one must come back.
        var staged = Directory.GetDirectories(Path.Combine(_ck, ".staging")).Single();
        File.WriteAllBytes(Path.Combine(staged, "manifest.json.lz4"), new byte[16]);
        using (var h = Handler(true))
        {
            Assert.Equal(new long[] { 1, 2 }, h.GetCheckpointSteps(_ck));
            Assert.True(RestoresAs(h, _ck, 2, Seed, 2), "step 2 must restore its old version");
        }

        AssertNoLeftoversAfterNextSave(true);
    }
}
