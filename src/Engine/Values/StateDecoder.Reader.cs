using System.Buffers;
using System.Collections;
using System.Collections.Specialized;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;
using DataraxCkpt.Format;

namespace DataraxCkpt.Values;

/// <summary>
/// Decodes values straight from the state node's JSON with a <see cref="Utf8JsonReader"/>, in one forward
/// pass: no document is built and no node is looked up twice. A node's <c>t</c> must come before its child
/// array (<c>e</c>, <c>p</c>, <c>i</c>), as the writer always puts it, so children are decoded where they
/// stand; every other field may come in any order (a leaf's fields are remembered by position and read
/// once the node ends). A field a node lists twice makes it corrupt (a document would silently take the
/// last one); unknown fields are skipped. Gathered are gathered before their container is built, so a
/// container is sized by the children actually decoded, never by a count a hostile node claims.
/// </summary>
internal sealed partial class StateDecoder
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = StateEncoder.MaxJsonDepth };

    /// <summary>
    /// Decodes a whole tree from its JSON (the state node's bytes, whose end the open found by its brackets only):
    /// the reader checks every JSON rule as it goes, so bad JSON anywhere in the node fails the decode.
    /// </summary>
    /// <exception cref="InvalidDataException">A node is malformed.</exception>
    public object? Decode(ReadOnlyMemory<byte> json) => Decode(json.Span);

    /// <summary>Decodes a whole tree (the metadata node, or a node of a parsed document).</summary>
    public object? Decode(JsonElement node) => Read(node, ItemPath.Root, 0);

    private object? Decode(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            if (!reader.Read())
            {
                throw new InvalidDataException("the state node is empty");
            }

            return Read(ref reader, json, ItemPath.Root, 0);
        }
        catch (JsonException e)
        {
            // The open found the node's end by its brackets only; this reader is what checks its JSON.
            throw StateNodeErrors.NotJson(e);
        }
    }

    /// <summary>One node of a parsed document, decoded by the same reader (its raw bytes are the document's own).</summary>
    private object? Read(JsonElement node, ItemPath itemName, int depth)
    {
        var json = JsonMarshal.GetRawUtf8Value(node);
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            reader.Read();
            return Read(ref reader, json, itemName, depth);
        }
        catch (JsonException e)
        {
            throw Bad(itemName, $"node is not valid JSON ({e.Message})");
        }
    }

    /// <summary>Where a field's value lies in the JSON: <c>Start</c> of its first token, <c>Length</c> to its end.</summary>
    private readonly record struct FieldAt(int Start, int Length)
    {
        public bool Found => Length > 0;
    }

    /// <summary>The fields of one node the decoder knows, each found at most once.</summary>
    private ref struct NodeFields
    {
        public FieldAt T;
        public FieldAt V;
        public FieldAt B;
        public FieldAt Kind;
        public FieldAt Ticks;
        public FieldAt OffsetMinutes;
        public FieldAt Impl;
        public FieldAt Data;
        public FieldAt Ct;
        public FieldAt I;
        public FieldAt Cmp;
        public FieldAt E;
        public FieldAt P;

        /// <summary>An <c>i32</c> leaf's value, read as it was met (the commonest leaf skips a second reader).</summary>
        public long VInt;
        public bool VIsInt;

        public readonly FieldAt Of(Field field) => field switch
        {
            Field.E => E,
            Field.P => P,
            _ => I,
        };
    }

    /// <summary>
    /// A node at the reader's current token. Leaves are strings, null, booleans and objects without a child
    /// array; containers decode their children as their child array is met and are built when it ends.
    /// </summary>
    private object? Read(ref Utf8JsonReader r, ReadOnlySpan<byte> json, ItemPath itemName, int depth)
    {
        CheckDepth(depth, itemName);
        switch (r.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.True:
                return true;
            case JsonTokenType.False:
                return false;
            case JsonTokenType.String:
                return r.GetString();
            case JsonTokenType.StartObject:
                break;
            default:
                throw Bad(itemName, $"unexpected JSON {KindOf(r.TokenType)}");
        }

        var f = default(NodeFields);
        string? code = null;
        Gathered? children = null;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var field = FieldOf(ref r);
            r.Read();
            if (field is Field.E or Field.P or Field.I && code is not null && ChildField(code, itemName, _resolvedCodes) == field)
            {
                // Twice after the type, or once before it as a value that is no array (remembered) and again here.
                if (children is not null || f.Of(field).Found)
                {
                    throw Bad(itemName, $"node has field '{NameOf(field)}' twice");
                }

                children = ReadChildren(ref r, json, code, itemName, depth);
                continue;
            }

            switch (field)
            {
                case Field.T:
                    code = r.TokenType == JsonTokenType.String ? CodeOf(ref r) : null;
                    Remember(ref f.T, ref r, itemName, "t");
                    break;
                case Field.V:
                    f.VIsInt = r.TokenType == JsonTokenType.Number && r.TryGetInt64(out f.VInt);
                    Remember(ref f.V, ref r, itemName, "v");
                    break;
                case Field.B: Remember(ref f.B, ref r, itemName, "b"); break;
                case Field.Kind: Remember(ref f.Kind, ref r, itemName, "kind"); break;
                case Field.Ticks: Remember(ref f.Ticks, ref r, itemName, "ticks"); break;
                case Field.OffsetMinutes: Remember(ref f.OffsetMinutes, ref r, itemName, "offsetMinutes"); break;
                case Field.Impl: Remember(ref f.Impl, ref r, itemName, "impl"); break;
                case Field.Data: Remember(ref f.Data, ref r, itemName, "data"); break;
                case Field.Ct: Remember(ref f.Ct, ref r, itemName, "ct"); break;
                case Field.Cmp: Remember(ref f.Cmp, ref r, itemName, "cmp"); break;
                // Before the type, or on a node that reads no child array here (a tensor's 'i' is its index).
                case Field.E: Remember(ref f.E, ref r, itemName, "e"); break;
                case Field.P: Remember(ref f.P, ref r, itemName, "p"); break;
                case Field.I: Remember(ref f.I, ref r, itemName, "i"); break;
                default: r.Skip(); break;
            }
        }

        if (code is null)
        {
            throw Bad(itemName, "node has no type");
        }

        if (children is null && (f.E.Found || f.P.Found || f.I.Found) && ChildField(code, itemName, _resolvedCodes) is var wanted and not Field.Other
            && f.Of(wanted) is { Found: true } early)
        {
            // A child array met before the type: decoding it would mean reading it twice (and its own children
            // again at every level), so a reader in one pass refuses it; a value that is no array is reported as such.
            var again = At(json, early);
            if (again.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject)
            {
                throw Bad(itemName, $"field '{NameOf(wanted)}' comes before the node's type 't'");
            }

            children = ReadChildren(ref again, json[early.Start..], code, itemName, depth);
        }

        return children is not null ? Finish(children, code, json, f, itemName) : ReadLeaf(code, json, f, itemName);
    }

    private enum Field : byte
    {
        Other,
        T,
        V,
        B,
        Kind,
        Ticks,
        OffsetMinutes,
        Impl,
        Data,
        Ct,
        Cmp,
        E,
        P,
        I,
    }

    /// <summary>The field whose name the reader is at.</summary>
    private static Field FieldOf(ref Utf8JsonReader r)
    {
        if (!r.ValueIsEscaped)
        {
            // The writer's names, compared as bytes: one comparison a field on the hot path.
            var name = r.ValueSpan;
            if (name.Length == 1)
            {
                return name[0] switch
                {
                    (byte)'t' => Field.T,
                    (byte)'v' => Field.V,
                    (byte)'b' => Field.B,
                    (byte)'e' => Field.E,
                    (byte)'p' => Field.P,
                    (byte)'i' => Field.I,
                    _ => Field.Other,
                };
            }
        }

        return r.ValueTextEquals("t"u8) ? Field.T
            : r.ValueTextEquals("v"u8) ? Field.V
            : r.ValueTextEquals("b"u8) ? Field.B
            : r.ValueTextEquals("e"u8) ? Field.E
            : r.ValueTextEquals("p"u8) ? Field.P
            : r.ValueTextEquals("i"u8) ? Field.I
            : r.ValueTextEquals("ct"u8) ? Field.Ct
            : r.ValueTextEquals("cmp"u8) ? Field.Cmp
            : r.ValueTextEquals("kind"u8) ? Field.Kind
            : r.ValueTextEquals("ticks"u8) ? Field.Ticks
            : r.ValueTextEquals("offsetMinutes"u8) ? Field.OffsetMinutes
            : r.ValueTextEquals("impl"u8) ? Field.Impl
            : r.ValueTextEquals("data"u8) ? Field.Data
            : Field.Other;
    }

    private static string NameOf(Field field) => field switch
    {
        Field.E => "e",
        Field.P => "p",
        _ => "i",
    };

    /// <summary>
    /// The child array a node of type <paramref name="code"/> reads (<see cref="Field.Other"/> for a leaf). A code
    /// outside the fixed names is resolved as a type: one that is not in the fixed set is corrupt either way.
    /// <paramref name="resolved"/> is the decoder's own remembered codes, or null where no decoder's are at hand.
    /// </summary>
    private static Field ChildField(string code, ItemPath itemName, Dictionary<string, Type>? resolved)
    {
        switch (code)
        {
            case TypeCodes.Hashtable or TypeCodes.Ordered:
                return Field.E;
            case TypeCodes.PSObject:
                return Field.P;
            case TypeCodes.ArrayList or TypeCodes.KeyArray or TypeCodes.AnyArray:
                return Field.I;
            case TypeCodes.SByte or TypeCodes.Byte or TypeCodes.Int16 or TypeCodes.UInt16 or TypeCodes.Int32 or TypeCodes.UInt32 or TypeCodes.Char
                or TypeCodes.Int64 or TypeCodes.UInt64 or TypeCodes.Int128 or TypeCodes.UInt128 or TypeCodes.NInt or TypeCodes.NUInt or TypeCodes.BigInteger
                or TypeCodes.Half or TypeCodes.Single or TypeCodes.Double or TypeCodes.Decimal or TypeCodes.String or TypeCodes.DateTime
                or TypeCodes.DateTimeOffset or TypeCodes.TimeSpan or TypeCodes.Guid or TypeCodes.PrngKey or TypeCodes.Tensor:
                return Field.Other;
        }

        var type = ResolveType(code, itemName, resolved);
        return type.IsArray || (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>)) ? Field.I
            : type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) ? Field.E
            : Field.Other;
    }

    /// <summary>Records where a field's value lies and moves past it; a field met twice makes the node corrupt.</summary>
    private static void Remember(ref FieldAt slot, ref Utf8JsonReader r, ItemPath itemName, string name)
    {
        if (slot.Found)
        {
            throw Bad(itemName, $"node has field '{name}' twice");
        }

        var start = (int)r.TokenStartIndex;
        r.Skip();
        slot = new FieldAt(start, (int)r.BytesConsumed - start);
    }

    /// <summary>
    /// A type code. The most frequent codes are matched in place and answered with a constant, which spares one
    /// short string per leaf; any other code is read as text.
    /// </summary>
    private static string CodeOf(ref Utf8JsonReader r) =>
        r.ValueTextEquals("i32"u8) ? TypeCodes.Int32
        : r.ValueTextEquals("f64"u8) ? TypeCodes.Double
        : r.ValueTextEquals("i64"u8) ? TypeCodes.Int64
        : r.ValueTextEquals("hashtable"u8) ? TypeCodes.Hashtable
        : r.ValueTextEquals("str"u8) ? TypeCodes.String
        : r.ValueTextEquals("any[]"u8) ? TypeCodes.AnyArray
        : r.GetString()!;

    /// <summary>A reader at a remembered field's value.</summary>
    private static Utf8JsonReader At(ReadOnlySpan<byte> json, FieldAt field)
    {
        var r = new Utf8JsonReader(json.Slice(field.Start, field.Length), ReaderOptions);
        r.Read();
        return r;
    }

    private static string KindOf(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => nameof(JsonValueKind.Array),
        JsonTokenType.Number => nameof(JsonValueKind.Number),
        _ => token.ToString(),
    };

    /// <summary>
    /// The children of a container, gathered in pooled arrays: the container is built once the node ends, when
    /// its comparer (which may follow the entries) and its number of children are known.
    /// </summary>
    private sealed class Gathered
    {
        private (object Key, object? Value)[]? _pairs;
        private object?[]? _items;

        public int Count { get; private set; }

        /// <summary>A container complete as read (a psobject or a key[]).</summary>
        public object? Done { get; init; }

        public ReadOnlySpan<(object Key, object? Value)> Pairs => _pairs.AsSpan(0, Count);

        public ReadOnlySpan<object?> Items => _items.AsSpan(0, Count);

        public void Add(object key, object? value)
        {
            Grow(ref _pairs);
            _pairs![Count++] = (key, value);
        }

        public void Add(object? item)
        {
            Grow(ref _items);
            _items![Count++] = item;
        }

        /// <summary>Gives the arrays back to the pool (cleared: they hold the restored values).</summary>
        public void Return()
        {
            if (_pairs is not null)
            {
                ArrayPool<(object, object?)>.Shared.Return(_pairs, clearArray: true);
            }

            if (_items is not null)
            {
                ArrayPool<object?>.Shared.Return(_items, clearArray: true);
            }

            _pairs = null;
            _items = null;
            Count = 0;
        }

        private void Grow<T>(ref T[]? items)
        {
            if (items is not null && Count < items.Length)
            {
                return;
            }

            var larger = ArrayPool<T>.Shared.Rent(Math.Max(16, Count * 2));
            if (items is not null)
            {
                items.AsSpan(0, Count).CopyTo(larger);
                ArrayPool<T>.Shared.Return(items, clearArray: true);
            }

            items = larger;
        }
    }

    /// <summary>A container's children, decoded from its child array at the reader (which ends on the array's end).</summary>
    private Gathered ReadChildren(ref Utf8JsonReader r, ReadOnlySpan<byte> json, string code, ItemPath itemName, int depth)
    {
        switch (code)
        {
            case TypeCodes.PSObject:
                return new Gathered { Done = ReadProperties(ref r, json, itemName, depth) };
            case TypeCodes.KeyArray:
                return new Gathered { Done = ReadKeys(ref r, json, itemName) };
            case TypeCodes.Hashtable or TypeCodes.Ordered:
                return ReadEntries(ref r, json, code, itemName, depth);
            case TypeCodes.ArrayList:
                return ReadElements(ref r, json, itemName, depth);
        }

        return ChildField(code, itemName, _resolvedCodes) == Field.E ? ReadEntries(ref r, json, code, itemName, depth) : ReadElements(ref r, json, itemName, depth);
    }

    private Gathered ReadEntries(ref Utf8JsonReader r, ReadOnlySpan<byte> json, string code, ItemPath itemName, int depth)
    {
        if (r.TokenType != JsonTokenType.StartArray)
        {
            throw Bad(itemName, "entries are not an array");
        }

        var mixedKeys = ItemNames.HasMixedKeys(code);
        var parent = itemName.AsParent();
        var children = new Gathered();
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            // The pair's length is checked before its key is decoded, as a key is small (a string or a one-field
            // node); the value is decoded where it stands and the pair's end checked after it.
            if (r.TokenType != JsonTokenType.StartArray || !r.Read() || r.TokenType == JsonTokenType.EndArray)
            {
                throw Bad(itemName, "entry is not a [key, value] pair");
            }

            var keyReader = r;
            r.Skip();
            if (!r.Read() || r.TokenType == JsonTokenType.EndArray)
            {
                throw Bad(itemName, "entry is not a [key, value] pair");
            }

            var key = ReadDictionaryKey(ref keyReader, json, itemName);
            var value = Read(ref r, json, parent.Key(key, mixedKeys), depth + 1);
            if (!r.Read() || r.TokenType != JsonTokenType.EndArray)
            {
                throw Bad(itemName, "entry is not a [key, value] pair");
            }

            children.Add(key, value);
        }

        return children;
    }

    private StateObject ReadProperties(ref Utf8JsonReader r, ReadOnlySpan<byte> json, ItemPath itemName, int depth)
    {
        if (r.TokenType != JsonTokenType.StartArray)
        {
            throw Bad(itemName, "entries are not an array");
        }

        var obj = new StateObject();
        var owner = itemName.AsParent();
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            if (r.TokenType != JsonTokenType.StartArray || !r.Read() || r.TokenType == JsonTokenType.EndArray)
            {
                throw Bad(itemName, "entry is not a [key, value] pair");
            }

            var nameReader = r;
            r.Skip();
            if (!r.Read() || r.TokenType == JsonTokenType.EndArray)
            {
                throw Bad(itemName, "entry is not a [key, value] pair");
            }

            var name = ReadPropertyName(ref nameReader, json, itemName);
            var value = Read(ref r, json, owner.Property(name), depth + 1);
            if (!r.Read() || r.TokenType != JsonTokenType.EndArray)
            {
                throw Bad(itemName, "entry is not a [key, value] pair");
            }

            try
            {
                obj.Add(name, value);
            }
            catch (ArgumentException e)
            {
                throw Bad(itemName, e.Message);
            }
        }

        return obj;
    }

    /// <summary>The values of a child array <c>i</c>, in order.</summary>
    private Gathered ReadElements(ref Utf8JsonReader r, ReadOnlySpan<byte> json, ItemPath itemName, int depth)
    {
        if (r.TokenType != JsonTokenType.StartArray)
        {
            throw Bad(itemName, "items are not an array");
        }

        var parent = itemName.AsParent();
        var children = new Gathered();
        var position = 0;
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            children.Add(Read(ref r, json, parent.Position(position++), depth + 1));
        }

        return children;
    }

    private static PrngKey?[] ReadKeys(ref Utf8JsonReader r, ReadOnlySpan<byte> json, ItemPath itemName)
    {
        if (r.TokenType != JsonTokenType.StartArray)
        {
            throw Bad(itemName, "items are not an array");
        }

        var keys = new List<PrngKey?>();
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            if (r.TokenType == JsonTokenType.Null)
            {
                keys.Add(null);
                continue;
            }

            var f = LeafFields(ref r, itemName);
            keys.Add(ReadKey(json, f, itemName));
        }

        return keys.ToArray();
    }

    /// <summary>The fields of a node that holds no children (a key of a <c>key[]</c>, a dictionary key, a property name).</summary>
    private static NodeFields LeafFields(ref Utf8JsonReader r, ItemPath itemName)
    {
        var f = default(NodeFields);
        if (r.TokenType != JsonTokenType.StartObject)
        {
            // Read as a node without fields: the caller reports what is missing.
            r.Skip();
            return f;
        }

        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var field = FieldOf(ref r);
            r.Read();
            switch (field)
            {
                case Field.T: Remember(ref f.T, ref r, itemName, "t"); break;
                case Field.V:
                    f.VIsInt = r.TokenType == JsonTokenType.Number && r.TryGetInt64(out f.VInt);
                    Remember(ref f.V, ref r, itemName, "v");
                    break;
                case Field.B: Remember(ref f.B, ref r, itemName, "b"); break;
                case Field.Impl: Remember(ref f.Impl, ref r, itemName, "impl"); break;
                case Field.Data: Remember(ref f.Data, ref r, itemName, "data"); break;
                default: r.Skip(); break;
            }
        }

        return f;
    }

    /// <summary>A container whose child array was read, completed with the fields that may follow it (its comparer).</summary>
    private object Finish(Gathered children, string code, ReadOnlySpan<byte> json, in NodeFields f, ItemPath itemName)
    {
        if (children.Done is { } done)
        {
            return done;
        }

        try
        {
            return Build(children, code, json, f, itemName);
        }
        finally
        {
            children.Return();
        }
    }

    private object Build(Gathered children, string code, ReadOnlySpan<byte> json, in NodeFields f, ItemPath itemName)
    {
        switch (code)
        {
            case TypeCodes.Hashtable or TypeCodes.Ordered:
            {
                var keyComparer = ReadComparer(json, f, itemName);
                IDictionary dict = code == TypeCodes.Hashtable ? new Hashtable(children.Count, keyComparer) : new OrderedDictionary(children.Count, keyComparer);
                Fill(dict, children.Pairs, null, code, itemName);
                return dict;
            }

            case TypeCodes.ArrayList:
            {
                var list = new ArrayList(children.Count);
                foreach (var item in children.Items)
                {
                    list.Add(item);
                }

                return list;
            }
        }

        var type = ResolveType(code, itemName);
        if (type.IsArray)
        {
            var elementType = type.GetElementType()!;
            var elements = children.Items;
            if (elementType == typeof(object))
            {
                return elements.ToArray();
            }

            var array = Array.CreateInstance(elementType, elements.Length);
            for (var i = 0; i < elements.Length; i++)
            {
                array.SetValue(Convert(elements[i], elementType, itemName), i);
            }

            return array;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var list = (IList)Activator.CreateInstance(type, children.Count)!;
            var element = type.GetGenericArguments()[0];
            foreach (var e in children.Items)
            {
                list.Add(Convert(e, element, itemName));
            }

            return list;
        }

        // A dictionary<K,V> (ChildField gave nothing else 'e').
        var comparer = ReadComparer(json, f, itemName);
        IDictionary typed;
        if (comparer is null)
        {
            typed = (IDictionary)Activator.CreateInstance(type, children.Count)!;
        }
        else if (type.GetGenericArguments()[0] == typeof(string))
        {
            typed = (IDictionary)type.GetConstructor([typeof(int), typeof(IEqualityComparer<string>)])!.Invoke([children.Count, comparer]);
        }
        else
        {
            throw Bad(itemName, "a key comparer is recorded for a dictionary whose keys are not strings");
        }

        Fill(typed, children.Pairs, type.GetGenericArguments(), code, itemName);
        return typed;
    }

    private static void Fill(IDictionary dict, ReadOnlySpan<(object Key, object? Value)> pairs, Type[]? args, string code, ItemPath itemName)
    {
        var mixedKeys = ItemNames.HasMixedKeys(code);
        foreach (var (key, value) in pairs)
        {
            try
            {
                if (args is not null)
                {
                    dict.Add(Convert(key, args[0], itemName)!, Convert(value, args[1], itemName));
                }
                else
                {
                    dict.Add(key, value);
                }
            }
            catch (ArgumentException)
            {
                throw Bad(itemName, $"duplicate key '{ItemNames.KeySegment(key, mixedKeys)}'");
            }
        }
    }

    /// <summary>The optional <c>cmp</c> field of a dictionary node: its key comparer, or null for the default.</summary>
    private static StringComparer? ReadComparer(ReadOnlySpan<byte> json, in NodeFields f, ItemPath itemName)
    {
        if (!f.Cmp.Found)
        {
            return null;
        }

        var cmp = At(json, f.Cmp);
        try
        {
            return cmp.TokenType == JsonTokenType.String ? KeyComparers.Resolve(cmp.GetString()!) : throw Bad(itemName, "the key comparer is not a string");
        }
        catch (FormatException e)
        {
            throw Bad(itemName, e.Message);
        }
    }

    /// <summary>A leaf node (an object without a child array), from the fields remembered while passing it.</summary>
    private object? ReadLeaf(string code, ReadOnlySpan<byte> json, in NodeFields f, ItemPath itemName)
    {
        if (code == TypeCodes.Int32)
        {
            // The commonest leaf, answered before the switch over every type code.
            return (int)IntIn(f, itemName, int.MinValue, int.MaxValue, code);
        }

        switch (code)
        {
            case TypeCodes.SByte: return (sbyte)IntIn(f, itemName, sbyte.MinValue, sbyte.MaxValue, code);
            case TypeCodes.Byte: return (byte)IntIn(f, itemName, byte.MinValue, byte.MaxValue, code);
            case TypeCodes.Int16: return (short)IntIn(f, itemName, short.MinValue, short.MaxValue, code);
            case TypeCodes.UInt16: return (ushort)IntIn(f, itemName, ushort.MinValue, ushort.MaxValue, code);
            case TypeCodes.UInt32: return (uint)IntIn(f, itemName, uint.MinValue, uint.MaxValue, code);
            case TypeCodes.Char: return (char)IntIn(f, itemName, char.MinValue, char.MaxValue, code);
            case TypeCodes.Int64: return long.Parse(Text(json, f.V, "v", itemName), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            case TypeCodes.UInt64: return ulong.Parse(Text(json, f.V, "v", itemName), NumberStyles.None, CultureInfo.InvariantCulture);
            case TypeCodes.Int128: return Int128.Parse(Text(json, f.V, "v", itemName), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            case TypeCodes.UInt128: return UInt128.Parse(Text(json, f.V, "v", itemName), NumberStyles.None, CultureInfo.InvariantCulture);
            case TypeCodes.NInt: return checked((nint)long.Parse(Text(json, f.V, "v", itemName), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
            case TypeCodes.NUInt: return checked((nuint)ulong.Parse(Text(json, f.V, "v", itemName), NumberStyles.None, CultureInfo.InvariantCulture));
            case TypeCodes.BigInteger:
                var digits = Text(json, f.V, "v", itemName);
                return digits.Length > StateEncoder.MaxBigIntegerDigits ? throw Bad(itemName, "integer is too long") : BigInteger.Parse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            case TypeCodes.Half: return BitConverter.UInt16BitsToHalf(checked((ushort)Bits(json, f, itemName, ushort.MaxValue)));
            case TypeCodes.Single: return BitConverter.UInt32BitsToSingle(checked((uint)Bits(json, f, itemName, uint.MaxValue)));
            case TypeCodes.Double: return BitConverter.UInt64BitsToDouble(Bits(json, f, itemName, ulong.MaxValue));
            case TypeCodes.Decimal: return ReadDecimal(json, f, itemName);
            case TypeCodes.String: return ReadRawString(json, f, itemName);
            case TypeCodes.DateTime: return ReadDateTime(json, f, itemName);
            case TypeCodes.DateTimeOffset: return ReadDateTimeOffset(json, f, itemName);
            case TypeCodes.TimeSpan: return new TimeSpan(Ticks(json, f, itemName));
            case TypeCodes.Guid: return Guid.ParseExact(Text(json, f.V, "v", itemName), "D");
            case TypeCodes.PrngKey: return ReadKey(json, f, itemName);
            case TypeCodes.Hashtable or TypeCodes.Ordered:
                // The comparer is checked before the missing entries, as when the node was read whole.
                ReadComparer(json, f, itemName);
                throw Bad(itemName, "field 'e' is missing");
            case TypeCodes.PSObject:
                throw Bad(itemName, "field 'p' is missing");
            case TypeCodes.ArrayList or TypeCodes.KeyArray:
                throw Bad(itemName, "field 'i' is missing");
            case TypeCodes.Tensor:
                var containerType = ResolveType(Text(json, f.Ct, "ct", itemName), itemName);
                var index = f.I.Found && At(json, f.I) is var ti && ti.TokenType == JsonTokenType.Number && ti.TryGetInt32(out var tIndex) ? tIndex : throw Bad(itemName, "tensor index missing");
                if (_tensors.TryGetValue(index, out var loaded))
                {
                    return loaded.Container == containerType ? loaded.Value
                        : throw Bad(itemName, $"tensor {index} is referenced as two container types ({loaded.Container.Name} and {containerType.Name})");
                }

                // The loader normalises restored bools (possibly after decoding them all at once).
                var tensor = _loadTensor(index, containerType, itemName.Name.Length == 0 ? ItemNames.RootLeaf : itemName.Name);
                _tensors.Add(index, (containerType, tensor));
                return tensor;
        }

        var type = ResolveType(code, itemName);
        if (type.IsArray || (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>)))
        {
            throw Bad(itemName, "field 'i' is missing");
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            // The comparer is checked before the missing entries, as when the node is read whole.
            ReadComparer(json, f, itemName);
            throw Bad(itemName, "field 'e' is missing");
        }

        throw Bad(itemName, $"node type '{code}' cannot stand here");
    }

    private static object ReadDictionaryKey(ref Utf8JsonReader r, ReadOnlySpan<byte> json, ItemPath itemName)
    {
        if (r.TokenType == JsonTokenType.String)
        {
            return r.GetString()!;
        }

        if (r.TokenType == JsonTokenType.StartObject)
        {
            var f = LeafFields(ref r, itemName);
            if (f.T.Found && At(json, f.T) is var t && t.TokenType == JsonTokenType.String)
            {
                if (t.ValueTextEquals("str"u8))
                {
                    return ReadRawString(json, f, itemName);
                }

                var code = t.GetString()!;
                switch (code)
                {
                    case TypeCodes.SByte or TypeCodes.Byte or TypeCodes.Int16 or TypeCodes.UInt16 or TypeCodes.Int32 or TypeCodes.UInt32:
                        var v = Int(f, itemName);
                        return code switch
                        {
                            TypeCodes.SByte => checked((sbyte)v),
                            TypeCodes.Byte => checked((byte)v),
                            TypeCodes.Int16 => checked((short)v),
                            TypeCodes.UInt16 => checked((ushort)v),
                            TypeCodes.Int32 => checked((int)v),
                            _ => checked((uint)v),
                        };
                    case TypeCodes.Int64:
                        return long.Parse(Text(json, f.V, "v", itemName), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                    case TypeCodes.UInt64:
                        return ulong.Parse(Text(json, f.V, "v", itemName), NumberStyles.None, CultureInfo.InvariantCulture);
                }
            }
        }

        throw Bad(itemName, "dictionary key is neither a string nor an integer");
    }

    /// <summary>A property name: a JSON string, or a <c>str</c> node for a name with lone surrogates.</summary>
    private static string ReadPropertyName(ref Utf8JsonReader r, ReadOnlySpan<byte> json, ItemPath itemName)
    {
        if (r.TokenType == JsonTokenType.String)
        {
            return r.GetString()!;
        }

        if (r.TokenType == JsonTokenType.StartObject)
        {
            var f = LeafFields(ref r, itemName);
            if (f.T.Found && At(json, f.T) is var t && t.TokenType == JsonTokenType.String && t.ValueTextEquals("str"u8))
            {
                return ReadRawString(json, f, itemName);
            }
        }

        throw Bad(itemName, "property name is not a string");
    }

    private static PrngKey ReadKey(ReadOnlySpan<byte> json, in NodeFields f, ItemPath itemName)
    {
        var impl = Text(json, f.Impl, "impl", itemName);
        if (!f.Data.Found)
        {
            throw Bad(itemName, "field 'data' is missing");
        }

        var data = At(json, f.Data);
        uint a = 0, b = 0;
        var ok = data.TokenType == JsonTokenType.StartArray
            && data.Read() && data.TokenType == JsonTokenType.Number && data.TryGetUInt32(out a)
            && data.Read() && data.TokenType == JsonTokenType.Number && data.TryGetUInt32(out b)
            && data.Read() && data.TokenType == JsonTokenType.EndArray;
        if (!ok)
        {
            throw Bad(itemName, "PRNG key data is not two uint32 words");
        }

        try
        {
            return new PrngKey(impl, [a, b]);
        }
        catch (ArgumentException e)
        {
            throw Bad(itemName, e.Message);
        }
    }

    private static decimal ReadDecimal(ReadOnlySpan<byte> json, in NodeFields f, ItemPath itemName)
    {
        if (!f.B.Found)
        {
            throw Bad(itemName, "field 'b' is missing");
        }

        var b = At(json, f.B);
        if (b.TokenType != JsonTokenType.StartArray)
        {
            throw Bad(itemName, "decimal bits are malformed");
        }

        Span<int> bits = stackalloc int[4];
        var n = 0;
        while (b.Read() && b.TokenType != JsonTokenType.EndArray)
        {
            if (n == 4 || b.TokenType != JsonTokenType.Number || !b.TryGetUInt32(out var v))
            {
                // A fifth element, or one that is not a uint32 number (a nested array included).
                throw Bad(itemName, "decimal bits are malformed");
            }

            bits[n++] = unchecked((int)v);
        }

        if (n != 4)
        {
            throw Bad(itemName, "decimal bits are malformed");
        }

        try
        {
            return new decimal(bits);
        }
        catch (ArgumentException)
        {
            throw Bad(itemName, "decimal bits are invalid");
        }
    }

    private static string ReadRawString(ReadOnlySpan<byte> json, in NodeFields f, ItemPath itemName)
    {
        var bytes = f.B.Found && At(json, f.B) is var b && b.TokenType == JsonTokenType.String && b.TryGetBytesFromBase64(out var raw) ? raw : throw Bad(itemName, "string bytes are malformed");
        if (bytes.Length % 2 != 0)
        {
            throw Bad(itemName, "UTF-16 string has an odd byte count");
        }

        return new string(MemoryMarshal.Cast<byte, char>(bytes));
    }

    // A DateTime or DateTimeOffset constructor range-checks its parts (ticks, offsets): a stored value out
    // of range is corrupt data, so the caller gets the corrupt-checkpoint error naming the item rather than
    // an ArgumentOutOfRangeException that says nothing of the step.
    private static DateTime ReadDateTime(ReadOnlySpan<byte> json, in NodeFields f, ItemPath itemName)
    {
        var kind = Enum.TryParse<DateTimeKind>(Text(json, f.Kind, "kind", itemName), out var k) && Enum.IsDefined(k) ? k : throw Bad(itemName, "unknown DateTime kind");
        try
        {
            return new DateTime(Ticks(json, f, itemName), kind);
        }
        catch (ArgumentException e)
        {
            throw Bad(itemName, e.Message);
        }
    }

    private static DateTimeOffset ReadDateTimeOffset(ReadOnlySpan<byte> json, in NodeFields f, ItemPath itemName)
    {
        var offset = f.OffsetMinutes.Found && At(json, f.OffsetMinutes) is var om && om.TokenType == JsonTokenType.Number && om.TryGetInt32(out var m) ? m : throw Bad(itemName, "offset missing");
        try
        {
            return new DateTimeOffset(Ticks(json, f, itemName), TimeSpan.FromMinutes(offset));
        }
        catch (ArgumentException e)
        {
            throw Bad(itemName, e.Message);
        }
    }

    private static long Int(in NodeFields f, ItemPath itemName) =>
        f.VIsInt ? f.VInt : throw Bad(itemName, "integer value is missing");

    /// <summary>An integer leaf's value, which must lie in [<paramref name="min"/>, <paramref name="max"/>]: out of range is corrupt data naming the leaf.</summary>
    private static long IntIn(in NodeFields f, ItemPath itemName, long min, long max, string code)
    {
        var value = Int(f, itemName);
        return value >= min && value <= max ? value : throw Bad(itemName, string.Create(CultureInfo.InvariantCulture, $"{code} value {value} is out of range"));
    }

    /// <summary>
    /// A float leaf's bits, the hexadecimal string <c>b</c>, at most <paramref name="max"/>. The writer's plain
    /// string is parsed from its UTF-8 bytes where it stands (no reader, no string: the configs' one float a
    /// config, round 41); an escaped string, or bytes that do not parse, take the text path, which parses the
    /// same way and throws what it always threw.
    /// </summary>
    private static ulong Bits(ReadOnlySpan<byte> json, in NodeFields f, ItemPath itemName, ulong max)
    {
        if (f.B.Found && f.B.Length >= 2 && json[f.B.Start] == (byte)'"' && json[f.B.Start + f.B.Length - 1] == (byte)'"')
        {
            // A string token whose end quote the reader found; a backslash means escapes, left to the text path.
            var digits = json.Slice(f.B.Start + 1, f.B.Length - 2);
            if (digits.IndexOf((byte)'\\') < 0
                && ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var fast) && fast <= max)
            {
                return fast;
            }
        }

        var text = Text(json, f.B, "b", itemName);
        return max == ushort.MaxValue ? ushort.Parse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
            : max == uint.MaxValue ? uint.Parse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
            : ulong.Parse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }

    private static long Ticks(ReadOnlySpan<byte> json, in NodeFields f, ItemPath itemName) =>
        long.TryParse(Text(json, f.Ticks, "ticks", itemName), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var t) ? t : throw Bad(itemName, "ticks are malformed");

    private static string Text(ReadOnlySpan<byte> json, FieldAt field, string name, ItemPath itemName)
    {
        if (!field.Found)
        {
            throw Bad(itemName, $"field '{name}' is missing");
        }

        var v = At(json, field);
        return v.TokenType == JsonTokenType.String ? v.GetString()! : throw Bad(itemName, $"field '{name}' is not a string");
    }
}
