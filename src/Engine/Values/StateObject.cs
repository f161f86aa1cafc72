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

    /// <summary>Number of properties.</summary>
    public int Count => _properties.Count;

    /// <summary>Adds a property at the end.</summary>
    /// <exception cref="ArgumentException">A property of that name exists.</exception>
    public void Add(string name, object? value)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var p in _properties)
        {
            if (string.Equals(p.Key, name, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Property '{name}' already exists.", nameof(name));
            }
        }

        _properties.Add(new KeyValuePair<string, object?>(name, value));
    }

    /// <summary>Gets a property's value, or throws when there is none.</summary>
    public object? this[string name]
    {
        get
        {
            foreach (var p in _properties)
            {
                if (string.Equals(p.Key, name, StringComparison.Ordinal))
                {
                    return p.Value;
                }
            }

            throw new KeyNotFoundException($"No property '{name}'.");
        }
    }

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => _properties.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
