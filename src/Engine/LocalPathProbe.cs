namespace DataraxCkpt;

/// <summary>
/// What a local path that is not a checkpoint directory names instead, following symbolic links: asked by a front end
/// after the engine found no directory there, to tell the user why (a file, a link to nothing) instead of "not found".
/// </summary>
/// <remarks>
/// Every answer is false or null for a remote location and on any error: the caller's own report (the engine's "directory
/// not found") then stands. A trailing separator still names the entry ('notes.txt/'), so it is trimmed first.
/// </remarks>
public static class LocalPathProbe
{
    /// <summary>
    /// True when <paramref name="path"/> is an existing local file, or a symbolic link whose final target is one. A link to
    /// a folder not created yet, or a loop of links, is not a file: it names nothing that exists.
    /// </summary>
    /// <param name="path">A full local path.</param>
    public static bool IsFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (CheckpointLocation.IsRemote(path))
        {
            return false;
        }

        try
        {
            // FileInfo.Exists is true for a link whatever it points to: the link counts only when its final target is a file.
            var info = new FileInfo(Trimmed(path));
            return info.Exists && (info.LinkTarget is null || info.ResolveLinkTarget(returnFinalTarget: true) is { Exists: true });
        }
        catch (Exception ex) when (IsProbeFailure(ex))
        {
            return false;
        }
    }

    /// <summary>
    /// The link target of <paramref name="path"/> when it is a local symbolic link that leads to nothing (a missing target,
    /// or a loop of links); null otherwise.
    /// </summary>
    /// <param name="path">A full local path.</param>
    public static string? BrokenLinkTarget(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (CheckpointLocation.IsRemote(path))
        {
            return null;
        }

        try
        {
            var info = new FileInfo(Trimmed(path));
            if (info.LinkTarget is not { } target)
            {
                return null;
            }

            try
            {
                var final = info.ResolveLinkTarget(returnFinalTarget: true);
                return final is null || final.Exists || Directory.Exists(final.FullName) ? null : target;
            }
            catch (IOException)
            {
                // Too many levels of links: a loop.
                return target;
            }
        }
        catch (Exception ex) when (IsProbeFailure(ex))
        {
            return null;
        }
    }

    private static string Trimmed(string path) => path.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);

    private static bool IsProbeFailure(Exception ex) =>
        ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException;
}
