using System.Collections;

namespace DataraxCkpt;

/// <summary>
/// An ordered bag of named properties: the engine's neutral form of a PowerShell PSCustomObject,
/// so that the engine can store and restore such objects without referencing PowerShell.
/// Property names are unique (ordinal, case-sensitive) and keep insertion order.
/// </summary>
public sealed class StateObject : IEnumerable<KeyValuePair<string, object?>>
{
    private readonly List<KeyValuePair<string, object?>> _properties = new();

    // Position of each name, so that adding and looking up stay constant-time for objects of 10^6 properties.
    private readonly Dictionary<string, int> _positions = new(StringComparer.Ordinal);

    /// <summary>Number of properties.</summary>
    public int Count => _properties.Count;

    /// <summary>Adds a property at the end.</summary>
    /// <exception cref="ArgumentException">A property of that name exists.</exception>
    public void Add(string name, object? value)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_positions.TryAdd(name, _properties.Count))
        {
            throw new ArgumentException($"Property '{name}' already exists.", nameof(name));
        }

        _properties.Add(new KeyValuePair<string, object?>(name, value));
    }

    /// <summary>Gets a property's value, or throws when there is none.</summary>
    public object? this[string name] =>
        _positions.TryGetValue(name, out var at) ? _properties[at].Value : throw new KeyNotFoundException($"No property '{name}'.");

    /// <summary>Looks a property up by name.</summary>
    internal bool TryGetValue(string name, out object? value)
    {
        var found = _positions.TryGetValue(name, out var at);
        value = found ? _properties[at].Value : null;
        return found;
    }

    /// <summary>Replaces a property's value where it stands, or adds the property at the end (restore into a state).</summary>
    internal void Set(string name, object? value)
    {
        if (_positions.TryGetValue(name, out var at))
        {
            _properties[at] = new KeyValuePair<string, object?>(name, value);
        }
        else
        {
            Add(name, value);
        }
    }

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => _properties.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
