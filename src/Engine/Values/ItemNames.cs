using System.Globalization;

namespace DataraxCkpt.Values;

/// <summary>
/// Builds item names: the path of a leaf with segments joined by '/' (docs/format.md §6). Names are
/// unique by construction: inside a string segment '~' is written '~0', '/' '~1', a lone surrogate
/// '~x' and four hex digits, and the empty string is '~e'; list indices and the integer keys of a
/// dictionary whose keys are all of one integer type are plain decimals; in a dictionary that may mix
/// key types (hashtable, ordered, dict&lt;any,…&gt;) an integer key is '~' type code ':' decimal
/// (e.g. '~i32:1'), so it never meets the string key "1" or the long key 1.
/// A state that is itself a leaf is named '.'.
/// </summary>
internal static class ItemNames
{
    public const string RootLeaf = ".";

    /// <summary>The segment of a dictionary key or property name that is a string.</summary>
    public static string Escape(string segment)
    {
        if (segment.Length == 0)
        {
            return "~e";
        }

        if (!SurrogateSearch.NeedsNameEscape(segment))
        {
            return segment;
        }

        var b = new System.Text.StringBuilder(segment.Length + 8);
        for (var i = 0; i < segment.Length; i++)
        {
            var c = segment[i];
            if (c == '~')
            {
                b.Append("~0");
            }
            else if (c == '/')
            {
                b.Append("~1");
            }
            else if (char.IsHighSurrogate(c) && i + 1 < segment.Length && char.IsLowSurrogate(segment[i + 1]))
            {
                b.Append(c).Append(segment[++i]);
            }
            else if (char.IsSurrogate(c))
            {
                b.Append("~x").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
            else
            {
                b.Append(c);
            }
        }

        return b.ToString();
    }

    /// <summary>The segment of a dictionary key (a string or an integer).</summary>
    /// <param name="key">The key.</param>
    /// <param name="mixedKeys">True in a dictionary whose keys may be of several types.</param>
    public static string KeySegment(object key, bool mixedKeys)
    {
        if (key is string s)
        {
            return Escape(s);
        }

        var digits = Convert.ToString(key, CultureInfo.InvariantCulture) ?? string.Empty;
        return mixedKeys ? "~" + TypeCodes.TryGetCode(key.GetType()) + ":" + digits : digits;
    }

    /// <summary>True when a dictionary of this type code may hold keys of several types.</summary>
    public static bool HasMixedKeys(string dictionaryCode) =>
        dictionaryCode is "hashtable" or "ordered" || dictionaryCode.StartsWith("dict<any,", StringComparison.Ordinal);

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
}
