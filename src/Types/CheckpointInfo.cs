namespace DataraxCkpt;

/// <summary>One committed checkpoint step, as recorded in the directory's index.</summary>
public sealed class CheckpointInfo
{
    // A listing builds one record per step: the folder path and the decoded metadata are worked out on
    // first read from the shared listing context, so a record costs one object until someone reads them.
    private readonly CheckpointListingContext? _context;
    private readonly string? _metadataJson;
    private readonly Func<IReadOnlyDictionary<string, object?>>? _metadataFactory;
    private IReadOnlyDictionary<string, object?>? _metadata;
    private string? _path;

    /// <summary>Creates a record.</summary>
    public CheckpointInfo(long step, string path, string directory, DateTimeOffset createdUtc, long size, long storedSize,
        int itemCount, IReadOnlyDictionary<string, object?> metadata, bool pinned)
        : this(step, directory, createdUtc, size, storedSize, itemCount, pinned)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        _path = path;
        _metadata = metadata;
    }

    /// <summary>Creates a record whose metadata is decoded when first read.</summary>
    internal CheckpointInfo(long step, string path, string directory, DateTimeOffset createdUtc, long size, long storedSize,
        int itemCount, Func<IReadOnlyDictionary<string, object?>> metadata, bool pinned)
        : this(step, directory, createdUtc, size, storedSize, itemCount, pinned)
    {
        _path = path;
        _metadataFactory = metadata;
    }

    /// <summary>Creates a listed record: its path and metadata come from <paramref name="context"/> when first read.</summary>
    internal CheckpointInfo(CheckpointListingContext context, long step, DateTimeOffset createdUtc, long size, long storedSize,
        int itemCount, string metadataJson, bool pinned)
        : this(step, context.Directory, createdUtc, size, storedSize, itemCount, pinned)
    {
        _context = context;
        _metadataJson = metadataJson;
    }

    private CheckpointInfo(long step, string directory, DateTimeOffset createdUtc, long size, long storedSize, int itemCount, bool pinned)
    {
        Step = step;
        Directory = directory;
        CreatedUtc = createdUtc;
        Size = size;
        StoredSize = storedSize;
        ItemCount = itemCount;
        Pinned = pinned;
    }

    /// <summary>Step number.</summary>
    public long Step { get; }

    /// <summary>Full path of the step's folder.</summary>
    public string Path => Volatile.Read(ref _path) ?? (_path = _context!.PathOf(Step));

    /// <summary>Full path of the checkpoint directory that holds the step.</summary>
    public string Directory { get; }

    /// <summary>When the step was committed (UTC).</summary>
    public DateTimeOffset CreatedUtc { get; }

    /// <summary>Bytes of state (uncompressed tensor bytes plus encoded scalars).</summary>
    public long Size { get; }

    /// <summary>Bytes the step occupies on disk.</summary>
    public long StoredSize { get; }

    /// <summary>Number of leaves in the state.</summary>
    public int ItemCount { get; }

    /// <summary>User metadata saved with the step (empty when none was given).</summary>
    /// <exception cref="CorruptCheckpointException">The metadata recorded in the index cannot be decoded.</exception>
    public IReadOnlyDictionary<string, object?> Metadata
    {
        get
        {
            if (Volatile.Read(ref _metadata) is { } decoded)
            {
                return decoded;
            }

            // Decoding is pure: two threads racing here decode twice and both see the first published result.
            // A decode that fails publishes nothing, so every read reports the damage again.
            var fresh = _metadataFactory is not null ? _metadataFactory() : _context!.DecodeMetadata(Step, _metadataJson!);
            return Interlocked.CompareExchange(ref _metadata, fresh, null) ?? fresh;
        }
    }

    /// <summary>True when the step is pinned and survives every retention rule.</summary>
    public bool Pinned { get; }

    /// <inheritdoc />
    public override string ToString() => $"Step {Step} ({Directory})";
}
