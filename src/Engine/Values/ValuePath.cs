using System.Globalization;

namespace DataraxCkpt.Values;

/// <summary>
/// The path that names one value of a state in error messages (<c>state.cfg['learning rate'].tags[0]</c>), as
/// <see cref="UnsupportedValueException"/> writes it; public so that a caller converting its own values (the module's
/// cmdlets) names a value the same way the engine does.
/// </summary>
public static class ValuePath
{
    /// <summary>The path of the whole state.</summary>
    public const string Root = "state";

    /// <summary>
    /// The path of the value under <paramref name="key"/> of <paramref name="parent"/>: <c>.key</c> for a key made of
    /// letters, digits, <c>_</c> and <c>-</c>; <c>['key']</c> (quotes doubled) for any other text; <c>[3]</c> for an index
    /// or any other key, written in the invariant culture.
    /// </summary>
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
