namespace DataraxCkpt.Storage;

/// <summary>
/// A path with every symbolic link in it resolved, so two spellings of one folder (a link to it, a
/// linked parent) compare equal. Components that do not exist yet are kept as written.
/// </summary>
internal static class PhysicalPath
{
    // Link chains longer than this are treated as a loop and left unresolved (the OS refuses them too).
    private const int MaxLinks = 40;

    public static string Resolve(string path) => Resolve(Path.GetFullPath(path), MaxLinks);

    private static string Resolve(string fullPath, int linksLeft)
    {
        var root = Path.GetPathRoot(fullPath) ?? string.Empty;
        var current = root;
        var parts = fullPath[root.Length..].Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
        foreach (var part in parts)
        {
            current = Path.Combine(current, part);
            FileSystemInfo entry = new DirectoryInfo(current);
            if (entry.LinkTarget is null || linksLeft == 0)
            {
                continue;
            }

            // A relative target is relative to the folder holding the link.
            var target = Path.GetFullPath(entry.LinkTarget, Path.GetDirectoryName(current) ?? root);
            current = Resolve(target, linksLeft - 1);
        }

        return current.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
    }
}
