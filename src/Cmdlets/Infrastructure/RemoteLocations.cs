using System.Text.RegularExpressions;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// What the cmdlets need to know of a remote location (<c>az://</c>, <c>https://</c>, <c>http://</c>) before
/// the engine sees it: how to show it without its secret, and whether the environment can reach it at all.
/// The engine parses and connects; these checks exist so that a missing credential is one clear error with a
/// stable id, found before any request.
/// </summary>
internal static partial class RemoteLocations
{
    /// <summary>The environment variable holding a storage connection string.</summary>
    public const string ConnectionStringVariable = "AZURE_STORAGE_CONNECTION_STRING";

    /// <summary>The environment variable naming the storage account used with Azure.Identity.</summary>
    public const string AccountVariable = "AZURE_STORAGE_ACCOUNT";

    /// <summary>
    /// Any path or location as messages, error targets and -Verbose lines may show it: from its first <c>?</c> on, the
    /// query is replaced by <c>?&lt;redacted&gt;</c> for a remote location (a SAS), and for any other string whose query
    /// holds <c>sig=</c> (any case). That second case is a mistyped URL the cmdlets do not take for remote ('https:/acct…',
    /// a leading space, 'FileSystem::https:/…'): it reaches the file-system provider as a path, and no refusal of it may
    /// print the SAS signature into a job's log. A local path with no <c>?</c>, or whose part after the <c>?</c> holds no
    /// <c>sig=</c>, is shown as it is: '?' and 'sig=' are legal in file names, and a path a message cannot be matched
    /// against misleads.
    /// </summary>
    public static string Shown(string location)
    {
        var query = location.IndexOf('?', StringComparison.Ordinal);
        return query >= 0 && (CheckpointLocation.IsRemote(location) || HoldsSignature(location.AsSpan(query)))
            ? location[..query] + "?<redacted>"
            : location;
    }

    /// <summary>
    /// A query holds a SAS signature: <c>sig=</c> in any case, also percent-encoded (<c>%73ig=</c>, <c>s%69g=</c>,
    /// <c>%53%49%47=</c>), which the storage service decodes to the same parameter.
    /// </summary>
    private static bool HoldsSignature(ReadOnlySpan<char> query) =>
        query.Contains("sig=", StringComparison.OrdinalIgnoreCase)
        || (query.Contains('%') && Uri.UnescapeDataString(query.ToString()).Contains("sig=", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Text that quotes a path it was not handed as one (a provider's exception message, an engine log line) with every
    /// query that holds <c>sig=</c> replaced by <c>?&lt;redacted&gt;</c>, by the rule of <see cref="Shown"/>: a query runs
    /// from a <c>?</c> to the next quote or white space.
    /// </summary>
    public static string Scrubbed(string text) =>
        text.Contains('?') && HoldsSignature(text) ? Query().Replace(text, m => HoldsSignature(m.ValueSpan) ? "?<redacted>" : m.Value) : text;

    [GeneratedRegex(@"\?[^\s'""]*", RegexOptions.CultureInvariant)]
    private static partial Regex Query();

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
