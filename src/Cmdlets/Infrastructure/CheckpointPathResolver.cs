using System.Collections.ObjectModel;
using System.Management.Automation;
using DataraxCkpt.Commands.Errors;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// Turns a checkpoint path as typed into the locations the engine may be given: a remote location as typed, or full
/// file-system paths resolved through the session's provider. The commands (<see cref="CheckpointCommandBase"/>) and tab
/// completion (<see cref="CompletionDirectory"/>) both resolve through it, so that completion offers what the command
/// will read. The provider is reached through delegates because completion has no cmdlet to ask, only the session.
/// </summary>
/// <remarks>
/// One order for every path: a NUL character is refused first (the provider passes it on and the engine would fail with
/// a message that names no path); a remote location is taken as typed; a -Path's backticks are unescaped; the name so
/// unescaped (what the provider is given) is checked for a UNC form; then the provider resolves it, and only a
/// file-system full path is accepted. A wildcard -Path is matched by the provider instead, after the same NUL and UNC checks.
/// </remarks>
internal static class CheckpointPathResolver
{
    /// <summary>The provider's path for a name: <c>GetUnresolvedProviderPathFromPSPath</c> and the provider's name.</summary>
    public delegate string UnresolvedProviderPath(string name, out string providerName);

    /// <summary>The provider's matches of a pattern: <c>GetResolvedProviderPathFromPSPath</c> and the provider's name.</summary>
    public delegate Collection<string> ResolvedProviderPaths(string pattern, out string providerName);

    /// <summary>
    /// A -Path: a remote location, or one without unescaped wildcard characters, is one name (its backticks escape); a
    /// local one with wildcards is a pattern matched against existing items.
    /// </summary>
    public static bool IsPattern(string path) => !CheckpointLocation.IsRemote(path) && WildcardPattern.ContainsWildcardCharacters(path);

    /// <summary>
    /// One path taken as a name (it may not exist yet): the provider's path for it, which reads nothing from the disk.
    /// </summary>
    /// <param name="path">The path as typed; errors name it.</param>
    /// <param name="escaped">A -Path: backticks escape the next character (<c>run`[1`]</c> is run[1]); -LiteralPath keeps every character.</param>
    /// <param name="provider">The session's provider call.</param>
    public static PathResolution Named(string path, bool escaped, UnresolvedProviderPath provider)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(provider);
        if (NulCharacter(path) is { } refused)
        {
            return refused;
        }

        if (CheckpointLocation.IsRemote(path))
        {
            return PathResolution.Remote(path);
        }

        var name = escaped && path.Contains('`', StringComparison.Ordinal) ? WildcardPattern.Unescape(path) : path;
        if (IsUncOutsideWindows(name))
        {
            // Asked before the provider: it would take \\server\share for /server/share (New-Item creates that) or leave it as it is.
            return UncPathNotSupported(path);
        }

        string full;
        string providerName;
        try
        {
            full = provider(name, out providerName);
        }
        catch (Exception ex) when (IsProviderRefusal(ex))
        {
            return PathResolution.ProviderRefused(ex, path);
        }

        return NotFileSystem(providerName, path) ?? (FullPath(path, full) is { } notFull ? notFull : PathResolution.Local(new[] { full }));
    }

    /// <summary>
    /// The existing file-system items a wildcard path matches (one provider call); none is an empty list, as for Get-Item.
    /// A parent folder that does not exist is <see cref="PathFailure.PathNotFound"/>. When nothing matched, the pattern
    /// itself is asked of <paramref name="unresolved"/> (a second call, reading nothing): a pattern that names no full path
    /// (FileSystem::runs/*, matched against the process's directory, never the location) is refused as a name would be.
    /// </summary>
    public static PathResolution Matches(string path, ResolvedProviderPaths provider, UnresolvedProviderPath unresolved)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(unresolved);
        if (NulCharacter(path) is { } refused)
        {
            return refused;
        }

        if (IsUncOutsideWindows(WildcardPattern.Unescape(path)))
        {
            // The provider matches \\server\share\* against /server/share on Linux.
            return UncPathNotSupported(path);
        }

        Collection<string> resolved;
        string providerName;
        try
        {
            resolved = provider(path, out providerName);
        }
        catch (ItemNotFoundException ex)
        {
            return NotAFullPattern(path, unresolved) ?? PathResolution.NotFound(ex, path);
        }
        catch (Exception ex) when (IsProviderRefusal(ex))
        {
            return PathResolution.ProviderRefused(ex, path);
        }

        if (NotFileSystem(providerName, path) is { } notFileSystem)
        {
            return notFileSystem;
        }

        // Only full paths reach the engine (see Named); a match the provider leaves unqualified is reported.
        foreach (var match in resolved)
        {
            if (FullPath(path, match) is { } notFull)
            {
                return notFull;
            }
        }

        return resolved.Count == 0 && NotAFullPattern(path, unresolved) is { } notFullPattern ? notFullPattern : PathResolution.Local(resolved);
    }

    /// <summary>
    /// The refusal of a pattern that names no full path, or null. Only a file-system pattern is asked (another provider's
    /// is reported by the match); a provider that refuses the pattern as a name leaves the match's answer standing.
    /// </summary>
    private static PathResolution? NotAFullPattern(string path, UnresolvedProviderPath unresolved)
    {
        try
        {
            var full = unresolved(path, out var providerName);
            return NotFileSystem(providerName, path) is null ? FullPath(path, full) : null;
        }
        catch (Exception ex) when (IsProviderRefusal(ex))
        {
            return null;
        }
    }

    /// <summary>
    /// A Windows network path (<c>\\server\share</c> or <c>//server/share</c>, also <c>\\?\</c> and <c>\\.\</c>, or
    /// provider-qualified) typed where the file system has no such paths: a share is reached there through the folder it
    /// is mounted on. Three or more leading slashes are the root on every system, a local path.
    /// </summary>
    public static bool IsUncOutsideWindows(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        // FileSystem::\\server\share (also Microsoft.PowerShell.Core\FileSystem::) is the same path; another provider's is not a file path.
        var span = path.AsSpan();
        var qualifier = span.IndexOf("::", StringComparison.Ordinal);
        if (qualifier >= 0 && span[..qualifier].EndsWith("FileSystem", StringComparison.OrdinalIgnoreCase))
        {
            span = span[(qualifier + 2)..];
        }

        // The provider takes / and \ alike on Linux, and Windows reads //server/share as the share \\server\share: both
        // spellings (and mixed ones) name a share the user means, never /server/share on the local disk.
        return span.Length >= 2 && IsSeparator(span[0]) && IsSeparator(span[1])
            && (span[0] == '\\' || span[1] == '\\' || span.Length == 2 || !IsSeparator(span[2]));

        static bool IsSeparator(char c) => c is '/' or '\\';
    }

    /// <summary>A path as an error message may show it: a NUL character as PowerShell writes it, <c>`0</c>.</summary>
    public static string Visible(string path) => path.Replace("\0", "`0", StringComparison.Ordinal);

    // What the provider raises for a path it cannot take (unknown drive or provider, a form it does not support, bad
    // characters, '~' with no home folder: PSInvalidOperationException, as in a cron job without HOME).
    private static bool IsProviderRefusal(Exception ex) =>
        ex is ProviderNotFoundException or System.Management.Automation.DriveNotFoundException or NotSupportedException or ArgumentException
            or PSInvalidOperationException;

    private static PathResolution? NulCharacter(string path)
    {
        if (!path.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }

        // The provider passes a NUL on and the engine fails with "Null character in path", which names no path.
        var shown = Visible(RemoteLocations.Shown(path));
        return PathResolution.Refused(CheckpointErrorRecords.Module("InvalidPath", ErrorCategory.InvalidArgument,
            $"'{shown}' holds a NUL character (shown as `0), which no file or blob name may contain, so nothing was read or written. " +
            "Remove it from the path (a NUL often comes from a string read from a fixed-size buffer or a file written as UTF-16).", shown));
    }

    private static PathResolution UncPathNotSupported(string path) =>
        PathResolution.Refused(CheckpointErrorRecords.Module("UncPathNotSupported", ErrorCategory.InvalidArgument,
            $"'{RemoteLocations.Shown(path)}' is a Windows network (UNC) path; on Linux and macOS it names no network share, so nothing was read or written. " +
            "Mount the share and give the folder it is mounted on (for example, after 'mount -t cifs //server/share /mnt/share', " +
            "use /mnt/share/...), or run the command on Windows.", path));

    private static PathResolution? NotFileSystem(string providerName, string path) =>
        string.Equals(providerName, "FileSystem", StringComparison.OrdinalIgnoreCase)
            ? null
            : PathResolution.Refused(CheckpointErrorRecords.Module("NotAFileSystemPath", ErrorCategory.InvalidArgument,
                $"'{RemoteLocations.Shown(path)}' is a {providerName} path; checkpoint directories live in the file system.", path));

    /// <summary>
    /// Null for a full path. The engine takes a path that is not fully qualified relative to the process's current
    /// directory, never the session's location, so any other is refused: a network path (a drive rooted at
    /// \\server\share outside Windows) as UncPathNotSupported; anything else (FileSystem::run, which the provider does
    /// not take relative to the current location) as InvalidPath, since telling the user to mount a share they never
    /// named misleads.
    /// </summary>
    private static PathResolution? FullPath(string path, string resolved)
    {
        if (System.IO.Path.IsPathFullyQualified(resolved))
        {
            return null;
        }

        if (resolved.StartsWith(@"\\", StringComparison.Ordinal) || resolved.StartsWith("//", StringComparison.Ordinal))
        {
            return UncPathNotSupported(path);
        }

        return PathResolution.Refused(CheckpointErrorRecords.Module("InvalidPath", ErrorCategory.InvalidArgument,
            $"'{RemoteLocations.Shown(path)}' resolves to '{RemoteLocations.Shown(resolved)}', which is not a full path: a provider-qualified path (FileSystem::...) is not " +
            "taken relative to the current location, so nothing was read or written. Give a full path, or a path relative to " +
            "the current location without the provider name (./run).", path));
    }
}
