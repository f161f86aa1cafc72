using System.Security.Cryptography;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Everything under a folder except one child (the checkpoint directory): paths, kinds, sizes and
/// content hashes, so a test can prove an operation changed nothing outside the checkpoint directory.
/// </summary>
public static class OutsideSnapshot
{
    public static SortedDictionary<string, string> Take(string parent, string excludedChild)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var excluded = Path.GetFullPath(excludedChild).TrimEnd(Path.DirectorySeparatorChar);
        Walk(parent, parent, excluded, result);
        return result;
    }

    private static void Walk(string root, string folder, string excluded, SortedDictionary<string, string> result)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder))
        {
            var full = Path.GetFullPath(entry);
            if (string.Equals(full, excluded, StringComparison.Ordinal))
            {
                continue;
            }

            var relative = Path.GetRelativePath(root, full);
            var info = new FileInfo(full);
            if (info.LinkTarget is not null)
            {
                result[relative] = "link -> " + info.LinkTarget;
            }
            else if (Directory.Exists(full))
            {
                result[relative] = "dir";
                Walk(root, full, excluded, result);
            }
            else
            {
                result[relative] = $"file {info.Length} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(full)))}";
            }
        }
    }
}
