using System.Collections;
using System.Collections.Specialized;
using System.Globalization;
using System.Reflection;

namespace DataraxCkpt.Values;

/// <summary>
/// The key comparers a dictionary may carry into a checkpoint, and their codes in the manifest's
/// optional <c>cmp</c> field (docs/format.md §6). A dictionary with its kind's default comparer has no
/// <c>cmp</c>; any comparer outside this set (a custom class, a specific culture) is refused at save,
/// because restoring it with another comparer would change which keys are equal.
/// </summary>
internal static class KeyComparers
{
    // Hashtable exposes its comparer only to subclasses, OrderedDictionary not at all; both fields exist
    // in every .NET since Core 3.0. A runtime without them fails the comparer tests loudly.
    private static readonly PropertyInfo? HashtableComparer =
        typeof(Hashtable).GetProperty("EqualityComparer", BindingFlags.NonPublic | BindingFlags.Instance);

    private static readonly FieldInfo? OrderedComparer =
        typeof(OrderedDictionary).GetField("_comparer", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>
    /// The code of a dictionary's comparer: null for its kind's default (no <c>cmp</c> field).
    /// </summary>
    /// <param name="dictionary">A Hashtable, OrderedDictionary or Dictionary&lt;K,V&gt;.</param>
    /// <param name="code">The comparer's code, or null for the default.</param>
    /// <returns>False when the comparer cannot be stored.</returns>
    public static bool TryGetCode(IDictionary dictionary, out string? code)
    {
        // The kind the cmdlets convert every PowerShell hashtable to: its comparer is read directly,
        // because the reflection below costs ~0.4 µs per dictionary, a tenth of saving a small config.
        if (dictionary is Dictionary<string, object?> strings)
        {
            // The known comparer's Equals decides (a sealed or unconstructible BCL type that checks the
            // other's type), never the dictionary's: a custom comparer may claim to equal anything.
            var stringComparer = strings.Comparer;
            var isDefault = ReferenceEquals(stringComparer, EqualityComparer<string>.Default)
                || EqualityComparer<string>.Default.Equals(stringComparer);
            code = isDefault ? null : CodeOf(stringComparer);
            return isDefault || code is not null;
        }

        var comparer = ComparerOf(dictionary);
        code = null;
        if (comparer is null)
        {
            return true;
        }

        var type = dictionary.GetType();
        if (type.IsGenericType)
        {
            var keyType = type.GetGenericArguments()[0];
            var defaultComparer = typeof(EqualityComparer<>).MakeGenericType(keyType).GetProperty("Default")!.GetValue(null);
            if (ReferenceEquals(comparer, defaultComparer) || defaultComparer!.Equals(comparer))
            {
                return true;
            }

            if (keyType != typeof(string))
            {
                return false;
            }
        }

        code = CodeOf(comparer);
        return code is not null;
    }

    /// <summary>A short description of a comparer for error messages.</summary>
    public static string Describe(IDictionary dictionary) => ComparerOf(dictionary)?.GetType().FullName ?? "default";

    /// <summary>The comparer a code stands for.</summary>
    /// <exception cref="FormatException">The code is not one of the fixed set, or names a culture this machine does not have.</exception>
    public static StringComparer Resolve(string code) => code switch
    {
        _ when code.StartsWith("current:", StringComparison.Ordinal) => OfCulture(code["current:".Length..], ignoreCase: false),
        _ when code.StartsWith("current-ic:", StringComparison.Ordinal) => OfCulture(code["current-ic:".Length..], ignoreCase: true),
        "ordinal" => StringComparer.Ordinal,
        "ordinal-ic" => StringComparer.OrdinalIgnoreCase,
        "invariant" => StringComparer.InvariantCulture,
        "invariant-ic" => StringComparer.InvariantCultureIgnoreCase,
        "current" => StringComparer.CurrentCulture,
        "current-ic" => StringComparer.CurrentCultureIgnoreCase,
        _ => throw new FormatException($"unknown key comparer '{(code.Length <= 32 ? code : code[..32] + "…")}'"),
    };

    private static string? CodeOf(object comparer)
    {
        // Invariant before current: where the current culture is the invariant one the two are equal, and
        // the culture-independent record restores the same way on every machine. The known comparer's Equals
        // decides, never the caller's: a custom comparer may claim equality to one it does not behave like.
        if (StringComparer.Ordinal.Equals(comparer))
        {
            return "ordinal";
        }

        if (StringComparer.OrdinalIgnoreCase.Equals(comparer))
        {
            return "ordinal-ic";
        }

        if (StringComparer.InvariantCulture.Equals(comparer))
        {
            return "invariant";
        }

        if (StringComparer.InvariantCultureIgnoreCase.Equals(comparer))
        {
            return "invariant-ic";
        }

        // The saving culture is recorded with a current-culture comparer: under another culture different
        // keys may be equal ("i" and "İ" under tr-TR ignore-case), and the step would not restore.
        // The culture is read once: the comparers matched and the name recorded must be the same culture's,
        // even while another thread changes CultureInfo.DefaultThreadCurrentCulture.
        // Recorded only when the culture's name brings the same comparer back at restore: a culture that is not
        // predefined (new CultureInfo("zz-ZZ")) was saved and then failed every restore, even on this machine (atk26b).
        var culture = CultureInfo.CurrentCulture;
        if (StringComparer.Create(culture, ignoreCase: false).Equals(comparer))
        {
            return Restores(culture.Name, ignoreCase: false, comparer) ? "current:" + culture.Name : null;
        }

        return StringComparer.Create(culture, ignoreCase: true).Equals(comparer) && Restores(culture.Name, ignoreCase: true, comparer)
            ? "current-ic:" + culture.Name : null;
    }

    private static bool Restores(string name, bool ignoreCase, object comparer)
    {
        try
        {
            return OfCulture(name, ignoreCase).Equals(comparer);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static StringComparer OfCulture(string name, bool ignoreCase)
    {
        try
        {
            return StringComparer.Create(CultureInfo.GetCultureInfo(name, predefinedOnly: true), ignoreCase);
        }
        catch (CultureNotFoundException)
        {
            throw new FormatException(
                $"the key comparer's culture '{(name.Length <= 32 ? name : name[..32] + "…")}' is not available on this machine (is .NET running in globalization-invariant mode?); restore the step where that culture exists");
        }
    }

    private static object? ComparerOf(IDictionary dictionary) => dictionary switch
    {
        Hashtable table => (HashtableComparer ?? throw Missing("Hashtable")).GetValue(table),
        OrderedDictionary ordered => (OrderedComparer ?? throw Missing("OrderedDictionary")).GetValue(ordered),
        _ => dictionary.GetType().GetProperty("Comparer")?.GetValue(dictionary),
    };

    private static InvalidOperationException Missing(string type) =>
        new($"This .NET runtime does not expose the key comparer of {type}; DataraxCkpt cannot tell whether its keys are case-sensitive.");
}
