using System.Collections;
using System.Collections.Specialized;
using System.Reflection;
using DataraxCkpt.Values;

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
    /// The comparer of the engine's copy of a metadata dictionary, whose keys become text. Its own comparer when it
    /// compares strings (the engine records a known one and refuses any other: a custom case-insensitive comparer made
    /// ordinal here would restore case-sensitive, atk26); ordinal when it has its key type's default (an int- or
    /// object-keyed or sorted dictionary, as before). A ReadOnlyDictionary's comparer is the wrapped dictionary's; one
    /// whose comparer cannot be read at all (HybridDictionary, ListDictionary, SortedList, a custom IDictionary) is
    /// refused when it finds a key under another case, rather than restored case-sensitive (atk26b).
    /// </summary>
    /// <param name="metadata">The metadata dictionary as given.</param>
    /// <param name="entries">Its entries, read once by the caller.</param>
    /// <exception cref="UnsupportedValueException">The comparer cannot be kept.</exception>
    public static IEqualityComparer<string> ForMetadata(IDictionary metadata, List<DictionaryEntry> entries)
    {
        var deciding = Deciding(metadata);
        var found = MetadataOf(deciding);
        if (found is null && deciding is not (Hashtable or OrderedDictionary) && CaseBlindKey(metadata, entries) is { } blind)
        {
            throw new UnsupportedValueException("metadata[" + blind + "]",
                $"the metadata ({metadata.GetType().FullName}) finds key '{blind}' under another case, but its key comparer cannot be read, so it would restore case-sensitive; pass a Hashtable (@{{}}), [ordered]@{{}} or a Dictionary[string,object] with a StringComparer instead");
        }

        return found is null || IsKeyTypeDefault(deciding, found) ? StringComparer.Ordinal
            : found is IEqualityComparer<string> forStrings && ComparesStrings(deciding) ? forStrings
            : throw new UnsupportedValueException("metadata", $"the metadata's key comparer ({found.GetType().FullName}) is not supported; use the default comparer or StringComparer.Ordinal, OrdinalIgnoreCase, InvariantCulture(IgnoreCase) or CurrentCulture(IgnoreCase)");
    }

    /// <summary>
    /// The dictionary whose comparer decides a metadata dictionary's key equality: a ReadOnlyDictionary's wrapped one when
    /// that is an IDictionary (atk26b: it has no Comparer of its own, and was keyed ordinally whatever it wrapped).
    /// </summary>
    private static IDictionary Deciding(IDictionary dictionary)
    {
        for (var depth = 0; depth < 8 && dictionary.GetType() is { IsGenericType: true } type
            && type.GetGenericTypeDefinition() == typeof(System.Collections.ObjectModel.ReadOnlyDictionary<,>); depth++)
        {
            if (type.GetProperty("Dictionary", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(dictionary) is not IDictionary inner)
            {
                break;
            }

            dictionary = inner;
        }

        return dictionary;
    }

    /// <summary>
    /// The comparer of a metadata dictionary: a Hashtable's or OrderedDictionary's, a generic one's Comparer, or an
    /// immutable one's KeyComparer; null for a Hashtable's or OrderedDictionary's default, or when it cannot be read.
    /// </summary>
    private static object? MetadataOf(IDictionary dictionary) => dictionary is Hashtable or OrderedDictionary
        ? Of(dictionary)
        : GenericOf(dictionary) ?? dictionary.GetType().GetProperty("KeyComparer")?.GetValue(dictionary);

    /// <summary>
    /// A string key of a dictionary whose comparer could not be read that the dictionary finds under another case
    /// (ToUpperInvariant or ToLowerInvariant) that is not itself a key: such a dictionary compares keys case-insensitively,
    /// which an ordinal copy would not (atk26b). Null when none is found.
    /// </summary>
    private static string? CaseBlindKey(IDictionary dictionary, List<DictionaryEntry> entries)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.Key is string text)
            {
                keys.Add(text);
            }
        }

        foreach (var key in keys)
        {
            foreach (var variant in (ReadOnlySpan<string>)[key.ToUpperInvariant(), key.ToLowerInvariant()])
            {
                if (!keys.Contains(variant) && dictionary.Contains(variant))
                {
                    return key;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Whether a generic dictionary's comparer is its key type's default: EqualityComparer&lt;K&gt;.Default, or
    /// Comparer&lt;K&gt;.Default for a sorted one (SortedDictionary, SortedList), whose Comparer is an ordering one
    /// (atk26b). The default's own Equals decides (it checks the other's type); a custom comparer may claim to equal anything.
    /// </summary>
    private static bool IsKeyTypeDefault(IDictionary dictionary, object comparer)
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
    private static bool ComparesStrings(IDictionary dictionary) =>
        dictionary is Hashtable or OrderedDictionary
        || (dictionary.GetType() is { IsGenericType: true } type && type.GetGenericArguments() is [var keyType, ..] && keyType == typeof(string));
}
