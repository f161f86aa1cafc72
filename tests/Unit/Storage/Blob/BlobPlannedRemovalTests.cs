using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>A planned removal on a remote store removes only the version it planned, never the newest step.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobPlannedRemovalTests
{
    [Fact]
    public void A_remote_step_overwritten_after_the_plan_is_kept_and_the_newest_step_is_never_removed()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler();
        using var other = BlobTest.Handler();
        handler.Save(location, BlobTest.State(1), step: 1);
        handler.Save(location, BlobTest.State(2), step: 2);
        handler.Save(location, BlobTest.State(3), step: 3);
        var planned = handler.Prune(location, new RetentionPolicy { Keep = 1 }, dryRun: true);
        Assert.Equal(new long[] { 1, 2 }, planned.Select(p => p.Step));

        other.Save(location, BlobTest.State(7), step: 1, overwrite: true);
        other.Remove(location, 3);

        Assert.Null(handler.RemoveIfUnchanged(location, planned[0]));
        Assert.Null(handler.RemoveIfUnchanged(location, planned[1]));
        Assert.Equal(new long[] { 1, 2 }, handler.GetCheckpointSteps(location));
    }
}
