namespace DataraxCkpt;

/// <summary>One committed checkpoint step, as recorded in the directory's index.</summary>
public sealed class CheckpointInfo
{
    // A listing builds one record per step: the folder path and the decoded metadata are worked out on
    // first read from the shared listing context, so a record costs one small object until someone reads
    // them. To keep it small (100,000 of them in a listing), the directory comes from the context and one
    // field holds the metadata in whichever form it has: the raw text of a listed row, a decoder, or the
    // decoded dictionary once read. The creation time is kept as its clock ticks and offset.
    private readonly object _origin; // the directory (a string) or the listing context
    private object _metadata; // IReadOnlyDictionary once decoded; before that a string (listed) or a decoder (Func)
    private string? _path;
    private readonly long _createdTicks;
    private readonly short _createdOffsetMinutes;

    /// <summary>Creates a record.</summary>
    public CheckpointInfo(long step, string path, string directory, DateTimeOffset createdUtc, long size, long storedSize,
        int itemCount, IReadOnlyDictionary<string, object?> metadata, bool pinned)
        : this(step, directory, createdUtc.Ticks, (short)createdUtc.Offset.TotalMinutes, size, storedSize, itemCount, metadata, pinned)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        _path = path;
    }

    /// <summary>Creates a record whose metadata is decoded when first read.</summary>
    internal CheckpointInfo(long step, string path, string directory, DateTimeOffset createdUtc, long size, long storedSize,
        int itemCount, Func<IReadOnlyDictionary<string, object?>> metadata, bool pinned)
        : this(step, directory, createdUtc.Ticks, (short)createdUtc.Offset.TotalMinutes, size, storedSize, itemCount, metadata, pinned)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        _path = path;
    }

    /// <summary>Creates a listed record, committed at <paramref name="createdUtcTicks"/> (UTC): its path and metadata come from <paramref name="context"/> when first read.</summary>
    internal CheckpointInfo(CheckpointListingContext context, long step, long createdUtcTicks, long size, long storedSize,
        int itemCount, string metadataJson, bool pinned)
        : this(step, context, createdUtcTicks, 0, size, storedSize, itemCount, metadataJson, pinned)
    {
    }

    private CheckpointInfo(long step, object origin, long createdTicks, short createdOffsetMinutes, long size, long storedSize, int itemCount,
        object metadata, bool pinned)
    {
        Step = step;
        _origin = origin;
        _createdTicks = createdTicks;
        _createdOffsetMinutes = createdOffsetMinutes;
        Size = size;
        StoredSize = storedSize;
        ItemCount = itemCount;
        _metadata = metadata;
        Pinned = pinned;
    }

    /// <summary>Step number.</summary>
    public long Step { get; }

    /// <summary>Full path of the step's folder.</summary>
    public string Path => Volatile.Read(ref _path) ?? (_path = ((CheckpointListingContext)_origin).PathOf(Step));

    /// <summary>Full path of the checkpoint directory that holds the step.</summary>
    public string Directory => _origin as string ?? ((CheckpointListingContext)_origin).Directory;

    /// <summary>When the step was committed (UTC).</summary>
    public DateTimeOffset CreatedUtc => new(_createdTicks, TimeSpan.FromMinutes(_createdOffsetMinutes));

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
            var held = Volatile.Read(ref _metadata);
            if (held is IReadOnlyDictionary<string, object?> decoded)
            {
                return decoded;
            }

            // Decoding is pure: two threads racing here decode twice and both see the first published result.
            // A decode that fails publishes nothing, so every read reports the damage again.
            var fresh = held is Func<IReadOnlyDictionary<string, object?>> decode ? decode()
                : ((CheckpointListingContext)_origin).DecodeMetadata(Step, (string)held);
            var published = Interlocked.CompareExchange(ref _metadata, fresh, held);
            return ReferenceEquals(published, held) ? fresh : (IReadOnlyDictionary<string, object?>)published;
        }
    }

    /// <summary>True when the step is pinned and survives every retention rule.</summary>
    public bool Pinned { get; }

    /// <inheritdoc />
    public override string ToString() => $"Step {Step} ({Directory})";
}
