using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Sas;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// A SAS without a right the operation needs (list, read, write, delete) is refused by the store with 403. That
/// reached users as the SDK's raw RequestFailedException, naming neither the location nor the right; it is now the
/// engine's <see cref="StoreAccessDeniedException"/> (error id AccessDenied), and a refused save leaves nothing listed.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobAccessDeniedTests
{
    private const BlobContainerSasPermissions Every = BlobContainerSasPermissions.Read | BlobContainerSasPermissions.Add | BlobContainerSasPermissions.Create
        | BlobContainerSasPermissions.Write | BlobContainerSasPermissions.Delete | BlobContainerSasPermissions.List;

    private static Uri SasUri(string location, BlobContainerSasPermissions permissions) =>
        BlobTest.Container(location).GenerateSasUri(permissions, DateTimeOffset.UtcNow.AddHours(1));

    /// <summary>The store's location as a URL with a container SAS of <paramref name="permissions"/>.</summary>
    private static string Sas(string location, BlobContainerSasPermissions permissions)
    {
        var uri = SasUri(location, permissions);
        return $"{uri.GetLeftPart(UriPartial.Path)}/run{uri.Query}";
    }

    /// <summary>A store with step 1 saved through the connection string.</summary>
    private static string StoreWithOneStep()
    {
        var location = AzuriteFixture.NewLocation();
        using var setup = BlobTest.Handler();
        setup.Save(location, BlobTest.State(1), step: 1);
        return location;
    }

    private static void AssertNamesTheLocationAndTheRight(StoreAccessDeniedException e, string sas, string operation, string right)
    {
        Assert.Equal("AccessDenied", e.ErrorId);
        Assert.Equal(operation, e.Operation);
        var shown = sas[..sas.IndexOf('?', StringComparison.Ordinal)];
        Assert.Equal(shown, e.Directory);
        Assert.Contains($"'{shown}'", e.Message, StringComparison.Ordinal);
        Assert.Contains(right, e.Message, StringComparison.Ordinal);
        Assert.Contains("AuthorizationPermissionMismatch", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=", e.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<Azure.RequestFailedException>(e.InnerException);
    }

    [Fact]
    public void A_sas_without_the_list_right_is_refused_as_access_denied_naming_the_location_the_listing_and_the_list_right()
    {
        var location = StoreWithOneStep();
        var sas = Sas(location, Every & ~BlobContainerSasPermissions.List);
        using var handler = BlobTest.Handler();
        var e = Assert.Throws<StoreAccessDeniedException>(() => handler.GetCheckpointSteps(sas));
        AssertNamesTheLocationAndTheRight(e, sas, "list", "the list (l) right");
        Assert.Null(e.Item);
        Assert.Contains("Storage Blob Data Reader", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sas_without_the_read_right_is_refused_as_access_denied_naming_the_read_right()
    {
        var location = StoreWithOneStep();
        var sas = Sas(location, Every & ~BlobContainerSasPermissions.Read);
        using var handler = BlobTest.Handler();
        var e = Assert.Throws<StoreAccessDeniedException>(() => handler.Restore(sas, 1));
        AssertNamesTheLocationAndTheRight(e, sas, "read", "the read (r) right");
        Assert.Equal("commits/00000000000000000001", e.Item);
    }

    [Fact]
    public void A_sas_without_write_rights_refuses_the_save_as_access_denied_and_leaves_the_store_as_it_was()
    {
        var location = StoreWithOneStep();
        var before = BlobTest.BlobNames(location);
        var sas = Sas(location, BlobContainerSasPermissions.Read | BlobContainerSasPermissions.List | BlobContainerSasPermissions.Delete);
        using var handler = BlobTest.Handler();
        var e = Assert.Throws<StoreAccessDeniedException>(() => handler.Save(sas, BlobTest.State(2), step: 2));
        AssertNamesTheLocationAndTheRight(e, sas, "write", "the write (w) and create (c) rights");
        Assert.Contains("Storage Blob Data Contributor", e.Message, StringComparison.Ordinal);
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 1 }, reader.GetCheckpointSteps(location));
        Assert.Equal(before, BlobTest.BlobNames(location));
    }

    [Fact]
    public void A_save_refused_at_its_commit_record_is_access_denied_and_keeps_no_listed_step_nor_its_data()
    {
        var location = StoreWithOneStep();
        var before = BlobTest.BlobNames(location);
        var sas = Sas(location, Every);
        // The data blobs are written with the full SAS; the commit record's PUT is sent with a SAS that may only read.
        var readOnly = SasUri(location, BlobContainerSasPermissions.Read | BlobContainerSasPermissions.List).Query;
        var refuse = new QueryForCommit(readOnly);
        using var handler = BlobTest.Handler(new BlobSettings { TestPolicy = refuse, RetryDelay = TimeSpan.FromMilliseconds(10) });
        var e = Assert.Throws<StoreAccessDeniedException>(() => handler.Save(sas, BlobTest.State(2), step: 2));
        Assert.True(refuse.Rewritten > 0);
        AssertNamesTheLocationAndTheRight(e, sas, "write", "the write (w) and create (c) rights");
        Assert.Equal("commits/00000000000000000002", e.Item);
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 1 }, reader.GetCheckpointSteps(location));
        Assert.Equal(before, BlobTest.BlobNames(location));
    }

    [Fact]
    public void A_sas_without_the_delete_right_refuses_a_removal_as_access_denied_and_the_step_stays()
    {
        var location = StoreWithOneStep();
        var sas = Sas(location, Every & ~BlobContainerSasPermissions.Delete);
        using var handler = BlobTest.Handler();
        var e = Assert.Throws<StoreAccessDeniedException>(() => handler.Remove(sas, 1));
        AssertNamesTheLocationAndTheRight(e, sas, "delete", "the delete (d) right");
        Assert.Equal("commits/00000000000000000001", e.Item);
        var retention = Assert.Throws<RetentionFailedException>(() => handler.Save(sas, BlobTest.State(2), step: 2, keep: 1));
        var inner = Assert.IsType<StoreAccessDeniedException>(retention.InnerException);
        Assert.Equal("delete", inner.Operation);
        Assert.Contains("the delete (d) right", retention.Message, StringComparison.Ordinal);
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 1, 2 }, reader.GetCheckpointSteps(location));
    }

    /// <summary>Sends the commit record's PUT with another SAS (its query), as a store that refuses that one write.</summary>
    private sealed class QueryForCommit(string query) : HttpPipelineSynchronousPolicy
    {
        private int _rewritten;

        public int Rewritten => Volatile.Read(ref _rewritten);

        public override void OnSendingRequest(HttpMessage message)
        {
            if (message.Request.Method == RequestMethod.Put && message.Request.Uri.Path.Contains("/commits/", StringComparison.Ordinal))
            {
                message.Request.Uri.Query = query;
                Interlocked.Increment(ref _rewritten);
            }
        }
    }
}
