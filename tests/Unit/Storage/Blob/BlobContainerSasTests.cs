using Azure.Storage.Sas;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// A SAS for the container (the usual one to hand out) cannot create containers: the store's create-if-missing
/// was refused with 403 and every save failed, whatever rights the SAS had (found by the attack on the remote backend).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobContainerSasTests
{
    private static string Sas(string location, BlobContainerSasPermissions permissions)
    {
        var uri = BlobTest.Container(location).GenerateSasUri(permissions, DateTimeOffset.UtcNow.AddHours(1));
        return $"{uri.GetLeftPart(UriPartial.Path)}/run{uri.Query}";
    }

    [Fact]
    public void A_container_sas_with_every_right_saves_lists_restores_and_prunes()
    {
        var location = AzuriteFixture.NewLocation();
        using (var setup = BlobTest.Handler())
        {
            setup.Save(location, BlobTest.State(1), step: 1);
        }

        var sas = Sas(location, BlobContainerSasPermissions.All);
        using var handler = BlobTest.Handler();
        var state = BlobTest.State(2);
        Assert.Equal(2, handler.Save(sas, state).Step);
        handler.Save(sas, BlobTest.State(3), step: 3, keep: 2);
        Assert.Equal(new long[] { 2, 3 }, handler.GetCheckpointSteps(sas));
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(sas, 2)));
        Assert.Equal(new long[] { 2, 3 }, BlobTest.Handler().GetCheckpointSteps(location));
    }

    [Fact]
    public void A_container_sas_without_delete_rights_commits_the_save_and_reports_the_retention_failure_leaving_the_older_steps()
    {
        var location = AzuriteFixture.NewLocation();
        using (var setup = BlobTest.Handler())
        {
            setup.Save(location, BlobTest.State(1), step: 1);
        }

        var sas = Sas(location, BlobContainerSasPermissions.Read | BlobContainerSasPermissions.Write | BlobContainerSasPermissions.Create | BlobContainerSasPermissions.Add | BlobContainerSasPermissions.List);
        using var handler = BlobTest.Handler();
        var e = Assert.Throws<RetentionFailedException>(() => handler.Save(sas, BlobTest.State(2), keep: 1));
        Assert.Equal(2, e.Checkpoint.Step);
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 1, 2 }, reader.GetCheckpointSteps(location));
        Assert.Null(StateComparer.FirstDifference(BlobTest.State(1), reader.Restore(location, 1)));
    }
}
