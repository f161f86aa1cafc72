using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;
using DataraxCkpt.Values;

namespace DataraxCkpt.Commands.Conversion;

/// <summary>
/// Converts a restored engine value into what a PowerShell user expects: <see cref="StateObject"/>
/// becomes PSCustomObject and the engine's generic dictionaries with string keys (state written from C#) become
/// ordered dictionaries, recursively; those with other keys keep their type (an ordered dictionary's [int] index is a position). Hashtable, OrderedDictionary, object[], typed lists
/// and arrays of containers (<see cref="TypedLists"/>), numeric arrays and keys come back as they are, with their contents converted in place; a tensor becomes a .NET
/// array of its shape.
/// </summary>
internal sealed class StateFromEngine
{
    private readonly Dictionary<object, object> _converted = new(ReferenceEqualityComparer.Instance);

    // Whether a saved object stands under a container (HoldsObjectUnder's memo).
    private Dictionary<object, bool>? _holdsObject;

    /// <summary>Converts one restored state.</summary>
    public static object? Convert(object? value) => new StateFromEngine().FromEngine(value);

    /// <summary>
    /// A step's decoded metadata as records show it: each value that holds a saved object (<see cref="StateObject"/>,
    /// anywhere under it) converted as a restore converts it, so <c>$_.Metadata.cfg.lr</c> reads the PSCustomObject's
    /// property; every other value left exactly as the engine decoded it, as records showed it before session 20 (a
    /// <c>Dictionary[int,string]</c> stays one, indexed by key: as an ordered dictionary <c>[0]</c> would be a position).
    /// One memo for all values, so a value shared by two entries stays shared. The engine's dictionary and its comparer are kept.
    /// </summary>
    public static IReadOnlyDictionary<string, object?> ConvertValues(IReadOnlyDictionary<string, object?> metadata)
    {
        if (metadata is not Dictionary<string, object?> entries)
        {
            return metadata;
        }

        var conversion = new StateFromEngine();
        List<KeyValuePair<string, object?>>? replaced = null;
        foreach (var entry in entries)
        {
            if (!conversion.HoldsObjectUnder(entry.Value))
            {
                continue;
            }

            (replaced ??= []).Add(new(entry.Key, conversion.FromEngine(entry.Value)));
        }

        foreach (var (key, value) in replaced ?? [])
        {
            entries[key] = value;
        }

        return entries;
    }

    // Whether a saved object stands anywhere under the value (a metadata value, an item of a typed list), remembered per
    // container: a restored state is a graph without cycles (a save refuses them), so a container's answer is final once
    // computed; a container shared by two metadata values or nested typed lists is looked into once, and answers each.
    private bool HoldsObjectUnder(object? value)
    {
        if (value is null or string or StateObject || value.GetType().IsPrimitive)
        {
            return value is StateObject;
        }

        _holdsObject ??= new Dictionary<object, bool>(ReferenceEqualityComparer.Instance);
        if (_holdsObject.TryGetValue(value, out var known))
        {
            return known;
        }

        // Marked "no" while it is looked into, so a cycle (never restored, but cheap to rule out) ends.
        _holdsObject[value] = false;
        var holds = false;
        switch (value)
        {
            case IDictionary dictionary:
                foreach (DictionaryEntry entry in dictionary)
                {
                    if (HoldsObjectUnder(entry.Value))
                    {
                        holds = true;
                        break;
                    }
                }

                break;
            case IList list when !list.GetType().IsArray || TypedLists.HoldsContainers(list.GetType(), out _):
                foreach (var item in list)
                {
                    if (HoldsObjectUnder(item))
                    {
                        holds = true;
                        break;
                    }
                }

                break;
        }

        _holdsObject[value] = holds;
        return holds;
    }

    private object? FromEngine(object? value)
    {
        if (value is null || value is string || value.GetType().IsPrimitive)
        {
            return value;
        }

        if (_converted.TryGetValue(value, out var done))
        {
            return done;
        }

        switch (value)
        {
            case StateObject state:
            {
                var result = new PSObject();
                _converted.Add(value, result);
                foreach (var property in state)
                {
                    result.Properties.Add(new PSNoteProperty(property.Key, FromEngine(property.Value)));
                }

                return result;
            }

            case Hashtable table:
            {
                _converted.Add(value, table);

                // Values are written back only where the conversion replaced them: a restored hashtable of
                // numbers, strings and hashtables is already what PowerShell wants, and each write would hash its key again.
                List<KeyValuePair<object, object?>>? replaced = null;
                var enumerator = table.GetEnumerator();
                while (enumerator.MoveNext())
                {
                    var item = enumerator.Value;
                    var converted = FromEngine(item);
                    if (!ReferenceEquals(converted, item))
                    {
                        (replaced ??= new List<KeyValuePair<object, object?>>()).Add(new(enumerator.Key, converted));
                    }
                }

                if (replaced is not null)
                {
                    foreach (var pair in replaced)
                    {
                        table[pair.Key] = pair.Value;
                    }
                }

                return table;
            }

            case OrderedDictionary ordered:
            {
                _converted.Add(value, ordered);
                for (var i = 0; i < ordered.Count; i++)
                {
                    var item = ordered[i];
                    var converted = FromEngine(item);
                    if (!ReferenceEquals(converted, item))
                    {
                        ordered[i] = converted;
                    }
                }

                return ordered;
            }

            case IDictionary keyed when KeepsOwnType(keyed):
                // Keys other than strings keep their dictionary: in an ordered dictionary an [int] index is a position,
                // so $d[0] of a restored Dictionary[int,string] gave its first entry, not key 0's value (attack of
                // session 20). Values are converted in place where the dictionary's value type takes the conversion.
                return InPlace(keyed);

            case IDictionary generic when value.GetType().IsGenericType:
            {
                // The dictionary's own comparer: an ordinal (case-sensitive) dictionary from C# may hold
                // keys that differ only by case, which a case-insensitive one could not; an ignore-case one stays so.
                var result = new OrderedDictionary(generic.Count, DictionaryComparers.Of(generic));
                _converted.Add(value, result);
                foreach (DictionaryEntry entry in generic)
                {
                    result.Add(entry.Key, FromEngine(entry.Value));
                }

                return result;
            }

            case object?[] array when array.GetType() == typeof(object[]):
            {
                _converted.Add(value, array);
                for (var i = 0; i < array.Length; i++)
                {
                    var item = array[i];
                    if (item is not null && item is not string && !item.GetType().IsPrimitive)
                    {
                        array[i] = FromEngine(item);
                    }
                }

                return array;
            }

            case IList list when !list.IsReadOnly && !list.IsFixedSize && IsObjectList(list):
            {
                _converted.Add(value, list);
                for (var i = 0; i < list.Count; i++)
                {
                    var item = list[i];
                    var converted = FromEngine(item);
                    if (!ReferenceEquals(converted, item))
                    {
                        list[i] = converted;
                    }
                }

                return list;
            }

            case IList typed when !typed.IsReadOnly && TypedLists.HoldsContainers(value.GetType(), out var element):
            {
                // A typed list or array ([List[hashtable]], [hashtable[]]) keeps its type; its items are converted in
                // place, each for its slot (a Dictionary[string,object] item stays one: an ordered dictionary would not fit).
                // Only an item under which a saved object stands is converted: the rest come back exactly as before
                // typed lists were walked (a Dictionary[string,int] in a [hashtable[]] stays one, where the walk of an
                // object[] makes it an ordered dictionary).
                _converted.Add(value, typed);
                for (var i = 0; i < typed.Count; i++)
                {
                    var item = typed[i];
                    if (!HoldsObjectUnder(item))
                    {
                        continue;
                    }

                    var converted = FromEngine(item, element);
                    if (!ReferenceEquals(converted, item) && SlotTypes.Fits(element, converted))
                    {
                        typed[i] = converted;
                    }
                }

                return typed;
            }

            default:
                // A Tensor<T> (state written from C#) cannot be named in a script, since its assembly
                // loads privately; it comes back as a .NET array of its shape (docs/cmdlets.md).
                return TensorArrays.TryToArray(value, out var shaped) ? shaped : value;
        }
    }

    /// <summary>
    /// Converts a restored value that goes into a slot of type <paramref name="slot"/> (a generic dictionary's value
    /// type): a generic dictionary that would become an ordered dictionary the slot cannot hold keeps its type instead.
    /// </summary>
    public static object? ConvertFor(object? value, Type slot) => new StateFromEngine().FromEngine(value, slot);

    // A value for a slot of a typed container: a generic dictionary the slot could not hold as an ordered dictionary
    // (a Dictionary[string,object] under a Dictionary[int, Dictionary[string,object]]) is converted in place, keeping its
    // type: converted to an ordered dictionary, it could not be stored, and the engine's StateObjects under it stayed
    // (attack 20 round 3).
    private object? FromEngine(object? value, Type slot) =>
        value is IDictionary inner && inner.GetType().IsGenericType && !inner.IsReadOnly
            && !slot.IsAssignableFrom(typeof(OrderedDictionary)) && !_converted.ContainsKey(value)
            ? InPlace(inner)
            : FromEngine(value);

    // A generic dictionary kept as it is, its values converted in place where its value type takes the conversion.
    private IDictionary InPlace(IDictionary keyed)
    {
        _converted.Add(keyed, keyed);
        var valueType = SlotTypes.ValueType(keyed);
        List<KeyValuePair<object, object?>>? replaced = null;
        foreach (DictionaryEntry entry in keyed)
        {
            var converted = FromEngine(entry.Value, valueType);
            if (!ReferenceEquals(converted, entry.Value) && SlotTypes.Fits(valueType, converted))
            {
                (replaced ??= []).Add(new(entry.Key, converted));
            }
        }

        foreach (var (key, converted) in replaced ?? [])
        {
            keyed[key] = converted;
        }

        return keyed;
    }

    // Whether a restored generic dictionary comes back as itself: its key type is not string, and for a
    // Dictionary[object,V] it holds a key that is not a string, or none. As an ordered dictionary an [int] index is a
    // position: [0] read its first entry, and $r.map[0] = 'zero' threw when it was empty (attack 20 rounds 3 and 4). One
    // holding only string keys still becomes an ordered dictionary, so $r.cfg.lr reads its key (PowerShell's member
    // access does not read a Dictionary[object,V] by key: attack 20 round 5, which kept-type made silently $null).
    private static bool KeepsOwnType(IDictionary dictionary)
    {
        var type = dictionary.GetType();
        if (!type.IsGenericType || dictionary.IsReadOnly || KeyType(type) is not { } keyType || keyType == typeof(string))
        {
            return false;
        }

        if (keyType != typeof(object) || dictionary.Count == 0)
        {
            return true;
        }

        foreach (var key in dictionary.Keys)
        {
            if (key is not string)
            {
                return true;
            }
        }

        return false;
    }

    // The key type of a generic dictionary (Dictionary<K,V>, SortedList<K,V> ...), or null when it has no K,V pair.
    private static Type? KeyType(Type type) => type.GetGenericArguments() is { Length: 2 } arguments ? arguments[0] : null;

    private static bool IsObjectList(IList list) =>
        list is ArrayList || list.GetType() == typeof(List<object>);
}
