using System.Collections;
using System.Globalization;

namespace DataraxCkpt;

/// <summary>
/// Lenient readers for restored state. A state may come back from the engine, or through PowerShell,
/// as a different dictionary or integer type than was saved (an ordered dictionary for a
/// <c>Dictionary&lt;string, object?&gt;</c>, an int for a long); readers accept every faithful form and
/// report anything else as a problem rather than throwing mid-restore.
/// </summary>
internal static class StateValues
{
    /// <summary>The value as a string-keyed dictionary, or null when it is not a dictionary.</summary>
    public static IDictionary<string, object?>? AsDictionary(object? value)
    {
        switch (value)
        {
            case IDictionary<string, object?> generic:
                return generic;
            case IReadOnlyDictionary<string, object?> readOnly:
                return readOnly.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            case StateObject properties:
                return properties.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            case IDictionary legacy:
                var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (DictionaryEntry entry in legacy)
                {
                    if (entry.Key is not string name)
                    {
                        return null;
                    }

                    copy[name] = entry.Value;
                }

                return copy;
            default:
                return null;
        }
    }

    /// <summary>Reads an integer of any .NET integer type that fits in a long.</summary>
    public static bool TryGetInt64(object? value, out long result)
    {
        switch (value)
        {
            case long l: result = l; return true;
            case int i: result = i; return true;
            case short s: result = s; return true;
            case sbyte sb: result = sb; return true;
            case byte b: result = b; return true;
            case ushort us: result = us; return true;
            case uint ui: result = ui; return true;
            case ulong ul when ul <= long.MaxValue: result = (long)ul; return true;
            default: result = 0; return false;
        }
    }

    /// <summary>How a value is shown in an error message.</summary>
    public static string Describe(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? value.GetType().Name,
    };
}
