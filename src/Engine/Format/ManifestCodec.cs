using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text.Json;
using DataraxCkpt.Storage;
using DataraxCkpt.Values;

namespace DataraxCkpt.Format;

/// <summary>
/// Writes and reads the step manifest (docs/format.md): the JSON document inside
/// <c>manifest.json.lz4</c> that describes a step completely — header, tensor table with chunk
/// layout, leaf list, metadata node and state node. The reader validates every field it will later
/// trust (versions, dtypes, shapes, sizes against the data file) before anything is allocated.
/// </summary>
internal static class ManifestCodec
{
    /// <summary>
    /// The manifest after its state node, which comes first (docs/format.md §2.3: readers find members by name, in any
    /// order; the walk wrote <c>{"state":</c> and the node, compressed as they came, round 69 of
    /// docs/performance-notes.md): <c>,"format":…,"metadata":…}</c>, the members known only once the data file is written.
    /// Features the tensor table's filters require (<paramref name="filterFeatures"/>) follow the state's own in <c>requires</c>.
    /// </summary>
    public static ReadOnlyMemory<byte> WriteRest(long step, string saveId, DateTimeOffset createdUtc, EncodedState state,
        IReadOnlyList<TensorLayout> tensors, long dataLength, IReadOnlyList<string>? filterFeatures = null)
    {
        var buffer = new ArrayBufferWriter<byte>(state.MetadataNode.Length + tensors.Count * 128 + 1024);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            WriteMembers(w, step, saveId, createdUtc, state, tensors, dataLength, filterFeatures ?? []);
        }

        // Written as an object of its own, whose opening brace becomes the comma after the state node.
        var rest = buffer.WrittenMemory;
        MemoryMarshal.AsMemory(rest).Span[0] = (byte)',';
        return rest;
    }

    /// <summary>
    /// The manifest of a state as one document, its state node first as a save writes it: for tests and tools that
    /// want the manifest's text; a save never holds it whole.
    /// </summary>
    public static byte[] Write(long step, string saveId, DateTimeOffset createdUtc, EncodedState state,
        IReadOnlyList<TensorLayout> tensors, long dataLength, IReadOnlyList<string>? filterFeatures = null)
    {
        var frame = state.Manifest.Complete(WriteRest(step, saveId, createdUtc, state, tensors, dataLength, filterFeatures).Span);
        using var file = new MemoryStream();
        frame.CopyTo(file);
        var bytes = file.ToArray();
        var json = new byte[Lz4Frame.ReadContentSize(bytes)];
        Lz4Frame.Decode(bytes, json);
        return json;
    }

    /// <summary>Every member of the manifest but the state node, as one object.</summary>
    private static void WriteMembers(Utf8JsonWriter w, long step, string saveId, DateTimeOffset createdUtc, EncodedState state,
        IReadOnlyList<TensorLayout> tensors, long dataLength, IReadOnlyList<string> filterFeatures)
    {
        {
            w.WriteStartObject();
            w.WriteString("format", StepFormat.FormatName);
            w.WriteNumber("version", StepFormat.Version);
            // Only a step that uses a feature names it, so every other step stays readable by older engines;
            // every step this engine writes derives its items from the state.
            w.WriteStartArray("requires");
            w.WriteStringValue(StepFormat.ItemsFromState);
            foreach (var feature in state.Requires)
            {
                w.WriteStringValue(feature);
            }

            foreach (var feature in filterFeatures)
            {
                w.WriteStringValue(feature);
            }

            w.WriteEndArray();
            w.WriteNumber("step", step);
            w.WriteString("saveId", saveId);
            w.WriteString("createdUtc", createdUtc.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            w.WriteNumber("size", state.Size);
            w.WriteString("dataFile", StepFormat.DataFile);
            w.WriteNumber("dataLength", dataLength);
            w.WriteStartArray("tensors");
            foreach (var t in tensors)
            {
                w.WriteStartObject();
                w.WriteString("dtype", t.DType);
                w.WriteStartArray("shape");
                foreach (var d in t.Shape)
                {
                    w.WriteNumberValue(d);
                }

                w.WriteEndArray();
                w.WriteString("filter", t.Filter);
                w.WriteStartArray("chunks");
                foreach (var c in t.Chunks)
                {
                    w.WriteStartArray();
                    w.WriteNumberValue(c.Offset);
                    w.WriteNumberValue(c.StoredLength);
                    w.WriteNumberValue(c.RawLength);
                    w.WriteNumberValue(c.Checksum);
                    w.WriteEndArray();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WritePropertyName("metadata");
            w.WriteRawValue(state.MetadataNode.Span, skipInputValidation: true);
            w.WriteEndObject();
        }
    }

    /// <summary>Parses and validates a manifest.</summary>
    /// <exception cref="InvalidDataException">The manifest is malformed, of another version, or inconsistent.</exception>
    /// <param name="json">The manifest's JSON bytes.</param>
    /// <param name="dataFileLength">Length of the step's data file.</param>
    /// <param name="allowNewer">Return a header-only manifest (see <see cref="StepManifest.NewerFormat"/>)
    /// for a step of a newer format instead of throwing <see cref="NewerFormatException"/>.</param>
    public static StepManifest Parse(ReadOnlyMemory<byte> json, long dataFileLength, bool allowNewer = false)
    {
        JsonDocument doc;
        ReadOnlyMemory<byte> stateJson;
        try
        {
            (doc, stateJson) = ParseApartFromState(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"manifest is not valid JSON ({e.Message})", e);
        }

        try
        {
            return Validate(doc, stateJson, dataFileLength, allowNewer);
        }
        catch
        {
            doc.Dispose();
            throw;
        }
    }

    private static readonly JsonReaderOptions ManifestReaderOptions = new() { MaxDepth = StateEncoder.MaxJsonDepth };

    /// <summary>
    /// Reads the manifest once with a <see cref="Utf8JsonReader"/> (every JSON rule and the depth limit, as a
    /// document would check them) and builds a document of everything but the state node, which stands there as
    /// <c>null</c>: the state node, megabytes for 100,000 scalar leaves, is decoded later straight from its bytes
    /// (<see cref="StepManifest.StateJson"/>) instead of being indexed into a document first. A root that is not an
    /// object is parsed whole, so the header check names it as before.
    /// A state node that is an object or an array is not tokenized here: <see cref="StateExtent(ReadOnlySpan{byte}, int)"/> finds its end
    /// by its brackets and quotes alone (and refuses one that is cut off or nests too deep), and every reader of
    /// <see cref="StepManifest.StateJson"/> checks it fully as it reads it (the decoder's reader, or the document
    /// of <see cref="StepManifest.State"/>). Tokenizing it here as well was a whole pass over megabytes for a
    /// restore that tokenizes it again at once (round 27 of docs/performance-notes.md). Where no reader of the node
    /// would run (a step listing its items, a step of a newer format, a node a second state field replaces), the
    /// open still tokenizes it (<see cref="CheckStateJson"/>).
    /// </summary>
    private static (JsonDocument Document, ReadOnlyMemory<byte> State) ParseApartFromState(ReadOnlyMemory<byte> json)
    {
        var span = json.Span;
        var reader = new Utf8JsonReader(span, ManifestReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return (JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = StateEncoder.MaxJsonDepth }), default);
        }

        var state = default(ReadOnlyMemory<byte>);
        // The other fields' bytes, copied as they stand (duplicates too: the document keeps the last, as it always did).
        var rest = new ArrayBufferWriter<byte>(4096);
        rest.Write("{"u8);
        var first = true;
        // After a state node passed by its extent, the reader goes on over a copy of what follows it, put behind
        // "{" "state" ":" null, so that it sees the same object it would have seen in the manifest itself.
        byte[]? tail = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var nameStart = (int)reader.TokenStartIndex;
            var isState = reader.ValueTextEquals("state"u8);
            reader.Read();
            var valueStart = (int)reader.TokenStartIndex;
            if (isState && tail is null && reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                var stateEnd = valueStart + StateExtent(span[valueStart..], StateEncoder.MaxJsonDepth - 1);
                state = json[valueStart..stateEnd];
                if (!first)
                {
                    rest.Write(","u8);
                }

                first = false;
                rest.Write(span[nameStart..valueStart]);
                rest.Write("null"u8);
                tail = [.. "{\"state\":null"u8, .. span[stateEnd..]];
                span = tail;
                reader = new Utf8JsonReader(span, ManifestReaderOptions);
                reader.Read();
                reader.Read();
                reader.Read();
                continue;
            }

            reader.Skip();
            var end = (int)reader.BytesConsumed;
            if (!first)
            {
                rest.Write(","u8);
            }

            first = false;
            if (isState)
            {
                if (tail is not null)
                {
                    // A second state field replaces the node passed by its extent, which no reader would then
                    // check: the manifest holding it is checked here, as the tokenizer checked it before.
                    CheckStateJson(state.Span);
                }

                state = tail is null ? json[valueStart..end] : span[valueStart..end].ToArray();
                rest.Write(span[nameStart..valueStart]);
                rest.Write("null"u8);
            }
            else
            {
                rest.Write(span[nameStart..end]);
            }
        }

        // A second value after the root object makes the reader throw here, as a document refuses it.
        if (reader.Read())
        {
            throw new InvalidDataException("manifest has data after its root object");
        }

        rest.Write("}"u8);
        return (JsonDocument.Parse(rest.WrittenMemory, new JsonDocumentOptions { MaxDepth = StateEncoder.MaxJsonDepth }), state);
    }

    /// <summary>
    /// The length of the object or array at the start of <paramref name="value"/>, found by its brackets alone
    /// (outside strings, whose escapes are honoured): not a check of its JSON, which its readers make as they read
    /// it. A value cut off before its end, or nesting deeper than <paramref name="maxNesting"/> levels (itself the
    /// first; the manifest's root object is one more level, so the caller passes the manifest's limit less one), is refused as the tokenizer refused it.
    /// </summary>
    /// <exception cref="JsonException">The value ends before its brackets close, or nests too deep.</exception>
    internal static int StateExtent(ReadOnlySpan<byte> value, int maxNesting) =>
        StateExtent(value, maxNesting, Vector256.IsHardwareAccelerated ? StateScan.Vector256 : StateScan.Bytes);

    /// <summary>
    /// <see cref="StateExtent(ReadOnlySpan{byte}, int)"/> by the path <paramref name="scan"/> names, so that tests hold
    /// each path to the byte scan on any machine that can run it (the production choice above runs only one of them
    /// per machine: a test of it alone could not fail where Vector256 is not accelerated). The path is chosen once per
    /// call; the loops are those production runs.
    /// </summary>
    /// <exception cref="JsonException">The value ends before its brackets close, or nests too deep.</exception>
    internal static int StateExtent(ReadOnlySpan<byte> value, int maxNesting, StateScan scan)
    {
        var depth = 0;
        var inString = false;

        // The first byte not yet passed over: past a backslash inside a string it is two bytes on (the escaped
        // byte is skipped whole; UTF-8 continuation bytes are never a quote or a backslash).
        var next = 0;
        var block = 0;
        if (scan == StateScan.Vector256)
        {
            // 32 bytes at a time: a mask of the bytes that can matter (quote, backslash, brackets) and a visit to
            // each, in order. A plain loop paid a branch on every byte; the state node of small leaves has one of
            // these every three or four bytes (round 27 found a search for the next one no faster, as it paid a
            // call per byte found; round 41: the mask visits them all at the cost of one bit each).
            ref var first = ref MemoryMarshal.GetReference(value);
            for (; block + Vector256<byte>.Count <= value.Length; block += Vector256<byte>.Count)
            {
                var bytes = Vector256.LoadUnsafe(ref first, (nuint)block);
                var folded = bytes | Vector256.Create((byte)0x20); // '[' and ']' differ from '{' and '}' in this bit only
                var mask = (Vector256.Equals(bytes, Vector256.Create((byte)'"'))
                    | Vector256.Equals(bytes, Vector256.Create((byte)'\\'))
                    | Vector256.Equals(folded, Vector256.Create((byte)'{'))
                    | Vector256.Equals(folded, Vector256.Create((byte)'}'))).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    var at = block + BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    if (at >= next && Step(value[at], at, ref depth, ref inString, ref next, maxNesting))
                    {
                        return at + 1;
                    }
                }
            }
        }
        else if (scan == StateScan.Vector128)
        {
            // The same mask over 16 bytes: not chosen by production (which takes Vector256 or the byte loop), kept so
            // that the block logic is tested at a second block size on every machine with 128-bit vectors (ARM64).
            ref var first = ref MemoryMarshal.GetReference(value);
            for (; block + Vector128<byte>.Count <= value.Length; block += Vector128<byte>.Count)
            {
                var bytes = Vector128.LoadUnsafe(ref first, (nuint)block);
                var folded = bytes | Vector128.Create((byte)0x20);
                var mask = (Vector128.Equals(bytes, Vector128.Create((byte)'"'))
                    | Vector128.Equals(bytes, Vector128.Create((byte)'\\'))
                    | Vector128.Equals(folded, Vector128.Create((byte)'{'))
                    | Vector128.Equals(folded, Vector128.Create((byte)'}'))).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    var at = block + BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    if (at >= next && Step(value[at], at, ref depth, ref inString, ref next, maxNesting))
                    {
                        return at + 1;
                    }
                }
            }
        }

        for (var at = Math.Max(block, next); at < value.Length; at++)
        {
            if (at >= next && Step(value[at], at, ref depth, ref inString, ref next, maxNesting))
            {
                return at + 1;
            }
        }

        throw new JsonException(inString ? "the state node ends inside a string" : "the state node ends before its brackets close");
    }

    /// <summary>One byte of <see cref="StateExtent(ReadOnlySpan{byte}, int)"/>'s scan; true where the outermost bracket closes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Step(byte b, int at, ref int depth, ref bool inString, ref int next, int maxNesting)
    {
        if (inString)
        {
            if (b == (byte)'"')
            {
                inString = false;
            }
            else if (b == (byte)'\\')
            {
                next = at + 2;
            }

            return false;
        }

        switch (b)
        {
            case (byte)'"':
                inString = true;
                break;
            case (byte)'[' or (byte)'{':
                if (++depth > maxNesting)
                {
                    throw new JsonException($"the state node nests deeper than the manifest's limit of {StateEncoder.MaxJsonDepth} levels");
                }

                break;
            case (byte)']' or (byte)'}':
                return --depth == 0;
        }

        return false;
    }

    /// <summary>
    /// Tokenizes a state node whose end <see cref="StateExtent(ReadOnlySpan{byte}, int)"/> found, for a step where no reader of the node
    /// would check it: a step that lists its items (an index rebuild and an item listing read only the list), a
    /// step of a newer format (listed and kept from its header alone), a node a later state field replaces.
    /// </summary>
    /// <exception cref="InvalidDataException">The node is not valid JSON.</exception>
    private static void CheckStateJson(ReadOnlySpan<byte> state)
    {
        if (state.IsEmpty)
        {
            return;
        }

        try
        {
            var reader = new Utf8JsonReader(state, ManifestReaderOptions);
            reader.Read();
            reader.Skip();
            if (reader.Read())
            {
                throw new JsonException("data after the node");
            }
        }
        catch (JsonException e)
        {
            throw StateNodeErrors.NotJson(e);
        }
    }

    private static StepManifest Validate(JsonDocument doc, ReadOnlyMemory<byte> stateJson, long dataFileLength, bool allowNewer)
    {
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || GetString(root, "format") != StepFormat.FormatName)
        {
            throw new InvalidDataException($"manifest is not a {StepFormat.FormatName} manifest");
        }

        var version = GetLong(root, "version");
        if (version < 1)
        {
            throw new InvalidDataException($"format version {version} does not exist (versions start at 1)");
        }

        // Only the header fields keep their meaning across versions (docs/format.md §4): a newer step's
        // feature lists may have another shape, and must not make it look corrupt.
        var required = version > StepFormat.Version ? [] : FeatureList(root, "requires");
        var unknownFeatures = version > StepFormat.Version ? []
            : required.Where(f => !StepFormat.KnownFeatures.Contains(f)).Distinct(StringComparer.Ordinal).ToList();
        if (version <= StepFormat.Version)
        {
            FeatureList(root, "optional");
        }

        var step = GetLong(root, "step");
        if (version > StepFormat.Version || unknownFeatures.Count > 0)
        {
            // Kept and listed from its header alone: its state node is checked as JSON here, or nothing would.
            CheckStateJson(stateJson.Span);
            var newer = new NewerFormatException(version, unknownFeatures);
            if (!allowNewer)
            {
                throw newer;
            }

            return HeaderOnly(doc, step, newer);
        }

        var dataLength = GetLong(root, "dataLength");
        if (dataLength != dataFileLength)
        {
            throw new InvalidDataException($"{StepFormat.DataFile} is {dataFileLength} bytes but the manifest says {dataLength}");
        }

        if (GetString(root, "dataFile") != StepFormat.DataFile)
        {
            throw new InvalidDataException("manifest names an unexpected data file");
        }

        var created = ParseCreated(GetString(root, "createdUtc"));
        var tensors = new List<TensorLayout>();
        long dataEnd = 0;
        foreach (var t in GetArray(root, "tensors").EnumerateArray())
        {
            try
            {
                tensors.Add(ParseTensor(t, dataLength, tensors.Count, ref dataEnd, required.Contains(PlanePacking.Feature, StringComparer.Ordinal)));
            }
            catch (InvalidDataException e) when (NameOfTensor(root, stateJson, tensors.Count, required) is { } name)
            {
                // Name the item the user knows rather than a position in the tensor table.
                throw new InvalidDataException($"item '{name}': {e.Message}", e);
            }
        }

        if (!root.TryGetProperty("state", out _) || !root.TryGetProperty("metadata", out var metadata))
        {
            throw new InvalidDataException("manifest lacks its state or metadata");
        }

        List<StoredItem>? items = null;
        if (required.Contains(StepFormat.ItemsFromState, StringComparer.Ordinal))
        {
            // One source of truth: a step that derives its items must not also list them, or a reader
            // would have to choose between two lists that may disagree.
            if (root.TryGetProperty("items", out _))
            {
                throw new InvalidDataException($"manifest requires '{StepFormat.ItemsFromState}' but also has an 'items' array");
            }

        }
        else
        {
            items = new List<StoredItem>();
            foreach (var i in GetArray(root, "items").EnumerateArray())
            {
                items.Add(ParseItem(i, tensors.Count));
            }

            // Its items are read from the list, so an index rebuild or an item listing never reads the state
            // node: it is checked as JSON here, as the open checked every step's before round 27.
            CheckStateJson(stateJson.Span);
        }

        // The save id names the step's staging and trash folders: anything but 32 hex digits could climb out.
        var saveId = GetString(root, "saveId");
        if (!StoredNames.IsSaveId(saveId))
        {
            throw new InvalidDataException($"manifest saveId '{Truncate(saveId)}' is not 32 lower-case hex digits");
        }

        return new StepManifest
        {
            Step = step,
            SaveId = saveId,
            CreatedUtc = created,
            Size = GetLong(root, "size"),
            DataLength = dataLength,
            Tensors = tensors,
            Items = items!,
            ItemsFromState = items is null,
            Document = doc,
            StateJson = stateJson,
            Metadata = metadata,
        };
    }

    /// <summary>
    /// The fields every format version keeps with the same meaning (docs/format.md §4), read from a
    /// step this engine cannot otherwise read, so that the step can still be listed and kept.
    /// </summary>
    private static StepManifest HeaderOnly(JsonDocument doc, long step, NewerFormatException newer)
    {
        var root = doc.RootElement;
        if (!root.TryGetProperty("metadata", out var metadata))
        {
            throw new InvalidDataException("manifest lacks its metadata");
        }

        return new StepManifest
        {
            Step = step,
            SaveId = GetString(root, "saveId"),
            CreatedUtc = ParseCreated(GetString(root, "createdUtc")),
            Size = GetLong(root, "size"),
            DataLength = GetLong(root, "dataLength"),
            Tensors = [],
            Items = [],
            Document = doc,
            StateJson = default,
            Metadata = metadata,
            NewerFormat = newer,
        };
    }

    /// <summary>A feature list: absent, or an array of strings.</summary>
    private static List<string> FeatureList(JsonElement root, string name)
    {
        var features = new List<string>();
        if (!root.TryGetProperty(name, out var list))
        {
            return features;
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"manifest field '{name}' is not an array");
        }

        foreach (var f in list.EnumerateArray())
        {
            features.Add(f.ValueKind == JsonValueKind.String ? f.GetString()! : throw new InvalidDataException($"manifest field '{name}' holds a non-string"));
        }

        return features;
    }

    private static DateTimeOffset ParseCreated(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var created)
            ? created : throw new InvalidDataException($"manifest field 'createdUtc' is not a date ('{Truncate(text)}')");

    /// <param name="t">The tensor's JSON entry.</param>
    /// <param name="dataLength">Length of the data file.</param>
    /// <param name="index">Position in the tensor table, for messages.</param>
    /// <param name="dataEnd">End of the previous chunk: chunks are laid out in order and never overlap, so
    /// the bytes a step declares are bounded by its data file (255:1 at most, LZ4's own limit; 510:1 for packed planes).</param>
    /// <param name="planesRequired">The manifest lists the feature of the <c>planes</c> filter in <c>requires</c>.</param>
    private static TensorLayout ParseTensor(JsonElement t, long dataLength, int index, ref long dataEnd, bool planesRequired)
    {
        var dtype = GetString(t, "dtype");
        var elementType = TypeCodes.TryResolveDType(dtype)
            ?? throw new InvalidDataException($"tensor {index} has unknown dtype '{Truncate(dtype)}'");
        var shapeElement = GetArray(t, "shape");
        if (shapeElement.GetArrayLength() > StepFormat.MaxRank)
        {
            throw new InvalidDataException($"tensor {index} has rank {shapeElement.GetArrayLength()}, above the limit of {StepFormat.MaxRank}");
        }

        var shape = new long[shapeElement.GetArrayLength()];
        long elements = 1;
        var k = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            var dim = d.ValueKind == JsonValueKind.Number && d.TryGetInt64(out var v) ? v : -1;
            // .NET refuses (with OutOfMemoryException) any dimension above Array.MaxLength, even of an empty array.
            if (dim < 0 || dim > Array.MaxLength)
            {
                throw new InvalidDataException($"tensor {index} has an invalid dimension {d.GetRawText()}");
            }

            shape[k++] = dim;
            if (elements != 0)
            {
                if (dim != 0 && elements > Array.MaxLength / dim)
                {
                    throw new InvalidDataException($"tensor {index} has more elements than an array can hold");
                }

                elements *= dim;
            }
        }

        var filter = GetString(t, "filter");
        if (filter is not ("none" or "shuffle" or PlanePacking.Filter))
        {
            throw new InvalidDataException($"tensor {index} has unknown filter '{Truncate(filter)}'");
        }

        // A step using the planes filter must say so (docs/format.md §4): without the feature listed, an older
        // engine would call the step corrupt instead of newer.
        if (filter == PlanePacking.Filter && !planesRequired)
        {
            throw new InvalidDataException($"tensor {index} uses the '{PlanePacking.Filter}' filter, but the manifest does not require '{PlanePacking.Feature}'");
        }

        // Packed planes hold at least half the chunk's bytes (each plane at least ⌈n/2⌉), so a chunk may hold up to
        // twice what its frame content can (docs/format.md §2.2).
        var contentFactor = filter == PlanePacking.Filter ? 2UL : 1UL;

        var chunks = new List<ChunkLayout>();
        long raw = 0;
        foreach (var c in GetArray(t, "chunks").EnumerateArray())
        {
            if (c.ValueKind != JsonValueKind.Array || c.GetArrayLength() != 4)
            {
                throw new InvalidDataException($"tensor {index} has a malformed chunk entry");
            }

            var offset = IsNumber(c[0]) && c[0].TryGetInt64(out var o) ? o : -1;
            var stored = IsNumber(c[1]) && c[1].TryGetInt32(out var s) ? s : -1;
            var rawLength = IsNumber(c[2]) && c[2].TryGetInt32(out var r) ? r : -1;
            if (!IsNumber(c[3]) || !c[3].TryGetUInt32(out var checksum))
            {
                throw new InvalidDataException($"tensor {index} has a chunk without a valid checksum");
            }

            if (offset < 0 || stored <= 0 || rawLength <= 0 || rawLength > Lz4Frame.BlockSize
                || stored > Lz4Frame.MaxFrameLength(rawLength) || offset > dataLength - stored)
            {
                throw new InvalidDataException($"tensor {index} has a chunk [{offset}, {stored}, {rawLength}] outside the data file or its limits");
            }

            if (stored <= Lz4Frame.MinFrameOverhead)
            {
                throw new InvalidDataException($"tensor {index} has a chunk of {stored} stored bytes, shorter than the smallest frame that holds data ({Lz4Frame.MinFrameOverhead + 1} bytes)");
            }

            if ((ulong)rawLength > contentFactor * Lz4Frame.MaxContentLength(stored))
            {
                throw new InvalidDataException($"tensor {index} has a chunk declaring {rawLength} raw bytes from {stored} stored bytes, beyond {(contentFactor == 1 ? "LZ4's 255:1 limit" : $"the {PlanePacking.Filter} filter's 510:1 limit")}");
            }

            if (offset < dataEnd)
            {
                throw new InvalidDataException($"tensor {index} has a chunk at offset {offset} that overlaps the chunk before it (which ends at {dataEnd})");
            }

            dataEnd = offset + stored;
            raw += rawLength;
            chunks.Add(new ChunkLayout(offset, stored, rawLength, checksum));
        }

        var expected = elements * TypeCodes.ElementSize(elementType);
        if (raw != expected)
        {
            throw new InvalidDataException($"tensor {index} declares shape [{string.Join(",", shape)}] of {dtype} ({expected} bytes) but its chunks hold {raw} bytes");
        }

        return new TensorLayout { DType = dtype, Shape = shape, Filter = filter, Chunks = chunks.ToArray() };
    }

    /// <summary>The first item that refers to tensor <paramref name="index"/>, or null; only used to word an error.</summary>
    private static string? NameOfTensor(JsonElement root, ReadOnlyMemory<byte> stateJson, int index, List<string> required)
    {
        if (required.Contains(StepFormat.ItemsFromState, StringComparer.Ordinal))
        {
            if (stateJson.IsEmpty)
            {
                return null;
            }

            using var state = JsonDocument.Parse(stateJson, new JsonDocumentOptions { MaxDepth = StateEncoder.MaxJsonDepth });
            return StateDecoder.NameOfTensor(state.RootElement, index);
        }

        if (!root.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var i in items.EnumerateArray())
        {
            if (i.ValueKind == JsonValueKind.Array && i.GetArrayLength() == 6 && i[0].ValueKind == JsonValueKind.String
                && IsNumber(i[5]) && i[5].TryGetInt32(out var t) && t == index)
            {
                return i[0].GetString();
            }
        }

        return null;
    }

    private static StoredItem ParseItem(JsonElement i, int tensorCount)
    {
        if (i.ValueKind != JsonValueKind.Array || i.GetArrayLength() != 6)
        {
            throw new InvalidDataException("manifest has a malformed item entry");
        }

        long[]? shape = null;
        if (i[3].ValueKind == JsonValueKind.Array)
        {
            shape = i[3].EnumerateArray().Select(d => !IsNumber(d)
                ? throw new InvalidDataException($"manifest has an item entry with a dimension that is not a number ({Truncate(d.GetRawText())})")
                : d.TryGetInt64(out var v) ? v : -1).ToArray();
        }

        var tensorIndex = IsNumber(i[5]) && i[5].TryGetInt32(out var ti) ? ti : -2;
        if (tensorIndex < -1 || tensorIndex >= tensorCount || i[0].ValueKind != JsonValueKind.String || i[1].ValueKind != JsonValueKind.String)
        {
            throw new InvalidDataException("manifest has an item entry that refers outside the tensor table");
        }

        return new StoredItem(i[0].GetString()!, i[1].GetString()!, i[2].ValueKind == JsonValueKind.String ? i[2].GetString() : null,
            shape, !IsNumber(i[4]) ? throw new InvalidDataException($"manifest has an item entry with a size that is not a number ({Truncate(i[4].GetRawText())})")
                : i[4].TryGetInt64(out var size) ? size : 0, tensorIndex);
    }

    private static string GetString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : throw new InvalidDataException($"manifest field '{name}' is missing or not a string");

    private static long GetLong(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt64(out var v) ? v : throw new InvalidDataException($"manifest field '{name}' is missing or not an integer");

    // TryGetInt32 and its kin throw InvalidOperationException on a string, bool or null: check the kind first.
    private static bool IsNumber(JsonElement e) => e.ValueKind == JsonValueKind.Number;

    private static JsonElement GetArray(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Array ? p : throw new InvalidDataException($"manifest field '{name}' is missing or not an array");

    private static string Truncate(string s) => s.Length <= 32 ? s : s[..32] + "…";
}
