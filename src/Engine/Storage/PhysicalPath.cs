namespace DataraxCkpt.Storage;

/// <summary>
/// A path with every symbolic link in it resolved, so two spellings of one folder (a link to it, a
/// linked parent) compare equal. Components that do not exist yet are kept as written.
/// </summary>
internal static class PhysicalPath
{
    /// <summary>
    /// The most links one resolution follows, all branches together: Linux's MAXSYMLINKS for one lookup, past which the
    /// kernel fails it with ELOOP. Counted per branch (each link's target given the links left to its link), a layout of
    /// links whose targets each pass through several other links cost a number of look-ups exponential in its depth.
    /// </summary>
    private const int MaxLinks = 40;

    /// <summary>Resolves every link in <paramref name="path"/> (made full first).</summary>
    /// <exception cref="IOException">Resolving it takes more than <see cref="MaxLinks"/> links (a loop, or links through
    /// links): the message names the path, as the OS would refuse it (ELOOP) on its first use.</exception>
    public static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        var linksLeft = MaxLinks;
        return Resolve(full, ref linksLeft, full);
    }

    private static string Resolve(string fullPath, ref int linksLeft, string asked)
    {
        var root = Path.GetPathRoot(fullPath) ?? string.Empty;
        var current = root;
        var parts = fullPath[root.Length..].Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
        foreach (var part in parts)
        {
            current = Path.Combine(current, part);
            FileSystemInfo entry = new DirectoryInfo(current);
            if (entry.LinkTarget is null)
            {
                continue;
            }

            if (linksLeft == 0)
            {
                throw new IOException($"Too many symbolic links to resolve '{asked}': more than {MaxLinks} are followed for it " +
                    $"(at '{current}'), a loop of links or links through links. The system refuses such a path too; use one with fewer links.");
            }

            linksLeft--;
            // A relative target is relative to the folder holding the link.
            var target = Path.GetFullPath(entry.LinkTarget, Path.GetDirectoryName(current) ?? root);
            current = Resolve(target, ref linksLeft, asked);
        }

        return current.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
    }
}
