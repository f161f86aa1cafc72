using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// A parsed remote location: <c>az://container/prefix</c>, <c>https://account.blob.core.windows.net/container/prefix</c>
/// or a path-style URL (Azurite's <c>http://127.0.0.1:10000/devstoreaccount1/container/prefix</c>), with how to
/// reach it. <see cref="Display"/> never carries a SAS or key: it is what errors and logs show.
/// </summary>
internal sealed class BlobLocation
{
    /// <summary>The environment variable holding a storage connection string.</summary>
    public const string ConnectionStringVariable = "AZURE_STORAGE_CONNECTION_STRING";

    /// <summary>The environment variable naming the account for <c>az://</c> with Azure.Identity.</summary>
    public const string AccountVariable = "AZURE_STORAGE_ACCOUNT";

    private const string DevelopmentAccount = "devstoreaccount1";

    /// <summary>The longest blob name the service accepts.</summary>
    private const int MaxBlobName = 1024;

    /// <summary>Characters the store's longest blob name adds to the prefix: data/&lt;D20&gt;-&lt;save id&gt;/manifest.json.lz4.</summary>
    private const int LongestNameUnderPrefix = 76;
    private const string DevelopmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Func<BlobClientOptions, BlobServiceClient> _connect;

    private BlobLocation(string display, string account, string container, string prefix, Func<BlobClientOptions, BlobServiceClient> connect)
    {
        Display = display;
        Account = account;
        Container = container;
        Prefix = prefix;
        _connect = connect;
    }

    /// <summary>The location as users see it, without credentials.</summary>
    public string Display { get; }

    public string Account { get; }

    public string Container { get; }

    /// <summary>The blob-name prefix of the store: empty, or ending in '/'.</summary>
    public string Prefix { get; }

    public BlobContainerClient Connect(BlobClientOptions options) => _connect(options).GetBlobContainerClient(Container);

    /// <summary>Parses a remote location and finds its credentials in the environment.</summary>
    /// <exception cref="ArgumentException">The location is malformed or no credentials are set; the message says what to set.</exception>
    public static BlobLocation Parse(string location)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        var connectionString = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (location.StartsWith("az://", StringComparison.OrdinalIgnoreCase))
        {
            if (location.Contains('?', StringComparison.Ordinal))
            {
                // A pasted SAS would become part of the prefix, and so of every message showing the location.
                throw new ArgumentException(
                    $"'{Redact(location)}' has a query: az:// locations take their credentials from {ConnectionStringVariable} or {AccountVariable}; to use a SAS, write the location as https://<account>.blob.core.windows.net/<container>/<prefix>?<sas>.",
                    nameof(location));
            }

            var (container, prefix) = SplitPath(location, location["az://".Length..], location);
            var display = $"az://{container}/{prefix}".TrimEnd('/');
            if (!string.IsNullOrWhiteSpace(connectionString))
            {
                var account = ConnectionStringPart(connectionString, "AccountName") ?? (IsDevelopment(connectionString) ? DevelopmentAccount : "account");
                return new BlobLocation(display, account, container, prefix, o => new BlobServiceClient(connectionString, o));
            }

            var named = Environment.GetEnvironmentVariable(AccountVariable);
            if (!string.IsNullOrWhiteSpace(named))
            {
                var service = new Uri($"https://{named}.blob.core.windows.net");
                return new BlobLocation(display, named, container, prefix, o => new BlobServiceClient(service, new DefaultAzureCredential(), o));
            }

            throw new ArgumentException(
                $"No storage account for '{display}': set {ConnectionStringVariable} to the account's connection string, or {AccountVariable} to its name (signed in for Azure.Identity: az login, a managed identity, or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET).",
                nameof(location));
        }

        if (!Uri.TryCreate(location, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException($"'{Redact(location)}' is not a blob location: use az://<container>/<prefix> or https://<account>.blob.core.windows.net/<container>/<prefix>.", nameof(location));
        }

        var path = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        var pathStyle = uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || uri.IsLoopback;
        string accountName;
        if (pathStyle)
        {
            var slash = path.IndexOf('/', StringComparison.Ordinal);
            accountName = slash < 0 ? path : path[..slash];
            path = slash < 0 ? string.Empty : path[(slash + 1)..];
            if (accountName.Length == 0)
            {
                throw new ArgumentException($"'{Redact(location)}' names no account: an emulator URL is http://<host>:<port>/<account>/<container>/<prefix>.", nameof(location));
            }
        }
        else
        {
            accountName = uri.Host.Split('.')[0];
        }

        var (cont, pre) = SplitPath(Redact(location), path, location);
        var serviceUri = new Uri($"{uri.Scheme}://{uri.Authority}{(pathStyle ? "/" + accountName : string.Empty)}");
        var shown = $"{serviceUri.ToString().TrimEnd('/')}/{cont}/{pre}".TrimEnd('/');
        if (!string.IsNullOrEmpty(uri.Query) && uri.Query.Length > 1)
        {
            var sas = new AzureSasCredential(uri.Query.TrimStart('?'));
            return new BlobLocation(shown, accountName, cont, pre, o => new BlobServiceClient(serviceUri, sas, o));
        }

        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            var key = ConnectionStringPart(connectionString, "AccountKey") ?? (IsDevelopment(connectionString) ? DevelopmentKey : null);
            var name = ConnectionStringPart(connectionString, "AccountName") ?? (IsDevelopment(connectionString) ? DevelopmentAccount : null);
            if (key is not null && string.Equals(name, accountName, StringComparison.Ordinal))
            {
                var shared = new StorageSharedKeyCredential(accountName, key);
                return new BlobLocation(shown, accountName, cont, pre, o => new BlobServiceClient(serviceUri, shared, o));
            }
        }

        if (uri.Scheme == Uri.UriSchemeHttp)
        {
            throw new ArgumentException(
                $"No credentials for '{shown}': put a SAS in the URL, or set {ConnectionStringVariable} to a connection string of account '{accountName}' (Azure.Identity needs https).",
                nameof(location));
        }

        return new BlobLocation(shown, accountName, cont, pre, o => new BlobServiceClient(serviceUri, new DefaultAzureCredential(), o));
    }

    private static (string Container, string Prefix) SplitPath(string shown, string path, string location)
    {
        _ = location;
        path = path.Trim('/');
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        var container = slash < 0 ? path : path[..slash];
        var prefix = slash < 0 ? string.Empty : path[(slash + 1)..].Trim('/');
        if (container.Length is < 3 or > 63 || !container.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
            || container.StartsWith('-') || container.EndsWith('-') || container.Contains("--", StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"'{shown}' does not name a valid container ('{container}'): containers are 3-63 lowercase letters, digits and single hyphens, e.g. az://checkpoints/run-1.",
                nameof(location));
        }

        if (prefix.Length > 0 && prefix.Split('/').Any(p => p.Length == 0 || p is "." or ".."))
        {
            throw new ArgumentException($"'{shown}' has an empty, '.' or '..' segment in its prefix '{prefix}'.", nameof(location));
        }

        if (prefix.Split('/').Any(p => p.Length > 0 && (char.IsWhiteSpace(p[0]) || char.IsWhiteSpace(p[^1]))) || prefix.Any(char.IsControl))
        {
            // A pasted trailing space or newline would name another store than the one the user sees.
            throw new ArgumentException(
                $"'{shown.Trim()}' has a prefix segment with leading or trailing whitespace or control characters: write the prefix without them (blob names keep them, so it would be another store).",
                nameof(location));
        }

        // Blob names are at most 1024 characters, and the longest under the prefix adds
        // data/<20-digit step>-<32-digit save id>/manifest.json.lz4 (76 characters) to it.
        if (prefix.Length + 1 > MaxBlobName - LongestNameUnderPrefix)
        {
            throw new ArgumentException(
                $"'{shown}' has a prefix of {prefix.Length} characters: blob names are at most {MaxBlobName} characters and the store's longest adds {LongestNameUnderPrefix}, so use a prefix of at most {MaxBlobName - LongestNameUnderPrefix - 1}.",
                nameof(location));
        }

        return (container, prefix.Length == 0 ? string.Empty : prefix + "/");
    }

    private static bool IsDevelopment(string connectionString) =>
        connectionString.Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase);

    private static string? ConnectionStringPart(string connectionString, string name)
    {
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && string.Equals(part[..eq].Trim(), name, StringComparison.OrdinalIgnoreCase))
            {
                return part[(eq + 1)..].Trim();
            }
        }

        return null;
    }

    /// <summary>A URL without its query (a SAS) for messages.</summary>
    private static string Redact(string location)
    {
        var q = location.IndexOf('?', StringComparison.Ordinal);
        return q < 0 ? location : location[..q] + "?<redacted>";
    }
}
