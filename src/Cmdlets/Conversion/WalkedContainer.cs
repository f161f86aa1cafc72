using System.Collections;
using System.Management.Automation;

namespace DataraxCkpt.Commands.Conversion;

/// <summary>
/// What one walk of the save's conversion read from one container: its items (a list), its keys and values in
/// enumeration order (a dictionary) or its property names and note-property values (a PSCustomObject), so that after the
/// walk <see cref="IsUnchanged"/> can tell whether code the walk ran (a ScriptProperty getter) changed it behind the walk.
/// </summary>
/// <remarks>
/// Items are compared by identity (a value type or a string by equality, since a typed dictionary boxes its values anew
/// on each read): no deep compare, the containers under an item have records of their own. A code property's value is not
/// read again (that would run the code again); its name is checked, its value's containers have their own records.
/// </remarks>
internal sealed class WalkedContainer
{
    /// <summary>Stands, in an object's record, for the value of a property whose reading runs code.</summary>
    internal static readonly object CodeValue = new();

    private readonly object _source;
    private readonly object?[] _seen;
    private readonly int _length;

    /// <summary>Records a walk of <paramref name="source"/>.</summary>
    /// <param name="source">The container walked (a PSCustomObject by its PSObject wrapper).</param>
    /// <param name="path">Its value path, for the error if it keeps changing.</param>
    /// <param name="seen">Items; or key, value pairs; or name, value pairs (<see cref="CodeValue"/> for a code property).</param>
    /// <param name="length">How many slots of <paramref name="seen"/> the walk filled.</param>
    public WalkedContainer(object source, string path, object?[] seen, int length)
    {
        _source = source;
        Path = path;
        _seen = seen;
        _length = length;
        RunsCodeWhenRead = source is not PSObject && !IsPlainContainerType(source.GetType());
    }

    /// <summary>The container's value path (<c>state.l</c>).</summary>
    public string Path { get; }

    /// <summary>
    /// True when <see cref="IsUnchanged"/> runs the container's own code: it is of a subclass type (a PowerShell class
    /// deriving from Hashtable) or another dictionary type, whose enumeration, Count or indexer may be overridden.
    /// </summary>
    public bool RunsCodeWhenRead { get; }

    /// <summary>
    /// True for the container types whose enumeration, Count and indexer run no user code: Hashtable,
    /// OrderedDictionary, ArrayList, any array of one dimension (object[], hashtable[]), List&lt;T&gt; and
    /// Dictionary&lt;,&gt;, exactly (an array type cannot be derived from; a PowerShell class deriving from List[hashtable]
    /// is another type).
    /// </summary>
    public static bool IsPlainContainerType(Type type) =>
        type == typeof(Hashtable) || type == typeof(System.Collections.Specialized.OrderedDictionary) || type == typeof(ArrayList)
        || type.IsSZArray
        || (type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Dictionary<,>) || type.GetGenericTypeDefinition() == typeof(List<>)));

    /// <summary>True when the container holds now exactly what the walk read from it.</summary>
    public bool IsUnchanged() => _source switch
    {
        PSObject obj => ObjectIsUnchanged(obj),
        IDictionary dictionary => DictionaryIsUnchanged(dictionary),
        IList list => ListIsUnchanged(list),
        _ => throw new InvalidOperationException($"No record for a {_source.GetType().FullName}."),
    };

    private bool ListIsUnchanged(IList list)
    {
        if (list.Count != _length)
        {
            return false;
        }

        for (var i = 0; i < _length; i++)
        {
            if (!Same(list[i], _seen[i]))
            {
                return false;
            }
        }

        return true;
    }

    private bool DictionaryIsUnchanged(IDictionary dictionary)
    {
        if (dictionary.Count * 2 != _length)
        {
            return false;
        }

        var i = 0;
        var enumerator = dictionary.GetEnumerator();
        while (enumerator.MoveNext())
        {
            if (i == _length || !Same(enumerator.Key, _seen[i]) || !Same(enumerator.Value, _seen[i + 1]))
            {
                return false;
            }

            i += 2;
        }

        return i == _length;
    }

    private bool ObjectIsUnchanged(PSObject obj)
    {
        var i = 0;
        foreach (var property in obj.Properties)
        {
            if (!property.IsGettable)
            {
                continue;
            }

            if (i == _length || !string.Equals(property.Name, (string?)_seen[i], StringComparison.Ordinal))
            {
                return false;
            }

            var runsCode = ReadingRunsCode(property);
            if (runsCode != ReferenceEquals(_seen[i + 1], CodeValue) || (!runsCode && !Same(property.Value, _seen[i + 1])))
            {
                return false;
            }

            i += 2;
        }

        return i == _length;
    }

    /// <summary>
    /// True when reading <paramref name="property"/> may run code (a ScriptProperty, a CodeProperty, an alias of one, a
    /// variable's property): anything but a plain note property, whose value is stored in it.
    /// </summary>
    public static bool ReadingRunsCode(PSPropertyInfo property) => property.GetType() != typeof(PSNoteProperty);

    // A value type or a string by equality, but the engine's equality: it writes a double's bits, a decimal's scale, a
    // DateTime's Kind and a DateTimeOffset's offset, which Equals ignores (-0.0 Equals 0.0, 1.00m Equals 1.0m), so a
    // getter that put such an equal but different value behind the walk would be saved as it was read (found by attack 21).
    private static bool Same(object? now, object? then) =>
        ReferenceEquals(now, then)
        || (now is not null && then is not null && now.GetType() == then.GetType() && (now.GetType().IsValueType || now is string)
            && now switch
            {
                double d => BitConverter.DoubleToInt64Bits(d) == BitConverter.DoubleToInt64Bits((double)then),
                float f => BitConverter.SingleToInt32Bits(f) == BitConverter.SingleToInt32Bits((float)then),
                Half h => BitConverter.HalfToUInt16Bits(h) == BitConverter.HalfToUInt16Bits((Half)then),
                decimal m => decimal.GetBits(m).AsSpan().SequenceEqual(decimal.GetBits((decimal)then)),
                DateTime t => t.Ticks == ((DateTime)then).Ticks && t.Kind == ((DateTime)then).Kind,
                DateTimeOffset o => o.EqualsExact((DateTimeOffset)then),
                _ => now.Equals(then),
            });
}
