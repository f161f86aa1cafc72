using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// The local cache of a remote store keeps an item list only for a count it can stand behind (index
/// schema version 2 refuses a list whose count differs from the row's): a commit record whose item count
/// disagrees with its manifest must still list the manifest's items, as the released engine did.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobCacheItemCountTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_commit_record_whose_item_count_disagrees_with_its_manifest_still_lists_the_manifest_items()
    {
        var location = AzuriteFixture.NewLocation();
        using (var saving = BlobTest.Handler())
        {
            saving.Save(location, BlobTest.State(1), step: 1);
        }

        var record = BlobTest.Container(location).GetBlobClient($"run/commits/{1:D20}");
        var metadata = new Dictionary<string, string>(record.GetProperties().Value.Metadata) { ["items"] = "99" };
        record.SetMetadata(metadata);

        using var fresh = BlobTest.Handler(new BlobSettings { CacheDirectory = _dir.Sub("cache") });
        Assert.Equal(["b", "name", "position", "w"], fresh.GetItems(location, 1).Select(i => i.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["b", "name", "position", "w"], fresh.GetItems(location, 1).Select(i => i.Name).Order(StringComparer.Ordinal));
    }
}
