namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// What the cmdlets need to know of a remote location (<c>az://</c>, <c>https://</c>, <c>http://</c>) before
/// the engine sees it: how to show it without its secret, and whether the environment can reach it at all.
/// The engine parses and connects; these checks exist so that a missing credential is one clear error with a
/// stable id, found before any request.
/// </summary>
internal static class RemoteLocations
{
    /// <summary>The environment variable holding a storage connection string.</summary>
    public const string ConnectionStringVariable = "AZURE_STORAGE_CONNECTION_STRING";

    /// <summary>The environment variable naming the storage account used with Azure.Identity.</summary>
    public const string AccountVariable = "AZURE_STORAGE_ACCOUNT";

    /// <summary>The location as messages may show it: a URL's query (a SAS) is replaced by <c>?&lt;redacted&gt;</c>.</summary>
    public static string Shown(string location)
    {
        if (!CheckpointLocation.IsRemote(location))
        {
            return location;
        }

        var query = location.IndexOf('?', StringComparison.Ordinal);
        return query < 0 ? location : location[..query] + "?<redacted>";
    }

    /// <summary>
    /// Any path as an error may show it: <see cref="Shown"/> for a remote location, and for a string that only looks like
    /// one (a mistyped URL: 'https:/acct…', a leading space) whose query holds a SAS signature, the query redacted too:
    /// such a string reaches the file-system provider, and its refusal must not print the token into a job's log.
    /// </summary>
    public static string Redacted(string path)
    {
        if (CheckpointLocation.IsRemote(path))
        {
            return Shown(path);
        }

        var query = path.IndexOf('?', StringComparison.Ordinal);
        return query >= 0 && path.IndexOf("sig=", query, StringComparison.OrdinalIgnoreCase) >= 0 ? path[..query] + "?<redacted>" : path;
    }

    /// <summary>
    /// Why the environment holds no credentials for <paramref name="location"/>, or null when it may have some.
    /// <c>az://</c> needs the account from one of the two variables; an <c>http://</c> URL (an emulator) needs a
    /// SAS or the connection string, since Azure.Identity signs in over https only. An <c>https://</c> URL
    /// without a SAS may still sign in through Azure.Identity (az login, a managed identity), so it passes.
    /// </summary>
    public static string? MissingCredentials(string location)
    {
        var connectionString = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        var hasConnectionString = !string.IsNullOrWhiteSpace(connectionString);
        if (location.StartsWith("az://", StringComparison.OrdinalIgnoreCase))
        {
            return hasConnectionString || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(AccountVariable))
                ? null
                : $"No storage account for '{Shown(location)}': set {ConnectionStringVariable} to the account's connection string, " +
                  $"or {AccountVariable} to the account name and sign in for Azure.Identity (az login, a managed identity, or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET).";
        }

        if (location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !location.Contains('?', StringComparison.Ordinal) && !hasConnectionString)
        {
            return $"No credentials for '{Shown(location)}': put a SAS in the URL, or set {ConnectionStringVariable} to the account's connection string (Azure.Identity signs in over https only).";
        }

        return null;
    }
}
