namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// A rooted file-system path outside Windows that the provider would give back unchanged: it starts with one '/', and
/// has no empty, '.' or '..' segment, no trailing '/', no '\' (the provider reads it as '/'), no ':' (a drive or
/// provider qualifier), and no backtick or wildcard character. Such a path is asked of the provider in its
/// provider-qualified form (<c>FileSystem::/…</c>), which the provider answers without looking up the root drive:
/// that lookup reads /proc/self/mountinfo on every call (about 40–260 µs of CPU a command: docs/performance-notes.md,
/// round 62), and for these paths it changes nothing in the answer.
/// </summary>
internal static class CanonicalRootedPath
{
    /// <summary>The provider qualifier that asks the file-system provider directly.</summary>
    public const string FileSystemQualifier = "FileSystem::";

    /// <summary>True when <paramref name="path"/> is such a path on this system.</summary>
    public static bool Is(string path)
    {
        if (OperatingSystem.IsWindows() || path.Length < 2 || path[0] != '/' || path[^1] == '/')
        {
            return false;
        }

        var segmentStart = 1;
        for (var i = 1; i <= path.Length; i++)
        {
            if (i < path.Length && path[i] != '/')
            {
                if (path[i] is '\\' or ':' or '`' or '*' or '?' or '[' or ']')
                {
                    return false;
                }

                continue;
            }

            // A segment ends here: empty ('//'), '.' or '..' is one the provider rewrites.
            var length = i - segmentStart;
            if (length == 0 || (length <= 2 && path.AsSpan(segmentStart, length).TrimStart('.').IsEmpty))
            {
                return false;
            }

            segmentStart = i + 1;
        }

        return true;
    }
}
