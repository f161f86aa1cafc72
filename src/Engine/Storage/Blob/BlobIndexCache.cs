using System.Security.Cryptography;
using System.Text;
using DataraxCkpt.Values;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// The local SQLite index of one remote store (a <see cref="StepIndex"/> file under the user's cache
/// folder, keyed by the container's endpoint URL and the prefix). Never trusted over the store: rows are matched to the
/// listing by save id, a listing refreshes them, and deleting the cache loses nothing. It saves manifest
/// downloads: a step's items are read from its manifest once and kept here.
/// </summary>
internal sealed class BlobIndexCache
{
    /// <summary>Environment variable: the cache folder instead of the platform's (tests use it).</summary>
    public const string CacheDirectoryVariable = "DATARAXCKPT_CACHE_DIR";

    /// <param name="location">The store.</param>
    /// <param name="cacheDirectory">The cache root instead of the platform's.</param>
    /// <param name="containerUri">The store's container URL when a client was already built for it (saves building another).</param>
    public BlobIndexCache(BlobLocation location, string? cacheDirectory, Uri? containerUri = null)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(KeyOf(location, containerUri))))[..24].ToLowerInvariant();
        Folder = Path.Combine(cacheDirectory ?? Root(), "blob", key);
    }

    public string Folder { get; }

    /// <summary>
    /// What names the store: its container's endpoint URL (scheme, host, port, account; a SAS is never part of it)
    /// and its prefix. The endpoint matters: two emulators, or accounts of one name on two clouds, with the same
    /// container and prefix are different stores and must not share a cache. (Caches keyed by account, container
    /// and prefix alone, before, are simply not found again.) No request is made: at most a client is built.
    /// </summary>
    private static string KeyOf(BlobLocation location, Uri? containerUri)
    {
        var uri = containerUri ?? location.Connect(new Azure.Storage.Blobs.BlobClientOptions()).Uri;
        var container = uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        return $"{container}/{location.Prefix}";
    }

    /// <summary>The platform cache folder: $XDG_CACHE_HOME or ~/.cache, ~/Library/Caches, %LOCALAPPDATA%\DataraxCkpt\Cache.</summary>
    public static string Root()
    {
        var overridden = Environment.GetEnvironmentVariable(CacheDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(overridden))
        {
            return overridden;
        }

        if (OperatingSystem.IsWindows())
        {
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "DataraxCkpt", "Cache");
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (OperatingSystem.IsMacOS())
        {
            return Path.Combine(home, "Library", "Caches", "DataraxCkpt");
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        return Path.Combine(string.IsNullOrWhiteSpace(xdg) ? Path.Combine(home, ".cache") : xdg, "DataraxCkpt");
    }

    private StepIndex Open()
    {
        Directory.CreateDirectory(Folder);
        return StepIndex.Open(Folder, create: true, upgrade: true);
    }

    /// <summary>
    /// Brings the cached rows in line with a listing: rows of steps no longer listed, or listed as another
    /// save, are dropped, and pins are updated. Listed steps not cached yet are added when their items are
    /// first read (a listing writes nothing for them, so listing 10,000 new steps costs no cache writes).
    /// </summary>
    public void Refresh(IReadOnlyList<StepRow> listed)
    {
        using var index = Open();
        var live = listed.ToDictionary(r => r.Step);
        foreach (var row in index.All())
        {
            if (!live.TryGetValue(row.Step, out var now) || now.SaveId != row.SaveId || now.ManifestHash != row.ManifestHash)
            {
                index.DropStep(row.Step);
            }
            else if (now.Pinned != row.Pinned)
            {
                index.SetPinned(row.Step, now.Pinned);
            }
        }
    }

    /// <summary>The items of <paramref name="row"/>'s save when cached, else null.</summary>
    public List<CheckpointItemInfo>? TryItems(StepRow row)
    {
        using var index = Open();
        var cached = index.Get(row.Step);
        if (cached is null || cached.SaveId != row.SaveId || cached.ManifestHash != row.ManifestHash)
        {
            return null;
        }

        var items = index.Items(row.Step);
        return items.Count == row.ItemCount ? items : null;
    }

    /// <summary>Keeps a step's row and items as read from its verified manifest.</summary>
    public void Put(StepRow row, IReadOnlyList<StoredItem> items, Func<StoredItem, long> storedSizeOf)
    {
        if (row.ItemCount != items.Count)
        {
            // A commit record whose item count is not its manifest's (the record is anyone's input): the
            // index refuses such a list, and TryItems would miss it anyway. Not cached; the store is the truth.
            return;
        }

        using var index = Open();
        index.CommitStep(row, items, storedSizeOf, intentToClear: null);
    }

    /// <summary>Deletes the cache file (repair rebuilds it from the listing).</summary>
    public void Clear()
    {
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm", "-journal" })
        {
            File.Delete(StepIndex.PathOf(Folder) + suffix);
        }
    }
}
