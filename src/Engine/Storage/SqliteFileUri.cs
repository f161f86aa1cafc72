using System.Text;

namespace DataraxCkpt.Storage;

/// <summary>
/// The SQLite URI filename (<c>file:…</c>) of a file path, for opening options only a URI carries (<c>immutable=1</c>).
/// </summary>
/// <remarks>
/// SQLite decodes every <c>%HH</c> in a URI's path and ends the path at <c>?</c> or <c>#</c>. <see cref="Uri.AbsoluteUri"/>
/// leaves a <c>%</c> that already looks like an escape as it is, so a folder named <c>run%41</c> was opened as
/// <c>runA</c>: another directory's index. Here every byte but an unreserved character, a separator or a drive's colon
/// is escaped, so SQLite's decoding gives back exactly the path.
/// </remarks>
internal static class SqliteFileUri
{
    /// <summary>The URI of <paramref name="fullPath"/> (an absolute path), without a query.</summary>
    public static string Of(string fullPath)
    {
        var path = Path.DirectorySeparatorChar == '\\' ? fullPath.Replace('\\', '/') : fullPath;
        var uri = new StringBuilder("file://", path.Length + 16);
        if (!path.StartsWith('/'))
        {
            // A drive path (C:/…) gets the empty authority's slash; a UNC path (//server/share/…) already starts with two.
            uri.Append('/');
        }

        foreach (var b in Encoding.UTF8.GetBytes(path))
        {
            if (b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
                or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~' or (byte)'/' or (byte)':')
            {
                uri.Append((char)b);
            }
            else
            {
                uri.Append('%').Append(HexDigit(b >> 4)).Append(HexDigit(b & 0xF));
            }
        }

        return uri.ToString();
    }

    private static char HexDigit(int value) => (char)(value < 10 ? '0' + value : 'A' + value - 10);
}
