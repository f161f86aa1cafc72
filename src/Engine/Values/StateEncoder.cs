using System.Buffers;
using System.Collections;
using System.Collections.Specialized;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace DataraxCkpt.Values;

/// <summary>The result of encoding a state: its manifest node, its tensors and its leaves.</summary>
internal sealed class EncodedState
{
    /// <summary>
    /// The manifest as far as the walk wrote it (<c>{"state":</c> and the state node), being compressed on a pool
    /// thread as it went; <see cref="DataraxCkpt.Format.ManifestCodec.WriteRest"/> gives the rest. Released with the state.
    /// </summary>
    public required DataraxCkpt.Format.StreamedManifest Manifest { get; init; }

    /// <summary>Bytes of the state node's JSON.</summary>
    public long StateNodeLength => Manifest.StateNodeLength;

    /// <summary>The metadata node's JSON.</summary>
    public required ReadOnlyMemory<byte> MetadataNode { get; init; }

    public required IReadOnlyList<TensorSource> Tensors { get; init; }

    /// <summary>
    /// The index's item list of the step, written during the encoder's walk (one record per leaf was
    /// the largest part of a save's garbage); tensor items get their stored sizes once the data is written.
    /// </summary>
    public required DataraxCkpt.Storage.ItemListCodec.Writer ItemList { get; init; }

    /// <summary>Leaves of the state: the step's item count.</summary>
    public int ItemCount => ItemList.Count;

    /// <summary>The leaves as records, decoded from <see cref="ItemList"/> on first use (tests, the remote store's cache).</summary>
    public IReadOnlyList<StoredItem> Items => _items ??= ItemList.ToStoredItems();

    private List<StoredItem>? _items;

    /// <summary>
    /// Gives the manifest's and the item list's pooled buffers back once the save is over (written or
    /// failed): nothing may read <see cref="Manifest"/> or <see cref="ItemList"/> afterwards. Not calling it is safe; the buffer is then collected.
    /// </summary>
    public void Release()
    {
        Manifest.Dispose();
        ItemList.Release();
    }

    /// <summary>Bytes of state: tensor bytes plus the encoded size of every other leaf.</summary>
    public required long Size { get; init; }

    /// <summary>Features the step uses that a reader must know (the manifest's <c>requires</c>, docs/format.md §4); usually none.</summary>
    public IReadOnlyList<string> Requires { get; init; } = [];
}

/// <summary>
/// Walks a state once and writes its manifest node (JSON, see docs/format.md), collecting tensors and
/// leaves on the way. Every refusal — an unsupported type, a cycle, a non-string key — happens here,
/// before any byte reaches the disk, and names the value's path (e.g. <c>state.model.act_fn</c>).
/// </summary>
internal sealed class StateEncoder
{
    /// <summary>
    /// Deepest nesting of containers (dictionaries, objects, lists, arrays) accepted, the same at save and
    /// at restore; deeper trees are refused rather than overflow the stack (docs/format.md §6).
    /// </summary>
    public const int MaxDepth = 200;

    /// <summary>
    /// JSON depth a state node of <see cref="MaxDepth"/> containers may reach: a dictionary costs three
    /// levels (node, entries, pair), a key or leaf node one more, and the manifest wraps the node.
    /// </summary>
    public const int MaxJsonDepth = 3 * MaxDepth + 16;

    /// <summary>Longest decimal text of a <c>bigint</c> (sign included) that the reader accepts.</summary>
    public const int MaxBigIntegerDigits = 100_000;

    /// <summary>Upper bound of the JSON of one chunk entry: four numbers of at most 20 digits, brackets, commas.</summary>
    private const int ChunkEntryBound = 4 * 20 + 8;

    /// <summary>Upper bound of the manifest's fixed fields (format, version, step, saveId, dates, sizes).</summary>
    private const int HeaderBound = 1024;

    private readonly HashSet<object> _onPath = new(ReferenceEqualityComparer.Instance);
    private readonly List<TensorSource> _tensors = new();

    /// <summary>Tensor index of every array or tensor already stored: a second reference to one is stored as the same index.</summary>
    private readonly Dictionary<object, int> _tensorIndex = new(ReferenceEqualityComparer.Instance);
    /// <summary>The step's item list, built leaf by leaf during the walk (none for metadata, which has no items).</summary>
    private readonly DataraxCkpt.Storage.ItemListCodec.Writer? _items;
    private readonly bool _allowTensors;

    /// <summary>
    /// The keys and indices from the root to the value being written. The value path an error names
    /// (<c>state.model.act_fn</c>) is built from it only when an error needs it, not for every leaf.
    /// </summary>
    private readonly List<PathSegment> _path = new();
    private string _rootPath = "state";

    /// <summary>The buffer the node is written into, for runs of plain values written past the JSON writer (<see cref="PlainRun"/>).</summary>
    private IBufferWriter<byte>? _output;

    private IBufferWriter<byte> Output => _output ?? throw new InvalidOperationException("the encoder writes no node");
    private long _size;

    /// <summary>Set when a list is stored as a tensor, which older readers cannot restore (feature <see cref="ListTensors.Feature"/>).</summary>
    private bool _usesListTensors;

    private StateEncoder(bool allowTensors, int expectedItems = 256)
    {
        _allowTensors = allowTensors;
        _items = allowTensors ? new DataraxCkpt.Storage.ItemListCodec.Writer(expectedItems, pooled: true) : null;
    }

    /// <summary>Bytes of state node a leaf of a flat container takes at least: <c>["k12345",{"t":"i32","v":12345}],</c> is 32.</summary>
    private const int NodeBytesPerEntry = 32;

    /// <summary>The largest first size of the state node's buffer (and of the item list's, in items) taken from the root's count.</summary>
    private const int MaxPresize = 16 * 1024 * 1024;

    /// <summary>
    /// Entries of the root dictionary (a state's leaves are at least that many), to size the first buffers: growing a
    /// pooled buffer by doubling from a few KiB rents every size on the way and copies the bytes each time, so the first
    /// save of 100,000 leaves in a process touched about twice its state node's size (docs/performance-notes.md, round 8).
    /// A rented array's unwritten pages are never touched, so a guess too large costs no resident memory; it is still
    /// committed heap, kept in the shared pool.
    /// </summary>
    /// <remarks>
    /// Only a dictionary of a type the encoder stores, read through its own (non-overridable) Count: a root array or
    /// list is usually one tensor, whose node is a few dozen bytes whatever its length (a float[] of 600,000 rented
    /// 48 MiB), and a collection the encoder refuses must be refused naming its type, not fail in its Count.
    /// </remarks>
    private static int RootEntries(object? target)
    {
        var type = target?.GetType();
        var stored = type == typeof(Hashtable) || type == typeof(OrderedDictionary)
            || (type is { IsGenericType: true } && type.GetGenericTypeDefinition() == typeof(Dictionary<,>));
        return stored ? Math.Min(((ICollection)target!).Count, MaxPresize / NodeBytesPerEntry) : 0;
    }

    /// <summary>Encodes a state and its metadata.</summary>
    /// <exception cref="UnsupportedValueException">A value cannot be stored.</exception>
    public static EncodedState Encode(object? target, IReadOnlyDictionary<string, object?>? metadata) =>
        Encode(target, metadata, DataraxCkpt.Format.StepFormat.MaxManifestBytes);

    /// <summary>Encodes a state and its metadata, refusing a manifest that could exceed <paramref name="maxManifestBytes"/>.</summary>
    /// <exception cref="UnsupportedValueException">A value cannot be stored.</exception>
    internal static EncodedState Encode(object? target, IReadOnlyDictionary<string, object?>? metadata, long maxManifestBytes)
    {
        var entries = RootEntries(target);
        var state = new StateEncoder(allowTensors: true, expectedItems: Math.Max(256, entries));
        var manifest = new DataraxCkpt.Format.StreamedManifest();
        try
        {
            return Encode(state, manifest, target, metadata, maxManifestBytes);
        }
        catch
        {
            manifest.Dispose();
            state._items!.Release();
            throw;
        }
    }

    private static EncodedState Encode(StateEncoder state, DataraxCkpt.Format.StreamedManifest manifest, object? target,
        IReadOnlyDictionary<string, object?>? metadata, long maxManifestBytes)
    {
        state.EncodeRoot(target, "state", manifest);
        var meta = new StateEncoder(allowTensors: false);

        // The copy keeps the caller's key comparer, so case-insensitive metadata stays case-insensitive.
        var metadataCopy = new Dictionary<string, object?>(metadata is Dictionary<string, object?> typed ? typed.Comparer : StringComparer.Ordinal);
        if (metadata is not null)
        {
            foreach (var pair in metadata)
            {
                metadataCopy[pair.Key] = pair.Value;
            }
        }

        var metadataBuffer = new ArrayBufferWriter<byte>(256);
        meta.EncodeRoot(metadataCopy, "metadata", metadataBuffer);
        var metadataNode = metadataBuffer.WrittenMemory;
        var bound = ManifestBound(manifest.StateNodeLength, metadataNode, state._tensors);
        if (bound > maxManifestBytes)
        {
            throw new UnsupportedValueException("state",
                $"its manifest could reach {bound} bytes, beyond the format's limit of {maxManifestBytes} bytes that a reader accepts; store long text or many small values as arrays (tensors), or split the state");
        }

        var nameChars = state._items!.NameChars;
        if (nameChars > StateDecoder.MaxItemNameChars)
        {
            // Readers derive the item names from the state node (items-from-state) and refuse a step whose
            // names exceed this bound (docs/format.md §6.4): refuse it here, before anything is written.
            throw new UnsupportedValueException("state",
                $"its item names (every key above each leaf, repeated per leaf) hold {nameChars} characters, beyond the format's limit of {StateDecoder.MaxItemNameChars}; use shorter keys or fewer leaves under long ones");
        }

        return new EncodedState
        {
            Manifest = manifest,
            MetadataNode = metadataNode,
            Tensors = state._tensors,
            ItemList = state._items,
            Size = state._size,
            Requires = state._usesListTensors ? [ListTensors.Feature] : [],
        };
    }

    /// <summary>Writes the node of <paramref name="value"/> into <paramref name="buffer"/> (for the state, the manifest's compressing writer).</summary>
    private void EncodeRoot(object? value, string rootPath, IBufferWriter<byte> buffer)
    {
        _rootPath = rootPath;
        _output = buffer;
        using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = false, Indented = false, MaxDepth = MaxJsonDepth });
        Write(writer, value, string.Empty, 0);
    }

    private void Write(Utf8JsonWriter w, object? value, string itemName, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new UnsupportedValueException(ValuePath(), $"containers nest deeper than {MaxDepth} levels");
        }

        switch (value)
        {
            case null:
                w.WriteNullValue();
                Leaf(itemName, "null", null, null, 0);
                return;
            case string s:
                WriteString(w, s);
                Leaf(itemName, StringKind, StringCode, null, s.Length * 2L);
                return;
            case bool b:
                w.WriteBooleanValue(b);
                Leaf(itemName, ScalarKind, BoolCode, null, 1);
                return;
            case PrngKey key:
                WriteKey(w, key);
                Leaf(itemName, "key", key.Impl, null, 8);
                return;
            case Array array:
                WriteArray(w, array, itemName, depth);
                return;
            case StateObject obj:
                Enter(obj);
                w.WriteStartObject();
                w.WriteString("t", TypeCodes.PSObject);
                w.WriteStartArray("p");
                foreach (var p in obj)
                {
                    w.WriteStartArray();
                    WriteString(w, p.Key);
                    _path.Add(new PathSegment(p.Key, 0));
                    Write(w, p.Value, ItemNames.Join(itemName, ItemNames.Escape(p.Key)), depth + 1);
                    _path.RemoveAt(_path.Count - 1);
                    w.WriteEndArray();
                }

                w.WriteEndArray();
                w.WriteEndObject();
                _onPath.Remove(obj);
                return;
        }

        var type = value.GetType();
        if (value is BigInteger big && big.ToString(CultureInfo.InvariantCulture).Length > MaxBigIntegerDigits)
        {
            throw new UnsupportedValueException(ValuePath(), $"the integer has more than {MaxBigIntegerDigits} decimal digits, which a reader refuses");
        }

        if (WriteScalar(w, value, type))
        {
            Leaf(itemName, "scalar", TypeCodes.TryGetCode(type), null, ScalarSize(value));
            return;
        }

        if (TypeCodes.IsTensorType(type, out var tensorElement))
        {
            WriteTensorObject(w, value, type, tensorElement, itemName);
            return;
        }

        if (value is IDictionary dictionary)
        {
            WriteDictionary(w, dictionary, type, itemName, depth);
            return;
        }

        if (value is IList list)
        {
            // Only lists that restore as their own type: List<T> of a storable T, and ArrayList. Any other
            // list (ReadOnlyCollection, ImmutableArray, Collection<T>…) would come back as something else.
            var code = TypeCodes.TryGetCode(type);
            if (code is null || !(code.StartsWith(TypeCodes.List + "<", StringComparison.Ordinal) || code == TypeCodes.ArrayList))
            {
                throw new UnsupportedValueException(ValuePath(),
                    $"lists of type {type.FullName} are not supported (they would restore as another type); store a List<T>, an array or an ArrayList");
            }

            if (TryWriteListTensor(w, list, code, itemName))
            {
                return;
            }

            WriteSequence(w, list, code, itemName, depth);
            return;
        }

        throw new UnsupportedValueException(ValuePath(), $"values of type {type.FullName} are not supported");
    }

    // The lambdas that create a tensor's source live in methods of their own (this one, ArraySource,
    // ListSource, BoxedListSource): a lambda in Write, WriteArray or TryWriteListTensor would capture their
    // parameters, and C# allocates the closure of captured parameters as the method starts, so every leaf
    // or list of every save paid 40 bytes for a closure that only a tensor uses.
    private void WriteTensorObject(Utf8JsonWriter w, object value, Type type, Type element, string itemName)
    {
        CheckElementCount(TensorInterop.ShapeOf(value, element));
        WriteTensor(w, value, () => TensorSource.FromTensor(value, element, TypeCodes.TryGetCode(type)!), itemName);
    }

    private static Func<TensorSource> ArraySource(Array array, Type element, long[] shape, string code) =>
        () => new TensorSource(array, element, shape, code);

    private static Func<TensorSource> ListSource(IList list, Type element, string code) =>
        () => TensorSource.FromList(list, element, code);

    // Called only the first time this list is met (a second reference reuses its tensor).
    private static Func<TensorSource> BoxedListSource(IList list, Type boxed, string code) =>
        () => new TensorSource(ListTensors.Unbox(list, boxed), boxed, [list.Count], code);

    private void WriteArray(Utf8JsonWriter w, Array array, string itemName, int depth)
    {
        var type = array.GetType();
        var element = type.GetElementType()!;
        for (var i = 0; i < array.Rank; i++)
        {
            if (array.GetLowerBound(i) != 0)
            {
                throw new UnsupportedValueException(ValuePath(),
                    $"arrays whose indices do not start at 0 are not supported (dimension {i} starts at {array.GetLowerBound(i)}); copy it into an ordinary array");
            }
        }

        if (TypeCodes.IsTensorElement(element))
        {
            var shape = new long[array.Rank];
            for (var i = 0; i < shape.Length; i++)
            {
                shape[i] = array.GetLongLength(i);
            }

            CheckElementCount(shape);
            WriteTensor(w, array, ArraySource(array, element, shape, TypeCodes.TryGetCode(type)!), itemName);
            return;
        }

        if (array.Rank != 1 || !type.IsSZArray)
        {
            throw new UnsupportedValueException(ValuePath(), $"multi-dimensional arrays of {element.FullName} are not supported; only numeric arrays may have more than one dimension");
        }

        if (element == typeof(PrngKey))
        {
            Enter(array);
            w.WriteStartObject();
            w.WriteString("t", TypeCodes.KeyArray);
            w.WriteStartArray("i");
            foreach (PrngKey? k in array)
            {
                if (k is null)
                {
                    w.WriteNullValue();
                }
                else
                {
                    WriteKey(w, k);
                }
            }

            w.WriteEndArray();
            w.WriteEndObject();
            _onPath.Remove(array);
            Leaf(itemName, "keys", PrngKey.Threefry2x32Impl, [array.Length], array.Length * 8L);
            return;
        }

        var code = TypeCodes.TryGetCode(type)
            ?? throw new UnsupportedValueException(ValuePath(), $"arrays of {element.FullName} are not supported");
        if (TryWriteListTensor(w, array, code, itemName))
        {
            return;
        }

        WriteSequence(w, array, code, itemName, depth);
    }

    /// <summary>
    /// Writes a numeric list as one tensor of shape [Count] (docs/format.md §6.5): a <c>List&lt;T&gt;</c> of a
    /// tensor element type always, read in place; an <c>object[]</c>, <c>ArrayList</c> or <c>List&lt;object&gt;</c>
    /// when it holds at least <see cref="ListTensors.BoxedThreshold"/> boxed values of one tensor element type,
    /// unboxed into an array now (a later change to the list does not reach the step). False for any other list.
    /// </summary>
    private bool TryWriteListTensor(Utf8JsonWriter w, IList list, string code, string itemName)
    {
        if (!_allowTensors)
        {
            // Metadata holds no tensors; its lists stay element by element.
            return false;
        }

        var type = list.GetType();
        Func<TensorSource> source;
        if (ListTensors.IsNumericList(type, out var element))
        {
            source = ListSource(list, element, code);
        }
        else if (ListTensors.IsBoxedContainer(type) && ListTensors.HomogeneousElement(list) is { } boxed)
        {
            source = BoxedListSource(list, boxed, code);
        }
        else
        {
            return false;
        }

        WriteTensor(w, list, source, itemName);
        _usesListTensors = true;
        return true;
    }

    private void WriteSequence(Utf8JsonWriter w, IList list, string code, string itemName, int depth)
    {
        Enter(list);
        w.WriteStartObject();
        w.WriteString("t", code);
        w.WriteStartArray("i");
        var run = new PlainRun(Output);
        var runs = list.Count >= PlainRunMinCount;
        var afterPlain = false;
        for (var i = 0; i < list.Count; i++)
        {
            var element = list[i];
            if (run.Active)
            {
                if (TryWriteDirectElement(ref run, element, itemName, i))
                {
                    continue;
                }

                run.End();
            }
            else if (depth < MaxDepth)
            {
                // A run starts at the second of two plain values in a row, checked before the flush: plain values
                // alternating with others would otherwise pay a flush and the writer's next request per pair.
                if (afterPlain && runs && IsPlainLeaf(element))
                {
                    run.Start(w);
                    if (TryWriteDirectElement(ref run, element, itemName, i))
                    {
                        continue;
                    }

                    run.End();
                }
                else if (TryWritePlainElement(w, element, itemName, i))
                {
                    afterPlain = true;
                    continue;
                }
            }

            afterPlain = false;

            _path.Add(new PathSegment(null, i));
            Write(w, element, ItemNames.Join(itemName, i.ToString(CultureInfo.InvariantCulture)), depth + 1);
            _path.RemoveAt(_path.Count - 1);
        }

        if (run.Active)
        {
            run.End();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        _onPath.Remove(list);
    }

    private void WriteDictionary(Utf8JsonWriter w, IDictionary dictionary, Type type, string itemName, int depth)
    {
        // Hashtable and OrderedDictionary keep their kind; a generic Dictionary keeps its key and value
        // types; each keeps its key comparer. Any other dictionary (sorted, concurrent, read-only…) is
        // refused: it would come back as another type, with other ordering or equality.
        var code = type == typeof(Hashtable) ? TypeCodes.Hashtable
            : type == typeof(OrderedDictionary) ? TypeCodes.Ordered
            : TypeCodes.TryGetCode(type) is { } c && c.StartsWith(TypeCodes.Dict + "<", StringComparison.Ordinal) ? c
            : throw new UnsupportedValueException(ValuePath(),
                $"dictionaries of type {type.FullName} are not supported (they would restore as another type); store a Dictionary<K,V>, a Hashtable or an OrderedDictionary");
        if (!KeyComparers.TryGetCode(dictionary, out var comparer))
        {
            throw new UnsupportedValueException(ValuePath(),
                $"the dictionary's key comparer ({KeyComparers.Describe(dictionary)}) is not supported; use the default comparer or StringComparer.Ordinal, OrdinalIgnoreCase, InvariantCulture(IgnoreCase) or CurrentCulture(IgnoreCase), the last made under the current culture ('{System.Globalization.CultureInfo.CurrentCulture.Name}'), which must be one this machine predefines");
        }

        var mixedKeys = ItemNames.HasMixedKeys(code);
        Enter(dictionary);
        w.WriteStartObject();
        w.WriteString("t", code);
        if (comparer is not null)
        {
            w.WriteString("cmp", comparer);
        }

        w.WriteStartArray("e");
        var run = new PlainRun(Output);
        var runs = dictionary.Count >= PlainRunMinCount;
        var afterPlain = false;
        var e = dictionary.GetEnumerator();
        try
        {
            while (e.MoveNext())
            {
                var entry = e.Entry;
                var key = entry.Key;
                if (run.Active)
                {
                    // Only a plain entry's container runs (depth < MaxDepth held when it started).
                    if (key is string directKey && TryWriteDirectEntry(ref run, directKey, entry.Value, itemName))
                    {
                        continue;
                    }

                    run.End();
                }
                else if (depth < MaxDepth && key is string plainKey)
                {
                    // A run starts at the second of two plain entries in a row, checked before the flush (see WriteSequence).
                    if (afterPlain && runs && IsPlainKey(plainKey) && IsPlainLeaf(entry.Value))
                    {
                        run.Start(w);
                        if (TryWriteDirectEntry(ref run, plainKey, entry.Value, itemName))
                        {
                            continue;
                        }

                        run.End();
                    }
                    else if (TryWritePlainEntry(w, plainKey, entry.Value, itemName))
                    {
                        afterPlain = true;
                        continue;
                    }
                }

                afterPlain = false;

                _path.Add(new PathSegment(key, 0));
                w.WriteStartArray();
                switch (key)
                {
                    case string s:
                        WriteString(w, s);
                        break;
                    case int or long or short or sbyte or byte or ushort or uint or ulong:
                        WriteScalar(w, key, key.GetType());
                        break;
                    default:
                        throw new UnsupportedValueException(ValuePath(), $"dictionary keys must be strings or integers, not {key.GetType().FullName}");
                }

                Write(w, entry.Value, ItemNames.Join(itemName, ItemNames.KeySegment(key, mixedKeys)), depth + 1);
                _path.RemoveAt(_path.Count - 1);
                w.WriteEndArray();
            }

            if (run.Active)
            {
                run.End();
            }
        }
        finally
        {
            (e as IDisposable)?.Dispose();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        _onPath.Remove(dictionary);
    }

    /// <summary>
    /// Fewest entries or elements of a container whose plain ones run straight into the buffer (<see cref="PlainRun"/>):
    /// a run's flush and the writer's next request for memory cost more than a few raw values save, and the 2,000
    /// configs of four entries and three tags took 16 % more thread CPU to walk with runs in every container
    /// (docs/performance-notes.md, round 68).
    /// </summary>
    private const int PlainRunMinCount = 16;

    /// <summary>Longest key or string leaf (in characters) that the plain path writes; longer ones take the general path.</summary>
    private const int PlainMaxChars = 64;

    /// <summary>Room for <c>["key",leaf]</c> on the stack: a plain key and a plain leaf (a string or the longest scalar node) plus brackets.</summary>
    private const int PlainMaxBytes = (2 * PlainMaxChars) + 64;

    private const string ScalarKind = "scalar";
    private const string StringKind = "string";
    private const string BoolCode = TypeCodes.Bool;
    private const string Int32Code = TypeCodes.Int32;
    private const string Int64Code = TypeCodes.Int64;
    private const string Float64Code = TypeCodes.Double;
    private const string StringCode = TypeCodes.String;

    /// <summary>Item name of a plain leaf: "parent/segment" composed here, not allocated per leaf.</summary>
    private char[] _nameChars = new char[128];

    /// <summary>The parent name whose <c>parent/</c> starts <see cref="_nameChars"/> now; null when none does.</summary>
    private string? _namePrefixOf;

    /// <summary>
    /// Writes a dictionary entry whose key and value are both plain (see <see cref="IsPlainChar"/> and
    /// <see cref="TryWritePlainLeaf"/>) as one raw JSON value, the same bytes the general path writes token by
    /// token (<c>["k1",{"t":"i32","v":1}]</c>): the general path made about nine writer calls, two transcodings
    /// and three character scans of the key per leaf, most of the walk's CPU in a state of many small leaves
    /// (docs/performance-notes.md, round 31). False, with nothing written, for anything else.
    /// </summary>
    [System.Runtime.CompilerServices.SkipLocalsInit] // only the bytes written are handed on
    private bool TryWritePlainEntry(Utf8JsonWriter w, string key, object? value, string parentName)
    {
        Span<byte> json = stackalloc byte[PlainMaxBytes];
        if (!TryFormatPlainEntry(key, value, json, out var n, out var kind, out var dtype, out var size))
        {
            return false;
        }

        w.WriteRawValue(json[..n], skipInputValidation: true);
        PlainLeaf(ChildName(parentName, key), kind, dtype, size);
        return true;
    }

    /// <summary>
    /// A plain entry after the first of its dictionary, written as <c>,["key",leaf]</c> straight into the node
    /// (see <see cref="PlainRun"/>); false, with nothing kept, for any other entry.
    /// </summary>
    private bool TryWriteDirectEntry(ref PlainRun run, string key, object? value, string parentName)
    {
        var json = run.Room(PlainMaxBytes + 1);
        json[0] = (byte)',';
        if (!TryFormatPlainEntry(key, value, json[1..], out var n, out var kind, out var dtype, out var size))
        {
            return false;
        }

        run.Commit(1 + n);
        PlainLeaf(ChildName(parentName, key), kind, dtype, size);
        return true;
    }

    /// <summary>
    /// <c>["key",leaf]</c> of a plain entry into <paramref name="json"/> (room for <see cref="PlainMaxBytes"/>), its
    /// length in <paramref name="n"/>; false for any other entry (what was written is then garbage the caller drops).
    /// </summary>
    private static bool TryFormatPlainEntry(string key, object? value, Span<byte> json, out int n, out string kind, out string dtype, out long size)
    {
        n = 0;
        kind = dtype = string.Empty;
        size = 0;
        if (key.Length == 0 || key.Length > PlainMaxChars)
        {
            // An empty key is named "~e"; a long one does not fit.
            return false;
        }

        json[0] = (byte)'[';
        var quoted = TryQuotePlain(key, json[1..]);
        if (quoted < 0)
        {
            // The key needs a JSON escape or an item-name escape, or is not ASCII.
            return false;
        }

        var at = 1 + quoted;
        json[at++] = (byte)',';
        if (!TryWritePlainLeaf(value, json[at..], out var written, out kind, out dtype, out size))
        {
            return false;
        }

        at += written;
        json[at++] = (byte)']';
        n = at;
        return true;
    }

    /// <summary>Writes a list or array element that is a plain leaf as one raw JSON value; false, with nothing written, otherwise.</summary>
    [System.Runtime.CompilerServices.SkipLocalsInit] // only the bytes written are handed on
    private bool TryWritePlainElement(Utf8JsonWriter w, object? value, string parentName, int index)
    {
        Span<byte> json = stackalloc byte[PlainMaxBytes];
        if (!TryWritePlainLeaf(value, json, out var written, out var kind, out var dtype, out var size))
        {
            return false;
        }

        w.WriteRawValue(json[..written], skipInputValidation: true);
        PlainElementLeaf(parentName, index, kind, dtype, size);
        return true;
    }

    /// <summary>A plain element after the first of its list, written as <c>,leaf</c> straight into the node (see <see cref="PlainRun"/>).</summary>
    private bool TryWriteDirectElement(ref PlainRun run, object? value, string parentName, int index)
    {
        var json = run.Room(PlainMaxBytes + 1);
        json[0] = (byte)',';
        if (!TryWritePlainLeaf(value, json[1..], out var written, out var kind, out var dtype, out var size))
        {
            return false;
        }

        run.Commit(1 + written);
        PlainElementLeaf(parentName, index, kind, dtype, size);
        return true;
    }

    [System.Runtime.CompilerServices.SkipLocalsInit] // only the digits written are read
    private void PlainElementLeaf(string parentName, int index, string kind, string dtype, long size)
    {
        Span<char> digits = stackalloc char[11];
        index.TryFormat(digits, out var length, default, CultureInfo.InvariantCulture);
        PlainLeaf(ChildName(parentName, digits[..length]), kind, dtype, size);
    }

    /// <summary>
    /// The node of a leaf of the commonest types (int, long, double, bool, a plain string), in the exact bytes
    /// <see cref="WriteScalar"/>, <see cref="Utf8JsonWriter.WriteBooleanValue"/> and <see cref="WriteString"/>
    /// write for it; false for any other value. <paramref name="json"/> has room for PlainMaxChars + 2 bytes (a quoted string; the longest scalar node, a long, is 39).
    /// </summary>
    private static bool TryWritePlainLeaf(object? value, Span<byte> json, out int written, out string kind, out string dtype, out long size)
    {
        kind = ScalarKind;
        switch (value)
        {
            case int i:
                written = Append(json, 0, "{\"t\":\"i32\",\"v\":"u8);
                written += Format(i, json[written..], default);
                json[written++] = (byte)'}';
                dtype = Int32Code;
                size = 4;
                return true;
            case long l:
                written = Append(json, 0, "{\"t\":\"i64\",\"v\":\""u8);
                written += Format(l, json[written..], default);
                written = Append(json, written, "\"}"u8);
                dtype = Int64Code;
                size = 8;
                return true;
            case double d:
                written = Append(json, 0, "{\"t\":\"f64\",\"b\":\""u8);
                written += Format(BitConverter.DoubleToUInt64Bits(d), json[written..], "x16");
                written = Append(json, written, "\"}"u8);
                dtype = Float64Code;
                size = 8;
                return true;
            case bool b:
                written = Append(json, 0, b ? "true"u8 : "false"u8);
                dtype = BoolCode;
                size = 1;
                return true;
            case string s when s.Length <= PlainMaxChars && TryQuotePlain(s, json) is var quoted and >= 0:
                written = quoted;
                kind = StringKind;
                dtype = StringCode;
                size = s.Length * 2L;
                return true;
            default:
                written = 0;
                dtype = string.Empty;
                size = 0;
                return false;
        }
    }

    /// <summary>
    /// True when <paramref name="c"/> is an ASCII letter, digit, space or one of <c>- _ . : ,</c>: text of only
    /// such characters is plain, text the writer's default encoder copies as it is (no JSON escape; it escapes <c>" \ &lt; &gt; &amp; ' + `</c>,
    /// controls and everything beyond ASCII) and that an item name keeps as it is (no <c>~</c> or <c>/</c>, no surrogate).
    /// </summary>
    private static bool IsPlainChar(char c) =>
        (uint)((c | 0x20) - 'a') <= 'z' - 'a' || (uint)(c - '0') <= 9 || c is ' ' or '-' or '_' or '.' or ':' or ',';

    /// <summary>
    /// Writes <c>"text"</c> as bytes when <paramref name="text"/> is plain (see <see cref="IsPlainChar"/>) and returns
    /// the bytes written; -1 otherwise (what was written is then garbage the caller drops). One pass: check and copy.
    /// </summary>
    private static int TryQuotePlain(string text, Span<byte> json)
    {
        // A set lookup and a narrowing copy, both vectorised for longer text: a call to IsPlainChar per
        // character was 6 % of the walk's CPU on 100,000 six-character keys.
        if (text.AsSpan().ContainsAnyExcept(PlainChars))
        {
            return -1;
        }

        json[0] = (byte)'"';
        System.Text.Ascii.FromUtf16(text, json.Slice(1, text.Length), out _);
        json[text.Length + 1] = (byte)'"';
        return text.Length + 2;
    }

    /// <summary>Whether <see cref="TryFormatPlainEntry"/> takes <paramref name="key"/> as a plain key.</summary>
    private static bool IsPlainKey(string key) =>
        key.Length is > 0 and <= PlainMaxChars && !key.AsSpan().ContainsAnyExcept(PlainChars);

    /// <summary>Whether <see cref="TryWritePlainLeaf"/> writes <paramref name="value"/> (the same cases, nothing written).</summary>
    private static bool IsPlainLeaf(object? value) => value switch
    {
        int or long or double or bool => true,
        string s => s.Length <= PlainMaxChars && !s.AsSpan().ContainsAnyExcept(PlainChars),
        _ => false,
    };

    /// <summary>The characters <see cref="IsPlainChar"/> accepts, as a set searched in one pass.</summary>
    private static readonly SearchValues<char> PlainChars =
        SearchValues.Create(Enumerable.Range(0, 128).Select(i => (char)i).Where(IsPlainChar).ToArray());

    private static int Append(Span<byte> json, int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(json[at..]);
        return at + bytes.Length;
    }

    /// <summary>A number's invariant UTF-8 text, straight into the node (no string, no transcoding).</summary>
    private static int Format<T>(T value, Span<byte> json, ReadOnlySpan<char> format)
        where T : IUtf8SpanFormattable
    {
        if (!value.TryFormat(json, out var length, format, CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"the text of a {typeof(T).Name} did not fit in {json.Length} bytes");
        }

        return length;
    }

    /// <summary>The item name of a child: the segment alone under the root, else "parent/segment" in a reused buffer (valid until the next call).</summary>
    private ReadOnlySpan<char> ChildName(string parent, ReadOnlySpan<char> segment)
    {
        if (parent.Length == 0)
        {
            return segment;
        }

        var length = parent.Length + 1 + segment.Length;
        if (_nameChars.Length < length)
        {
            _nameChars = new char[Math.Max(length, _nameChars.Length * 2)];
            _namePrefixOf = null;
        }

        // Siblings share their parent's name: "parent/" is copied once per run of them, not per leaf. The same
        // string object is the same text, whichever container it names.
        if (!ReferenceEquals(parent, _namePrefixOf))
        {
            parent.CopyTo(_nameChars);
            _nameChars[parent.Length] = '/';
            _namePrefixOf = parent;
        }

        segment.CopyTo(_nameChars.AsSpan(parent.Length + 1));
        return _nameChars.AsSpan(0, length);
    }

    private void PlainLeaf(ReadOnlySpan<char> name, string kind, string dtype, long size)
    {
        _items?.Add(name, kind, dtype, null, size, 0);
        _size += size;
    }

    /// <summary>
    /// Writes a tensor node. The same array or tensor object met again (tied weights) is stored once: its
    /// node refers to the first one's index, so the reader restores one object referenced twice. Each
    /// reference is still an item of its own; the state's size counts the bytes once.
    /// </summary>
    private void WriteTensor(Utf8JsonWriter w, object owner, Func<TensorSource> source, string itemName)
    {
        if (!_allowTensors)
        {
            throw new UnsupportedValueException(ValuePath(), "arrays and tensors are not allowed in metadata; put them in the state");
        }

        if (!_tensorIndex.TryGetValue(owner, out var index))
        {
            var created = source();
            index = _tensors.Count;
            _tensors.Add(created);
            _tensorIndex.Add(owner, index);
            _size += created.ByteLength;
        }

        var tensor = _tensors[index];
        w.WriteStartObject();
        w.WriteString("t", TypeCodes.Tensor);
        w.WriteString("ct", tensor.ContainerCode);
        w.WriteNumber("i", index);
        w.WriteEndObject();
        _items?.AddTensor(Name(itemName), "tensor", tensor.DType, tensor.Shape, tensor.ByteLength, index);
    }

    /// <summary>The reader allocates only arrays .NET can make: at most Array.MaxLength elements, and so many per dimension.</summary>
    private void CheckElementCount(long[] shape)
    {
        long elements = 1;
        foreach (var d in shape)
        {
            if (d > Array.MaxLength)
            {
                throw new UnsupportedValueException(ValuePath(), $"a dimension of {d} exceeds the limit of {Array.MaxLength} that a reader can allocate");
            }

            elements = elements == 0 || d == 0 ? 0 : elements > Array.MaxLength / d ? long.MaxValue : elements * d;
        }

        if (elements > Array.MaxLength)
        {
            throw new UnsupportedValueException(ValuePath(),
                $"the array has {(elements == long.MaxValue ? "more than " + Array.MaxLength : elements.ToString(CultureInfo.InvariantCulture))} elements; a checkpoint array holds at most {Array.MaxLength} (a reader cannot allocate more); split it");
        }
    }

    /// <summary>
    /// An upper bound of the manifest ManifestCodec will write for this state, so that a state whose
    /// manifest a reader would refuse is refused here, before any byte is written.
    /// </summary>
    private static long ManifestBound(long stateNodeLength, ReadOnlyMemory<byte> metadataNode, List<TensorSource> tensors)
    {
        // Items are not written (they are derived from the state node: items-from-state), so the
        // manifest is the header, the tensor table and the two nodes.
        long bound = HeaderBound + stateNodeLength + metadataNode.Length;
        foreach (var t in tensors)
        {
            var chunks = (t.ByteLength + DataraxCkpt.Format.Lz4Frame.BlockSize - 1) / DataraxCkpt.Format.Lz4Frame.BlockSize;
            bound += 64 + 21L * t.Shape.Length + chunks * ChunkEntryBound;
        }

        return bound;
    }

    /// <summary>The value path of the value being written, for an error message.</summary>
    private string ValuePath()
    {
        var path = _rootPath;
        foreach (var segment in _path)
        {
            path = segment.Key is null ? Values.ValuePath.Child(path, segment.Index) : Values.ValuePath.Child(path, segment.Key);
        }

        return path;
    }

    /// <summary>One step of a value path: a dictionary key or property name, or else a list index.</summary>
    private readonly record struct PathSegment(object? Key, int Index);

    private void Enter(object container)
    {
        if (!_onPath.Add(container))
        {
            throw new UnsupportedValueException(ValuePath(), "the state refers back to itself (a cycle); checkpoint a tree, not a graph");
        }
    }

    private void Leaf(string itemName, string kind, string? dtype, long[]? shape, long size)
    {
        _items?.Add(Name(itemName), kind, dtype, shape, size, 0);
        _size += size;
    }

    private static string Name(string itemName) => itemName.Length == 0 ? ItemNames.RootLeaf : itemName;

    private static void WriteKey(Utf8JsonWriter w, PrngKey key)
    {
        w.WriteStartObject();
        w.WriteString("t", TypeCodes.PrngKey);
        w.WriteString("impl", key.Impl);
        w.WriteStartArray("data");
        foreach (var word in key.KeyDataSpan)
        {
            w.WriteNumberValue(word);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteString(Utf8JsonWriter w, string s)
    {
        if (IsWellFormed(s))
        {
            w.WriteStringValue(s);
            return;
        }

        // A lone surrogate is not Unicode, so JSON cannot carry it; keep the exact UTF-16 units instead.
        w.WriteStartObject();
        w.WriteString("t", StringCode);
        w.WriteBase64String("b", MemoryMarshal.AsBytes(s.AsSpan()));
        w.WriteEndObject();
    }

    private static bool IsWellFormed(string s)
    {
        var span = s.AsSpan();
        var i = SurrogateSearch.IndexOfSurrogate(span);
        while (i >= 0 && i < span.Length)
        {
            if (!char.IsHighSurrogate(span[i]) || i + 1 >= span.Length || !char.IsLowSurrogate(span[i + 1]))
            {
                return false;
            }

            i += 2;
            var next = SurrogateSearch.IndexOfSurrogate(span[i..]);
            i = next < 0 ? -1 : i + next;
        }

        return true;
    }

    private static long ScalarSize(object value) => value switch
    {
        sbyte or byte => 1,
        short or ushort or char or Half => 2,
        int or uint or float => 4,
        decimal or Int128 or UInt128 or Guid => 16,
        BigInteger big => big.GetByteCount(),
        DateTimeOffset => 10,
        _ => 8,
    };

    /// <summary>Writes a scalar leaf of the fixed set; false when the type is not one.</summary>
    private static bool WriteScalar(Utf8JsonWriter w, object value, Type type)
    {
        var code = TypeCodes.TryGetCode(type);
        switch (value)
        {
            case sbyte or byte or short or ushort or int or uint or char:
                w.WriteStartObject();
                w.WriteString("t", code);
                w.WriteNumber("v", value is char ch ? ch : Convert.ToInt64(value, CultureInfo.InvariantCulture));
                w.WriteEndObject();
                return true;
            case long or ulong or Int128 or UInt128 or nint or nuint:
                w.WriteStartObject();
                w.WriteString("t", code);
                WriteFormatted(w, "v", (ISpanFormattable)value, default);
                w.WriteEndObject();
                return true;
            case BigInteger big:
                // Up to MaxBigIntegerDigits digits: too long for the stack.
                w.WriteStartObject();
                w.WriteString("t", code);
                w.WriteString("v", big.ToString(CultureInfo.InvariantCulture));
                w.WriteEndObject();
                return true;
            case Half h:
                WriteBits(w, TypeCodes.Half, BitConverter.HalfToUInt16Bits(h), "x4");
                return true;
            case float f:
                WriteBits(w, TypeCodes.Single, BitConverter.SingleToUInt32Bits(f), "x8");
                return true;
            case double d:
                WriteBits(w, TypeCodes.Double, BitConverter.DoubleToUInt64Bits(d), "x16");
                return true;
            case decimal m:
                w.WriteStartObject();
                w.WriteString("t", TypeCodes.Decimal);
                w.WriteStartArray("b");
                Span<int> bits = stackalloc int[4];
                decimal.GetBits(m, bits);
                foreach (var part in bits)
                {
                    w.WriteNumberValue(unchecked((uint)part));
                }

                w.WriteEndArray();
                w.WriteEndObject();
                return true;
            case DateTime dt:
                w.WriteStartObject();
                w.WriteString("t", TypeCodes.DateTime);
                w.WriteString("ticks", dt.Ticks.ToString(CultureInfo.InvariantCulture));
                w.WriteString("kind", dt.Kind.ToString());
                w.WriteEndObject();
                return true;
            case DateTimeOffset dto:
                w.WriteStartObject();
                w.WriteString("t", TypeCodes.DateTimeOffset);
                w.WriteString("ticks", dto.Ticks.ToString(CultureInfo.InvariantCulture));
                w.WriteNumber("offsetMinutes", (int)dto.Offset.TotalMinutes);
                w.WriteEndObject();
                return true;
            case TimeSpan ts:
                w.WriteStartObject();
                w.WriteString("t", TypeCodes.TimeSpan);
                w.WriteString("ticks", ts.Ticks.ToString(CultureInfo.InvariantCulture));
                w.WriteEndObject();
                return true;
            case Guid g:
                w.WriteStartObject();
                w.WriteString("t", TypeCodes.Guid);
                w.WriteString("v", g.ToString("D"));
                w.WriteEndObject();
                return true;
            default:
                return false;
        }
    }

    private static void WriteBits<T>(Utf8JsonWriter w, string code, T bits, string format)
        where T : ISpanFormattable
    {
        w.WriteStartObject();
        w.WriteString("t", code);
        WriteFormatted(w, "b", bits, format);
        w.WriteEndObject();
    }

    /// <summary>
    /// Writes a number's invariant text as a string property, formatted on the stack: a string per number
    /// was most of what a save of many longs or doubles allocated (an lr of every config, say).
    /// </summary>
    private static void WriteFormatted<T>(Utf8JsonWriter w, string property, T value, ReadOnlySpan<char> format)
        where T : ISpanFormattable
    {
        // 40 digits and a sign hold any Int128 or UInt128; 16 hex digits any bit pattern written here.
        Span<char> text = stackalloc char[48];
        if (!value.TryFormat(text, out var length, format, CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"the text of a {typeof(T).Name} did not fit in {text.Length} characters");
        }

        w.WriteString(property, text[..length]);
    }
}
