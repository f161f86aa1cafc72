using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// The local cache folder of a remote store was keyed by account, container and prefix only: two emulators (or two
/// clouds' accounts of one name) with the same container and prefix shared one cache. Keyed with the endpoint now.
/// </summary>
public sealed class BlobCacheFolderTests
{
    private static string FolderOf(string location, string root) => new BlobIndexCache(BlobLocation.Parse(location), root).Folder;

    [Fact]
    public void Two_stores_differing_only_in_their_endpoint_get_different_cache_folders()
    {
        using var dir = new TempDirectory();
        var first = FolderOf("http://127.0.0.1:10000/devstoreaccount1/ckpts/run?sv=2024-01-01&sig=a", dir.Path);
        var second = FolderOf("http://127.0.0.1:10001/devstoreaccount1/ckpts/run?sv=2024-01-01&sig=a", dir.Path);
        var otherHost = FolderOf("http://localhost:10000/devstoreaccount1/ckpts/run?sv=2024-01-01&sig=a", dir.Path);
        Assert.NotEqual(first, second);
        Assert.NotEqual(first, otherHost);
        Assert.NotEqual(second, otherHost);
    }

    [Fact]
    public void One_store_reached_with_two_sas_tokens_or_a_differently_cased_host_keeps_one_cache_folder()
    {
        using var dir = new TempDirectory();
        var first = FolderOf("https://acct.blob.core.windows.net/ckpts/run?sv=2024-01-01&sp=r&sig=a", dir.Path);
        Assert.Equal(first, FolderOf("https://ACCT.blob.core.windows.net/ckpts/run/?sv=2024-01-01&sp=rl&sig=b", dir.Path));
        Assert.NotEqual(first, FolderOf("https://acct.blob.core.windows.net/ckpts/other?sv=2024-01-01&sig=a", dir.Path));
        // The store passes the URL of the client it already built: the same folder.
        var location = BlobLocation.Parse("https://acct.blob.core.windows.net/ckpts/run?sv=2024-01-01&sig=a");
        Assert.Equal(first, new BlobIndexCache(location, dir.Path, location.Connect(new Azure.Storage.Blobs.BlobClientOptions()).Uri).Folder);
    }
}
