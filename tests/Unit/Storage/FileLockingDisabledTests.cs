using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A process whose runtime takes no file locks (DOTNET_SYSTEM_IO_DISABLEFILELOCKING, System.IO.DisableFileLocking) may
/// not change a local store: its directory lock and each save's staging lock would exclude no one. Readers keep working.
/// The switch is simulated here (the runtime reads the real one once per process; DisabledFileLockingAttackTests sets
/// the real variable in a child process).
/// </summary>
public sealed class FileLockingDisabledTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public FileLockingDisabledTests()
    {
        _ck = _dir.Sub("ck");
        using var h = new CheckpointHandler();
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Every_change_is_refused_with_the_switch_named_and_nothing_is_written()
    {
        using var h = new CheckpointHandler(new CheckpointOptions { SimulatedFileLockingDisabled = true, AllowNetworkFileSystem = false });
        var fresh = Path.Combine(_dir.Path, "fresh");
        foreach (var change in new Action[]
        {
            () => h.Save(_ck, new Dictionary<string, object?> { ["v"] = 3 }, step: 3),
            () => h.Save(fresh, new Dictionary<string, object?> { ["v"] = 3 }),
            () => h.Prune(_ck, new RetentionPolicy { Keep = 1 }),
            () => h.Remove(_ck, 1),
            () => h.SetPinned(_ck, 1, pinned: true),
            () => h.RepairIndex(_ck),
        })
        {
            var e = Assert.Throws<FileLockingDisabledException>(change);
            Assert.Equal("FileLockingDisabled", e.ErrorId);
            Assert.Contains("'" + _ck + "'", e.Message.Replace(fresh, _ck, StringComparison.Ordinal), StringComparison.Ordinal);
            Assert.Contains("DOTNET_SYSTEM_IO_DISABLEFILELOCKING", e.Message, StringComparison.Ordinal);
            Assert.Contains("System.IO.DisableFileLocking", e.Message, StringComparison.Ordinal);
            Assert.Contains("Unset DOTNET_SYSTEM_IO_DISABLEFILELOCKING", e.Message, StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists(fresh), "a refused save created its directory");
        using var check = new CheckpointHandler();
        Assert.Equal([1L, 2], check.GetCheckpointSteps(_ck));
        Assert.False(check.GetCheckpoint(_ck, 1).Pinned);
    }

    [Fact]
    public void Listing_restoring_and_verifying_still_work()
    {
        using var h = new CheckpointHandler(new CheckpointOptions { SimulatedFileLockingDisabled = true, AllowNetworkFileSystem = false });
        Assert.Equal([1L, 2], h.GetCheckpointSteps(_ck));
        Assert.Equal(2, h.ListCheckpoints(_ck).Count);
        Assert.Equal(1, ((Dictionary<string, object?>)h.Restore(_ck, 1)!)["v"]);
        Assert.Equal(2, ((Dictionary<string, object?>)h.Restore(_ck)!)["v"]);
        Assert.True(h.Verify(_ck, 2).Ok);
    }

    [Fact]
    public void Listing_and_restoring_a_store_whose_index_is_lost_read_the_step_folders()
    {
        // Attack on 07ecb04 ("reads still work"): a reader that finds the index lost rebuilds it under the exclusive
        // lock where it may write, and that lock is refused with locking off; the step folders can be read as on a
        // read-only mount instead.
        foreach (var file in Directory.GetFiles(_ck, "index.sqlite*"))
        {
            File.Delete(file);
        }

        using var h = new CheckpointHandler(new CheckpointOptions { SimulatedFileLockingDisabled = true, AllowNetworkFileSystem = false });
        Assert.Equal([1L, 2], h.GetCheckpointSteps(_ck));
        Assert.Equal(2, ((Dictionary<string, object?>)h.Restore(_ck)!)["v"]);
        Assert.False(File.Exists(Path.Combine(_ck, "index.sqlite")), "a reader with locking off wrote an index");
    }

    [Fact]
    public void A_caller_who_promises_one_process_at_a_time_may_save_with_file_locking_off()
    {
        using var h = new CheckpointHandler(new CheckpointOptions { SimulatedFileLockingDisabled = true, AllowNetworkFileSystem = true });
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 3 }, step: 3);
        h.Prune(_ck, new RetentionPolicy { Keep = 2 });
        Assert.Equal([2L, 3], h.GetCheckpointSteps(_ck));
    }

    [Theory]
    [InlineData(null, null, false)]
    [InlineData(null, "1", true)]
    [InlineData(null, "true", true)]
    [InlineData(null, "TRUE", true)]
    [InlineData(null, "True", true)]
    [InlineData(null, "0", false)]
    [InlineData(null, "yes", false)]
    [InlineData(null, " 1", false)]
    [InlineData(false, "1", false)]
    [InlineData(true, null, true)]
    [InlineData(true, "0", true)]
    public void The_switch_is_read_as_the_runtime_reads_it(bool? appContextSwitch, string? variable, bool disabled) =>
        Assert.Equal(disabled, RuntimeFileLocking.Disabled(appContextSwitch, variable));
}
