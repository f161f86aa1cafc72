namespace DataraxCkpt.Values;

/// <summary>
/// Builds item names: the path of a leaf with segments joined by '/', where a segment is a
/// dictionary key, a property name or a list index. '~' and '/' inside a segment are written as
/// '~0' and '~1' (as in JSON Pointer), so every name maps back to exactly one leaf.
/// A state that is itself a leaf is named '.'.
/// </summary>
internal static class ItemNames
{
    public const string RootLeaf = ".";

    public static string Escape(string segment)
    {
        if (segment.AsSpan().IndexOfAny('~', '/') < 0)
        {
            return segment;
        }

        return segment.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
    }

    public static string Join(string parent, string escapedSegment) =>
        parent.Length == 0 ? escapedSegment : string.Concat(parent, "/", escapedSegment);

    /// <summary>Wildcard match with '*' (any run) and '?' (one character), ordinal and case-sensitive.</summary>
    public static bool Matches(string name, string pattern)
    {
        int n = 0, p = 0, star = -1, mark = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == name[n]))
            {
                n++;
                p++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = n;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    /// <summary>Appends a value-path segment for error messages: <c>.key</c> or <c>[3]</c>.</summary>
    public static string ValuePathOf(string parent, object key) => key switch
    {
        string s when IsIdentifier(s) => parent + "." + s,
        string s => parent + "['" + s.Replace("'", "''", StringComparison.Ordinal) + "']",
        int i => parent + "[" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]",
        _ => parent + "[" + Convert.ToString(key, System.Globalization.CultureInfo.InvariantCulture) + "]",
    };

    private static bool IsIdentifier(string s)
    {
        if (s.Length == 0)
        {
            return false;
        }

        foreach (var c in s)
        {
            if (!char.IsLetterOrDigit(c) && c != '_' && c != '-')
            {
                return false;
            }
        }

        return true;
    }

    public static string KeySegment(object key) =>
        key as string ?? Convert.ToString(key, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
}
