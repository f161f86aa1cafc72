using System.Globalization;

namespace DataraxCkpt.Commands.Conversion;

/// <summary>
/// The value paths the module names in its own save errors (<c>state.l[0].p</c>), written as the engine writes them in
/// an UnsupportedValue message, so both kinds of error point at a value the same way.
/// </summary>
internal static class ValuePaths
{
    /// <summary>The path of the whole state.</summary>
    public const string Root = "state";

    /// <summary>The path of the value under <paramref name="key"/> (a key, an index or a property name) of <paramref name="parent"/>.</summary>
    public static string Child(string parent, object? key) => key switch
    {
        string s when IsIdentifier(s) => parent + "." + s,
        string s => parent + "['" + s.Replace("'", "''", StringComparison.Ordinal) + "']",
        _ => parent + "[" + Convert.ToString(key, CultureInfo.InvariantCulture) + "]",
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
}
