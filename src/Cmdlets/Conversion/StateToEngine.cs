using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;

namespace DataraxCkpt.Commands.Conversion;

/// <summary>
/// Converts a PowerShell state into the engine's neutral values before a save: PSObject wrappers are
/// removed, PSCustomObject becomes <see cref="StateObject"/> (property order kept), and containers are
/// rebuilt around converted values. Everything else goes to the engine as is, which accepts or refuses it.
/// </summary>
/// <remarks>
/// Each source container is converted once (memoized by reference), so a cyclic PowerShell graph
/// becomes an equally cyclic converted graph, which the engine refuses with an error naming the path.
/// </remarks>
internal sealed class StateToEngine
{
    private readonly Dictionary<object, object> _converted = new(ReferenceEqualityComparer.Instance);

    /// <summary>Converts one state for one save.</summary>
    public static object? Convert(object? state) => new StateToEngine().ToEngine(state);

    /// <summary>
    /// Converts a state and also returns, for every container copy made, the PowerShell container it copies
    /// (a PSCustomObject by its PSObject wrapper), so values set in the copies can be written back (Restore-Checkpoint -Into).
    /// </summary>
    public static object? Convert(object? state, out IReadOnlyDictionary<object, object> sources)
    {
        var converter = new StateToEngine();
        var result = converter.ToEngine(state);
        sources = converter._converted.ToDictionary(p => p.Value, p => p.Key, ReferenceEqualityComparer.Instance);
        return result;
    }

    /// <summary>
    /// Converts <c>-Metadata</c> into the engine's string-keyed dictionary. It keeps the source's key
    /// comparer (case-insensitive for <c>@{}</c>), so restored metadata answers <c>.Description</c> and
    /// <c>.description</c> alike; other dictionaries get the ordinal comparer.
    /// </summary>
    /// <exception cref="UnsupportedValueException">Two keys have the same text (1 and '1').</exception>
    public static Dictionary<string, object?>? ConvertMetadata(IDictionary? metadata)
    {
        if (metadata is null)
        {
            return null;
        }

        var comparer = DictionaryComparers.Of(metadata) as StringComparer ?? StringComparer.Ordinal;
        var result = new Dictionary<string, object?>(metadata.Count, comparer);
        foreach (DictionaryEntry entry in metadata)
        {
            var key = entry.Key is PSObject pso ? pso.BaseObject : entry.Key;
            var text = System.Convert.ToString(key, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;

            // Metadata keys are strings: two keys with one text (1 and '1') would keep one value silently.
            if (!result.TryAdd(text, Convert(entry.Value)))
            {
                throw new UnsupportedValueException("metadata[" + text + "]",
                    $"two metadata keys ({key.GetType().Name} {text} and another) become the same text key '{text}'; metadata keys are strings, so rename one");
            }
        }

        return result;
    }

    private object? ToEngine(object? value)
    {
        if (value is null)
        {
            return null;
        }

        if (value is PSObject pso)
        {
            if (pso.BaseObject is PSCustomObject)
            {
                // PSCustomObject's base object is one shared instance; the wrapper is the identity.
                return Memoized(pso, () => new StateObject(), target => FillObject((StateObject)target, pso));
            }

            value = pso.BaseObject;
        }

        return value switch
        {
            // Copies keep the source's key comparer: @{} and [ordered] are case-insensitive, and the engine records it.
            Hashtable table => Memoized(table, () => new Hashtable(table.Count, DictionaryComparers.Of(table)), target => FillDictionary((IDictionary)target, table)),
            OrderedDictionary ordered => Memoized(ordered, () => new OrderedDictionary(ordered.Count, DictionaryComparers.Of(ordered)), target => FillDictionary((IDictionary)target, ordered)),
            object?[] array when array.GetType() == typeof(object[]) => Memoized(array, () => new object?[array.Length], target => FillArray((object?[])target, array)),
            ArrayList list => Memoized(list, () => new ArrayList(list.Count), target => FillList((IList)target, list)),
            List<object?> list => Memoized(list, () => new List<object?>(list.Count), target => FillList((IList)target, list)),
            List<PSObject> list => Memoized(list, () => new List<object?>(list.Count), target => FillList((IList)target, list)),
            // A generic dictionary keeps its type (the engine records it); values assigned from PowerShell may be PSObjects.
            IDictionary generic when IsGenericDictionary(generic) =>
                Memoized(generic, () => Activator.CreateInstance(generic.GetType(), DictionaryComparers.GenericOf(generic))!, target => FillDictionary((IDictionary)target, generic)),
            _ => value,
        };
    }

    private static bool IsGenericDictionary(IDictionary dictionary)
    {
        var type = dictionary.GetType();
        return type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>);
    }

    private object Memoized(object source, Func<object> create, Action<object> fill)
    {
        if (_converted.TryGetValue(source, out var done))
        {
            return done;
        }

        var target = create();
        _converted.Add(source, target);
        fill(target);
        return target;
    }

    private void FillObject(StateObject target, PSObject source)
    {
        foreach (var property in source.Properties)
        {
            if (property.IsGettable)
            {
                target.Add(property.Name, ToEngine(property.Value));
            }
        }
    }

    private void FillDictionary(IDictionary target, IDictionary source)
    {
        foreach (DictionaryEntry entry in source)
        {
            var key = entry.Key is PSObject keyObject ? keyObject.BaseObject : entry.Key;
            target.Add(key, ToEngine(entry.Value));
        }
    }

    private void FillArray(object?[] target, object?[] source)
    {
        for (var i = 0; i < source.Length; i++)
        {
            target[i] = ToEngine(source[i]);
        }
    }

    private void FillList(IList target, IList source)
    {
        foreach (var item in source)
        {
            target.Add(ToEngine(item));
        }
    }
}
