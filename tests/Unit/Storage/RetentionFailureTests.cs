using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Retention runs after a save is committed; its failure must not report the durable, listed step as
/// a failed save (issue 9, item 8). The save reports the committed record and the retention failure apart.
/// </summary>
public sealed class RetentionFailureTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public RetentionFailureTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, object?> State(int v) => new() { ["v"] = v, ["w"] = new float[] { v, v } };

    /// <summary>
    /// Makes every removal fail with an I/O error: removed folders go to <c>.trash</c>, which a plain
    /// file now stands in the way of (saves do not need it, so they still commit).
    /// </summary>
    private void BreakRemovals() => File.WriteAllText(Path.Combine(_ck, ".trash"), "in the way");

    [Fact]
    public void A_save_whose_retention_fails_reports_the_committed_step_and_the_retention_failure_apart()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: 1);
        h.Save(_ck, State(2), step: 2);
        BreakRemovals();

        var e = Assert.Throws<RetentionFailedException>(() => h.Save(_ck, State(3), step: 3, keep: 1));
        Assert.Equal("RetentionFailed", e.ErrorId);
        Assert.Equal(3, e.Checkpoint.Step);
        Assert.Equal(3, e.Step);
        Assert.IsAssignableFrom<IOException>(e.InnerException);
        Assert.Contains("Step 3 was saved", e.Message, StringComparison.Ordinal);

        // The step is committed, listed and restorable, and the record matches what is stored.
        var stored = h.GetCheckpoint(_ck, 3);
        Assert.Equal(stored.CreatedUtc, e.Checkpoint.CreatedUtc);
        Assert.Equal(stored.StoredSize, e.Checkpoint.StoredSize);
        Assert.Equal(3, ((Dictionary<string, object?>)h.Restore(_ck, step: 3)!)["v"]);
        Assert.Contains(3L, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_save_whose_retention_fails_can_be_followed_by_a_prune_once_the_cause_is_gone()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: 1);
        BreakRemovals();
        Assert.Throws<RetentionFailedException>(() => h.Save(_ck, State(2), step: 2, keep: 1));

        File.Delete(Path.Combine(_ck, ".trash"));
        h.Prune(_ck, new RetentionPolicy { Keep = 1 });
        Assert.Equal(new long[] { 2 }, h.GetCheckpointSteps(_ck));
        Assert.Equal(2, ((Dictionary<string, object?>)h.Restore(_ck)!)["v"]);
    }

    [Fact]
    public void An_async_save_whose_retention_fails_raises_the_retention_failure_and_keeps_the_step()
    {
        using (var seed = new CheckpointHandler())
        {
            seed.Save(_ck, State(1), step: 1);
        }

        BreakRemovals();
        using var h = new CheckpointHandler(new CheckpointOptions { Async = true });
        h.Save(_ck, State(2), step: 2, keep: 1);
        var e = Assert.Throws<RetentionFailedException>(h.WaitUntilFinished);
        Assert.Equal(2, e.Checkpoint.Step);
        Assert.Contains(2L, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void The_record_an_async_save_returns_matches_what_is_stored()
    {
        using var h = new CheckpointHandler(new CheckpointOptions { Async = true });
        var first = h.Save(_ck, State(1), step: 1, metadata: new Dictionary<string, object?> { ["note"] = "a" });
        h.WaitUntilFinished();
        h.SetPinned(_ck, 1, pinned: true);
        var overwrite = h.Save(_ck, State(2), step: 1, overwrite: true);
        h.WaitUntilFinished();

        var stored = h.GetCheckpoint(_ck, 1);
        Assert.True(stored.Pinned);
        Assert.True(overwrite.Pinned, "an overwrite of a pinned step keeps the pin, and the record says so");
        Assert.Equal(stored.CreatedUtc, overwrite.CreatedUtc);
        Assert.Equal(stored.Size, overwrite.Size);
        Assert.Equal(stored.ItemCount, overwrite.ItemCount);
        Assert.Equal("a", first.Metadata["note"]);
    }
}
