using System.Collections;
using System.Management.Automation;

namespace DataraxCkpt.Commands.Conversion;

/// <summary>
/// Restore-Checkpoint -Into: the user's state is copied container by container into the engine's form (the
/// arrays themselves are not copied, so the engine decodes straight into them); after the restore, the values
/// the engine set in the copies (scalars, strings, items the state lacked) are written back into the user's own
/// hashtables, PSCustomObjects and lists, which therefore keep their identity too.
/// </summary>
internal sealed class StateIntoTarget
{
    private readonly IReadOnlyDictionary<object, object> _sources;

    private StateIntoTarget(object engineState, IReadOnlyDictionary<object, object> sources)
    {
        EngineState = engineState;
        _sources = sources;
    }

    /// <summary>The engine's copy of the containers, holding the user's own arrays.</summary>
    public object EngineState { get; }

    /// <summary>Copies <paramref name="state"/>'s containers for the engine.</summary>
    /// <exception cref="ArgumentException">The state is not a hashtable, ordered dictionary, PSCustomObject or list.</exception>
    public static StateIntoTarget Of(PSObject state)
    {
        var engineState = StateToEngine.Convert(state, out var sources);
        if (engineState is null || !sources.ContainsKey(engineState))
        {
            throw new ArgumentException($"-Into takes the state to restore into: a hashtable, ordered dictionary, PSCustomObject or list as Restore-Checkpoint returns it, not a {state.BaseObject.GetType().Name}.");
        }

        return new StateIntoTarget(engineState, sources);
    }

    /// <summary>Writes the values the restore set in the engine's copies back into the user's containers.</summary>
    public void WriteBack() => WriteBack(EngineState);

    private void WriteBack(object copy)
    {
        var source = _sources[copy];
        switch (copy)
        {
            case StateObject properties:
                var target = (PSObject)source;
                foreach (var (name, value) in properties)
                {
                    var property = target.Properties[name];
                    if (property is null)
                    {
                        target.Properties.Add(new PSNoteProperty(name, FromEngine(value)));
                    }
                    else if (Changed(property.Value, value))
                    {
                        property.Value = FromEngine(value);
                    }
                }

                break;
            case IDictionary entries:
                var dictionary = (IDictionary)source;
                var slot = dictionary.GetType() is { IsGenericType: true } generic && generic.GetGenericArguments() is { Length: 2 } arguments ? arguments[1] : typeof(object);
                foreach (DictionaryEntry entry in entries)
                {
                    var current = dictionary.Contains(entry.Key) ? dictionary[entry.Key] : null;
                    if (!dictionary.Contains(entry.Key) || Changed(current, entry.Value))
                    {
                        dictionary[entry.Key] = FromEngine(entry.Value, slot);
                    }
                }

                break;
            case IList items:
                var list = (IList)source;
                var itemType = SlotTypes.ItemType(list);
                for (var i = 0; i < items.Count; i++)
                {
                    if (Changed(list[i], items[i]))
                    {
                        list[i] = FromEngine(items[i], itemType);
                    }
                }

                break;
        }
    }

    /// <summary>
    /// False when the user's value is the one the restore left in place (an array filled in place) or a
    /// container the restore went into (written back recursively instead).
    /// </summary>
    private bool Changed(object? current, object? restored)
    {
        if (restored is not null && _sources.TryGetValue(restored, out var source) && ReferenceEquals(Unwrap(source), Unwrap(current)))
        {
            WriteBack(restored);
            return false;
        }

        return !ReferenceEquals(Unwrap(current), restored);
    }

    // A PSCustomObject is known by its wrapper (its base object is one shared instance).
    private static object? Unwrap(object? value) =>
        value is PSObject pso && pso.BaseObject is not PSCustomObject ? pso.BaseObject : value;

    private object? FromEngine(object? value) =>
        value is not null && _sources.TryGetValue(value, out var source) ? source : StateFromEngine.Convert(value);

    // A value for a typed dictionary's or list's slot (a Dictionary[int, Dictionary[string,object]] lacking the key, a
    // [Dictionary[string,object][]] whose item was $null): a restored generic dictionary the slot could not hold as an
    // ordered dictionary keeps its type (attack 20 round 3).
    private object? FromEngine(object? value, Type slot) =>
        value is not null && _sources.TryGetValue(value, out var source) ? source : StateFromEngine.ConvertFor(value, slot);
}
