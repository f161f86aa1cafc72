using System.Globalization;

namespace DataraxCkpt.Values;

/// <summary>
/// The item name of a node being decoded, kept as its container's path and its own key, property name or
/// position, and turned into text (<see cref="ItemNames"/>) only when asked: a restore needs a leaf's name
/// only for an error message or a tensor loader. A leaf's path is a value on the stack; a container
/// boxes its own path once (<see cref="AsParent"/>) for its children to point at.
/// </summary>
internal readonly struct ItemPath
{
    private readonly Parent? _parent;
    private readonly object? _segment;
    private readonly int _position;
    private readonly Kind _kind;

    private ItemPath(Parent? parent, object? segment, int position, Kind kind)
    {
        _parent = parent;
        _segment = segment;
        _position = position;
        _kind = kind;
    }

    private enum Kind : byte
    {
        Fixed,
        Key,
        MixedKey,
        Property,
        Position,
    }

    /// <summary>The state node itself (the empty name).</summary>
    public static ItemPath Root => new(null, string.Empty, 0, Kind.Fixed);

    /// <summary>The slash-joined item name, empty for the state node. Built on each call: ask only when it is needed.</summary>
    public string Name => _kind switch
    {
        Kind.Fixed => (string?)_segment ?? string.Empty,
        Kind.Key => ItemNames.Join(_parent!.Name, ItemNames.KeySegment(_segment!, mixedKeys: false)),
        Kind.MixedKey => ItemNames.Join(_parent!.Name, ItemNames.KeySegment(_segment!, mixedKeys: true)),
        Kind.Property => ItemNames.Join(_parent!.Name, ItemNames.Escape((string)_segment!)),
        _ => ItemNames.Join(_parent!.Name, _position.ToString(CultureInfo.InvariantCulture)),
    };

    /// <summary>A path whose name is already known.</summary>
    public static implicit operator ItemPath(string name) => FromName(name);

    /// <summary>A path whose name is already known.</summary>
    public static ItemPath FromName(string name) => new(null, name, 0, Kind.Fixed);

    /// <summary>This path as the container of children: one allocation per container, whose name is built at most once.</summary>
    public Parent AsParent() => new(this);

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>A container's path, shared by its children.</summary>
    internal sealed class Parent
    {
        private readonly ItemPath _path;
        private string? _name;

        public Parent(ItemPath path) => _path = path;

        /// <summary>The container's item name, built once on first use.</summary>
        public string Name => _name ??= _path.Name;

        /// <summary>The container's own path.</summary>
        public ItemPath Path => _path;

        /// <summary>The entry of this dictionary with the given key.</summary>
        public ItemPath Key(object key, bool mixedKeys) => new(this, key, 0, mixedKeys ? Kind.MixedKey : Kind.Key);

        /// <summary>The property of this object with the given (unescaped) name.</summary>
        public ItemPath Property(string name) => new(this, name, 0, Kind.Property);

        /// <summary>The element of this list or array at the given position.</summary>
        public ItemPath Position(int position) => new(this, null, position, Kind.Position);
    }
}
