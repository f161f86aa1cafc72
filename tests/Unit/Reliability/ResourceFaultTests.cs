using System.Diagnostics;
using System.Globalization;
using DataraxCkpt.Tests.Support;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests.Reliability;

/// <summary>
/// Resource faults during a save (issue 5, item 5): an I/O error or a full disk at each write point of
/// save and overwrite, injected through DATARAXCKPT_FAULT, and a real 16 MiB file system filled by a
/// save that does not fit. The save must fail with a clear error, the store must stay exactly as it
/// was, and nothing may be left behind after the next operation.
/// </summary>
[Trait("Category", "Reliability")]
[Collection(HeavyReliabilityCollection.Name)]
public sealed class ResourceFaultTests : IDisposable
{
    private const int Seed = 31;
    private readonly TempDirectory _dir = new();
    private readonly ITestOutputHelper _output;

    public ResourceFaultTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, string> WritePoints()
    {
        var data = new TheoryData<string, string>();
        foreach (var action in new[] { "ioerror", "diskfull" })
        {
            foreach (var point in new[] { "save.data.chunk-written@2", "save.data.before-flush", "save.manifest.before-write", "save.manifest.piece-written", "save.manifest.written", "commit.before-rename", "commit.after-rename", "commit.item-list.partly-written" })
            {
                data.Add(point, action);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(WritePoints))]
    public void An_io_error_or_full_disk_during_a_save_fails_it_clearly_and_leaves_the_store_as_it_was(string point, string action)
    {
        var ck = _dir.Sub("ck");
        Seed2(ck);
        var fault = point.Contains('@', StringComparison.Ordinal) ? point.Replace("@", $"={action}@", StringComparison.Ordinal) : $"{point}={action}";
        var run = Harness.Run(fault, "save", ck, "3", Seed.ToString(CultureInfo.InvariantCulture), "8");
        AssertFailedClearly(run, action);
        AssertStoreAsItWas(ck, 2, Seed);
        StoreAssert.Figure(_output, 1, "resource fault during save", $"{point} {action}: failed clearly, store unchanged, no leftovers");
    }

    [Theory]
    [InlineData("commit.after-rename")]
    [InlineData("commit.item-list.partly-written")]
    public void An_unexpected_error_after_the_folder_is_published_fails_the_save_and_no_later_write_brings_it_back(string point)
    {
        var ck = _dir.Sub("ck");
        Seed2(ck);
        var run = Harness.Run($"{point}=bug", "save", ck, "3", Seed.ToString(CultureInfo.InvariantCulture), "8");
        Assert.True(run.ExitCode == 5, $"expected the save to fail with the injected error, got exit {run.ExitCode}: {run.Output}");
        Assert.Contains("Injected unexpected error", run.Output, StringComparison.Ordinal);

        // The caller was told step 3 failed: neither the listing nor the next write's recovery may show it.
        AssertStoreAsItWas(ck, 2, Seed);
    }

    [Theory]
    [InlineData("save.data.chunk-written@2", "diskfull", false)]
    [InlineData("save.data.chunk-written@2", "diskfull", true)]
    [InlineData("commit.before-rename", "ioerror", false)]
    [InlineData("commit.before-rename", "ioerror", true)]
    [InlineData("commit.after-rename", "diskfull", false)]
    [InlineData("commit.after-rename", "diskfull", true)]
    [InlineData("publish.rename@1", "ioerror", true)]
    [InlineData("publish.rename@2", "diskfull", true)]
    public void An_io_error_or_full_disk_during_an_overwrite_keeps_the_old_version(string point, string action, bool portableRename)
    {
        var ck = _dir.Sub("ck");
        Seed2(ck);
        var fault = point.Contains('@', StringComparison.Ordinal) ? point.Replace("@", $"={action}@", StringComparison.Ordinal) : $"{point}={action}";
        var run = Harness.Run(fault, Storage.PortableOverwriteTests.HarnessArgs(portableRename, "overwrite", ck, "2", "99", "8"));
        AssertFailedClearly(run, action);
        AssertStoreAsItWas(ck, 2, Seed);
    }

    [SkippableFact]
    public void A_save_that_does_not_fit_a_real_small_file_system_fails_and_leaves_the_store_as_it_was()
    {
        var mountPoint = _dir.Sub("small-fs");
        Directory.CreateDirectory(mountPoint);
        // Not root, or no mount permission in this container: reported as a skip (the injected faults
        // above still run); tests/test-floor.json allows this one skip, so CI shows it without failing.
        Skip.IfNot(TryRun("mount", $"-t tmpfs -o size=16m tmpfs {mountPoint}", out var why), $"mount of a 16 MiB tmpfs is not permitted here ({why})");

        try
        {
            var ck = Path.Combine(mountPoint, "ck");
            using (var h = new CheckpointHandler())
            {
                h.Save(ck, HarnessState.Create(1, Seed, 2), step: 1);
                var error = Assert.ThrowsAny<IOException>(() => h.Save(ck, HarnessState.Create(2, Seed, 24), step: 2));
                Assert.Contains("space", error.Message, StringComparison.OrdinalIgnoreCase);
                Assert.Equal(new long[] { 1 }, h.GetCheckpointSteps(ck));
                StoreAssert.RestoresExactly(h, ck, 1, Seed, 2);

                // The space the failed save took is given back: another 8 MiB fits beside step 1.
                h.Save(ck, HarnessState.Create(3, Seed, 8), step: 3);
                Assert.Equal(new long[] { 1, 3 }, h.GetCheckpointSteps(ck));
                StoreAssert.RestoresExactly(h, ck, 3, Seed, 8);
                _output.WriteLine($"16 MiB tmpfs: 24 MiB save refused with \"{error.Message}\"");
            }

            StoreAssert.NoLeftovers(ck);
            StoreAssert.Figure(_output, 1, "real full file system (tmpfs 16 MiB)", "save failed clearly, store unchanged, space returned, no leftovers");
        }
        finally
        {
            TryRun("umount", mountPoint, out _);
        }
    }

    private static void Seed2(string ck)
    {
        using var h = new CheckpointHandler();
        h.Save(ck, HarnessState.Create(1, Seed, 2), step: 1);
        h.Save(ck, HarnessState.Create(2, Seed, 2), step: 2);
    }

    private static void AssertFailedClearly((int ExitCode, string Output) run, string action)
    {
        Assert.True(run.ExitCode == 4, $"expected the save to fail with an I/O error, got exit {run.ExitCode}: {run.Output}");
        Assert.Contains(action == "diskfull" ? "No space left on device" : "I/O error", run.Output, StringComparison.Ordinal);
    }

    /// <summary>Steps 1..<paramref name="last"/> and nothing else, each exact, before and after the next write.</summary>
    private static void AssertStoreAsItWas(string ck, long last, int seed)
    {
        var before = Enumerable.Range(1, (int)last).Select(i => (long)i).ToArray();
        using (var h = new CheckpointHandler())
        {
            Assert.Equal(before, h.GetCheckpointSteps(ck));
            foreach (var s in before)
            {
                StoreAssert.RestoresExactly(h, ck, s, seed, 2);
            }

            h.Save(ck, HarnessState.Create(10, seed, 1), step: 10);
            Assert.Equal(before.Append(10), h.GetCheckpointSteps(ck));
            foreach (var s in before)
            {
                StoreAssert.RestoresExactly(h, ck, s, seed, 2);
            }
        }

        StoreAssert.NoLeftovers(ck);
    }

    private static bool TryRun(string file, string arguments, out string why)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            why = p.ExitCode == 0 ? string.Empty : $"{file} exited {p.ExitCode}: {err.Trim()}";
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            why = e.Message;
            return false;
        }
    }
}
