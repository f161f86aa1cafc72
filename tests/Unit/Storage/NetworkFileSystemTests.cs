using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Network file systems (issue 9, item 10): the directory lock (flock) does not exclude other hosts there,
/// and SQLite's write-ahead log needs shared memory that hosts do not share, so opening a directory on
/// NFS, SMB or CIFS is refused with a clear error unless the caller opts in. File-system types are
/// simulated here (statfs magic numbers), since no network share is mounted on a test machine.
/// </summary>
public sealed class NetworkFileSystemTests : IDisposable
{
    private const long NfsMagic = 0x6969;
    private const long CifsMagic = 0xFF534D42;
    private const long Smb2Magic = 0xFE534D42;

    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public NetworkFileSystemTests()
    {
        _ck = _dir.Sub("ck");
        using var local = new CheckpointHandler();
        local.Save(_ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
    }

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(NfsMagic, "NFS")]
    [InlineData(CifsMagic, "CIFS")]
    [InlineData(Smb2Magic, "SMB")]
    public void Every_operation_on_a_network_file_system_is_refused_with_the_file_system_named(long magic, string name)
    {
        using var h = new CheckpointHandler(new CheckpointOptions { SimulatedFileSystemType = magic, AllowNetworkFileSystem = false });
        foreach (var operation in new Action[]
        {
            () => h.Save(_ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 2),
            () => h.Save(Path.Combine(_ck, "not-yet"), new Dictionary<string, object?> { ["v"] = 2 }),
            () => h.Restore(_ck),
            () => h.GetCheckpointSteps(_ck),
            () => h.ListCheckpoints(_ck),
            () => h.Prune(_ck, new RetentionPolicy { Keep = 1 }),
            () => h.Verify(_ck, 1),
        })
        {
            var e = Assert.Throws<UnsupportedFileSystemException>(operation);
            Assert.Equal("UnsupportedFileSystem", e.ErrorId);
            Assert.Contains(name, e.Message, StringComparison.Ordinal);
            Assert.Contains(_ck, e.Message, StringComparison.Ordinal);
            Assert.Contains("AllowNetworkFileSystem", e.Message, StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists(Path.Combine(_ck, "not-yet")), "a refused save created its directory");
        Assert.False(Directory.Exists(Path.Combine(_ck, "2")));
    }

    [Fact]
    public void A_caller_who_opts_in_may_use_a_network_file_system()
    {
        using var h = new CheckpointHandler(new CheckpointOptions { SimulatedFileSystemType = NfsMagic, AllowNetworkFileSystem = true });
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
        Assert.Equal(new long[] { 1, 2 }, h.GetCheckpointSteps(_ck));
        Assert.Equal(2, ((Dictionary<string, object?>)h.Restore(_ck)!)["v"]);
    }

    [Fact]
    public void A_local_file_system_is_not_taken_for_a_network_one()
    {
        // The real statfs of the test's temp folder (ext4, xfs, tmpfs, overlay...): not refused.
        using var h = new CheckpointHandler(new CheckpointOptions { AllowNetworkFileSystem = false });
        h.Save(_ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
        Assert.Equal(new long[] { 1, 2 }, h.GetCheckpointSteps(_ck));
    }
}
