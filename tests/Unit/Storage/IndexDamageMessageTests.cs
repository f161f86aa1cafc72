using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A damaged index (garbage bytes, no schema) is reported naming the directory, the index file and the one thing
/// to do, Repair-CheckpointIndex; it used to read "Checkpoint step ? ... Restore another step", which names no step
/// and advises a restore that fails the same way (found by the attack on index repair).
/// </summary>
public sealed class IndexDamageMessageTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_listing_of_a_garbage_index_names_the_directory_the_index_and_repair_and_no_step()
    {
        var ck = _dir.Sub("ck");
        using var h = new CheckpointHandler();
        h.Save(ck, new Dictionary<string, object?> { ["n"] = 1L }, step: 1);
        File.WriteAllBytes(Path.Combine(ck, "index.sqlite"), Enumerable.Repeat((byte)7, 4096).ToArray());

        var e = Assert.Throws<CorruptCheckpointException>(() => h.ListCheckpoints(ck));
        Assert.Contains($"'{Path.GetFullPath(ck)}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'index.sqlite'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Run Repair-CheckpointIndex", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("step ?", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Restore another step", e.Message, StringComparison.Ordinal);
    }
}
