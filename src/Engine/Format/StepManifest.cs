using System.Text.Json;
using DataraxCkpt.Values;

namespace DataraxCkpt.Format;

/// <summary>Names and limits of the step format (docs/format.md). Changing any of them is a new version.</summary>
internal static class StepFormat
{
    public const string FormatName = "dataraxckpt-step";
    public const int Version = 1;

    /// <summary>
    /// Required features (the manifest's <c>requires</c> list) this engine implements. A writer lists a
    /// feature there only when the step uses it, so an additive change (a new dtype or filter) leaves
    /// every step that does not use it readable by older engines; a reader refuses a step that requires
    /// a feature it does not know (docs/format.md §4 lists them).
    /// </summary>
    public static readonly IReadOnlySet<string> KnownFeatures = new HashSet<string>(StringComparer.Ordinal) { ItemsFromState, ListTensors.Feature, PlanePacking.Feature };

    /// <summary>
    /// The manifest has no <c>items</c> array: its items are derived from the state node and the tensor
    /// table (docs/format.md §4). Every step this engine writes uses it; it halves the manifest of a
    /// state of many small leaves, which otherwise lists each leaf twice.
    /// </summary>
    public const string ItemsFromState = "items-from-state";
    public const string ManifestFile = "manifest.json.lz4";
    public const string DataFile = "tensors.lz4";
    public const string PinnedMarker = "PINNED";
    public const int MaxRank = 32;

    /// <summary>Largest manifest accepted when reading (raw JSON bytes).</summary>
    public const long MaxManifestBytes = 1L << 30;
}

/// <summary>Where one chunk of a tensor lives in the data file.</summary>
/// <param name="Offset">Byte offset of the chunk's LZ4 frame in the data file.</param>
/// <param name="StoredLength">Length of the frame.</param>
/// <param name="RawLength">Bytes the frame decodes to.</param>
/// <param name="Checksum">The frame's content checksum (xxh32 of the bytes it holds), which ties the data file to its manifest.</param>
internal readonly record struct ChunkLayout(long Offset, int StoredLength, int RawLength, uint Checksum);

/// <summary>One tensor of the manifest's tensor table.</summary>
internal sealed class TensorLayout
{
    public required string DType { get; init; }

    public required long[] Shape { get; init; }

    /// <summary>Filter applied to each chunk before compression: <c>none</c>, <c>shuffle</c> or <c>planes</c>.</summary>
    public required string Filter { get; init; }

    public required ChunkLayout[] Chunks { get; init; }

    public long RawLength => Chunks.Sum(c => (long)c.RawLength);

    public long StoredLength => Chunks.Sum(c => (long)c.StoredLength);
}

/// <summary>A parsed, validated step manifest.</summary>
internal sealed class StepManifest : IDisposable
{
    public required long Step { get; init; }

    public required string SaveId { get; init; }

    public required DateTimeOffset CreatedUtc { get; init; }

    public required long Size { get; init; }

    public required long DataLength { get; init; }

    public required IReadOnlyList<TensorLayout> Tensors { get; init; }

    private IReadOnlyList<StoredItem>? _items;

    /// <summary>
    /// The step's leaves in walk order. A step of the <c>items-from-state</c> feature derives them from
    /// the state node on first use, so a whole-state restore, which never needs them, does not pay for them.
    /// </summary>
    /// <exception cref="InvalidDataException">The state node is malformed (only when items are derived).</exception>
    public IReadOnlyList<StoredItem> Items
    {
        get => _items ??= ItemsFromState ? StateDecoder.DeriveItems(State, Tensors) : [];
        init => _items = value;
    }

    /// <summary>
    /// Fails exactly as reading <see cref="Items"/> would, without making the items when they are not made yet: for a
    /// repair, which needs a folder's items only when it indexes the folder (and then reads <see cref="Items"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">The state node is malformed (only when items are derived).</exception>
    public void CheckItems()
    {
        if (_items is null && ItemsFromState)
        {
            StateDecoder.CheckItems(State, Tensors);
        }
    }

    /// <summary>The manifest lists no items: <see cref="Items"/> are derived from the state node.</summary>
    public bool ItemsFromState { get; init; }

    /// <summary>
    /// The manifest's JSON apart from the state node (which stands there as <c>null</c>); <see cref="Metadata"/>
    /// points into it.
    /// </summary>
    public required JsonDocument Document { get; init; }

    /// <summary>
    /// The state node's JSON, within the manifest's bytes. Parsing the manifest found its end by its brackets
    /// only (<see cref="ManifestCodec.StateExtent(System.ReadOnlySpan{byte}, int)"/>): whoever reads it checks its JSON as it reads, as the
    /// decoder's reader and <see cref="State"/> do. A whole-state restore decodes it from here in one pass
    /// (<see cref="StateDecoder.Decode(ReadOnlyMemory{byte})"/>).
    /// </summary>
    public required ReadOnlyMemory<byte> StateJson { get; init; }

    private JsonDocument? _state;

    /// <summary>
    /// The state node as a parsed document, built on first use: only the walks that look nodes up by structure
    /// (items, selection, restore into a state, comparison) need it, not a whole-state restore.
    /// </summary>
    /// <exception cref="InvalidDataException">The state node is not valid JSON.</exception>
    public JsonElement State
    {
        get
        {
            if (StateJson.IsEmpty)
            {
                return default;
            }

            var state = LazyInitializer.EnsureInitialized(ref _state, ParseState);
            return state.RootElement;
        }
    }

    private JsonDocument ParseState()
    {
        try
        {
            return JsonDocument.Parse(StateJson, new JsonDocumentOptions { MaxDepth = StateEncoder.MaxJsonDepth });
        }
        catch (JsonException e)
        {
            // The open found the node's end only; its JSON is checked here, where it is first read.
            throw StateNodeErrors.NotJson(e);
        }
    }

    public required JsonElement Metadata { get; init; }

    /// <summary>
    /// Set when the step was written by a newer format version or requires unknown features: then only
    /// the header (step, save id, creation time, size, metadata) was read, enough to list the step and
    /// keep it, and <see cref="Tensors"/> and <see cref="Items"/> are empty.
    /// </summary>
    public NewerFormatException? NewerFormat { get; init; }

    /// <summary>The metadata node as raw JSON, as the index stores it.</summary>
    public string MetadataJson => Metadata.GetRawText();

    /// <summary>The pooled buffer the JSON was decoded into (<see cref="StateJson"/> lies in it), returned to the pool on <see cref="Dispose"/>.</summary>
    private byte[]? _pooledJson;

    /// <summary>
    /// Hands this manifest the pooled buffer its JSON was decoded into (<see cref="StateJson"/> and the lazily
    /// parsed <see cref="State"/> lie in it), to return once the manifest is disposed: its owner (the step
    /// reader) decodes nothing after that. A manifest of a few MiB (100,000 scalar leaves) then costs no large
    /// array per restore.
    /// </summary>
    public void ReturnOnDispose(byte[] pooledJson) => _pooledJson = pooledJson;

    public void Dispose()
    {
        Document.Dispose();
        Interlocked.Exchange(ref _state, null)?.Dispose();
        // Exchanged, so a second Dispose cannot return the buffer twice.
        if (Interlocked.Exchange(ref _pooledJson, null) is { } json)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(json);
        }
    }
}

/// <summary>
/// A manifest of a newer format version, or requiring features this engine does not know. Not a sign
/// of corruption: callers keep and list such a step, and refuse only to restore it.
/// </summary>
internal sealed class NewerFormatException : Exception
{
    public NewerFormatException(long version, IReadOnlyList<string> unknownFeatures)
        : base($"the step was written by format version {version}"
            + (unknownFeatures.Count == 0 ? string.Empty : $" and requires features this engine does not know ({UnsupportedFormatVersionException.FeatureText(unknownFeatures)})")
            + $"; this engine reads format version {StepFormat.Version}")
    {
        Version = version;
        UnknownFeatures = unknownFeatures;
    }

    public long Version { get; }

    public IReadOnlyList<string> UnknownFeatures { get; }
}
