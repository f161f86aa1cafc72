using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Sas;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>A SAS that expires as the save reaches its commit record: the refusal is access denied, not "could not tell".</summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobExpiredSasAttackTests
{
    private const BlobContainerSasPermissions Every = BlobContainerSasPermissions.Read | BlobContainerSasPermissions.Add | BlobContainerSasPermissions.Create
        | BlobContainerSasPermissions.Write | BlobContainerSasPermissions.Delete | BlobContainerSasPermissions.List;

    /// <summary>From the commit record's PUT on, every request carries another (expired) SAS.</summary>
    private sealed class ExpiresAtCommit(string query) : HttpPipelineSynchronousPolicy
    {
        private int _expired;

        public bool Expired => Volatile.Read(ref _expired) != 0;

        public override void OnSendingRequest(HttpMessage message)
        {
            if (message.Request.Method == RequestMethod.Put && message.Request.Uri.Path.Contains("/commits/", StringComparison.Ordinal))
            {
                Interlocked.Exchange(ref _expired, 1);
            }

            if (Expired)
            {
                message.Request.Uri.Query = query;
            }
        }
    }

    [Fact]
    public void A_sas_that_expires_at_the_commit_record_is_access_denied_naming_the_write_and_lists_nothing()
    {
        var location = AzuriteFixture.NewLocation();
        using (var setup = BlobTest.Handler())
        {
            setup.Save(location, BlobTest.State(1), step: 1);
        }

        var container = BlobTest.Container(location);
        var uri = container.GenerateSasUri(Every, DateTimeOffset.UtcNow.AddHours(1));
        var sas = $"{uri.GetLeftPart(UriPartial.Path)}/run{uri.Query}";
        var expired = container.GenerateSasUri(Every, DateTimeOffset.UtcNow.AddHours(-1)).Query;
        var policy = new ExpiresAtCommit(expired);
        using var handler = BlobTest.Handler(new BlobSettings { TestPolicy = policy, RetryDelay = TimeSpan.FromMilliseconds(10) });
        var e = Assert.ThrowsAny<Exception>(() => handler.Save(sas, BlobTest.State(2), step: 2));
        Assert.True(policy.Expired);
        var denied = Assert.IsType<StoreAccessDeniedException>(e);
        Assert.Equal("write", denied.Operation);
        Assert.Equal("commits/00000000000000000002", denied.Item);
        Assert.DoesNotContain("sig=", denied.Message, StringComparison.Ordinal);
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 1 }, reader.GetCheckpointSteps(location));
    }
}
