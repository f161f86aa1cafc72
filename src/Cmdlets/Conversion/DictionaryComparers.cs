using System.Collections;
using System.Collections.Specialized;
using System.Reflection;

namespace DataraxCkpt.Commands.Conversion;

/// <summary>
/// Reads the key comparer of a PowerShell dictionary, so that a converted copy keeps it: <c>@{}</c> and
/// <c>[ordered]@{}</c> are case-insensitive, and the engine records the comparer with the step.
/// Hashtable shows its comparer only to subclasses and OrderedDictionary not at all, hence reflection.
/// </summary>
internal static class DictionaryComparers
{
    private static readonly PropertyInfo? HashtableComparer =
        typeof(Hashtable).GetProperty("EqualityComparer", BindingFlags.NonPublic | BindingFlags.Instance);

    private static readonly FieldInfo? OrderedComparer =
        typeof(OrderedDictionary).GetField("_comparer", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>The comparer of a Hashtable, OrderedDictionary or generic dictionary; null for the default.</summary>
    public static IEqualityComparer? Of(IDictionary dictionary) => dictionary switch
    {
        Hashtable table => HashtableComparer?.GetValue(table) as IEqualityComparer,
        OrderedDictionary ordered => OrderedComparer?.GetValue(ordered) as IEqualityComparer,
        _ => dictionary.GetType().GetProperty("Comparer")?.GetValue(dictionary) as IEqualityComparer,
    };

    /// <summary>The comparer of a generic dictionary, as the generic type its constructor takes.</summary>
    public static object? GenericOf(IDictionary dictionary) => dictionary.GetType().GetProperty("Comparer")?.GetValue(dictionary);

    /// <summary>
    /// Whether a generic dictionary's comparer is its key type's default: EqualityComparer&lt;K&gt;.Default, or
    /// Comparer&lt;K&gt;.Default for a sorted one (SortedDictionary, SortedList), whose Comparer is an ordering one
    /// (atk26b). The default's own Equals decides (it checks the other's type); a custom comparer may claim to equal anything.
    /// </summary>
    public static bool IsKeyTypeDefault(IDictionary dictionary, object comparer)
    {
        var type = dictionary.GetType();
        if (!type.IsGenericType || type.GetGenericArguments() is not [var keyType, ..])
        {
            return false;
        }

        foreach (var kind in (ReadOnlySpan<Type>)[typeof(EqualityComparer<>), typeof(Comparer<>)])
        {
            var defaultComparer = kind.MakeGenericType(keyType).GetProperty("Default")!.GetValue(null)!;
            if (ReferenceEquals(defaultComparer, comparer) || defaultComparer.Equals(comparer))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a dictionary's keys are compared as strings: a Hashtable, OrderedDictionary or string-keyed generic one.</summary>
    public static bool ComparesStrings(IDictionary dictionary) =>
        dictionary is Hashtable or OrderedDictionary
        || (dictionary.GetType() is { IsGenericType: true } type && type.GetGenericArguments() is [var keyType, ..] && keyType == typeof(string));
}
