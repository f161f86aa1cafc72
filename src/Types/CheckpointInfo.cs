namespace DataraxCkpt;

/// <summary>One committed checkpoint step, as recorded in the directory's index.</summary>
public sealed class CheckpointInfo
{
    private readonly Lazy<IReadOnlyDictionary<string, object?>> _metadata;

    /// <summary>Creates a record.</summary>
    public CheckpointInfo(long step, string path, string directory, DateTimeOffset createdUtc, long size, long storedSize,
        int itemCount, IReadOnlyDictionary<string, object?> metadata, bool pinned)
        : this(step, path, directory, createdUtc, size, storedSize, itemCount, () => metadata, pinned)
    {
        ArgumentNullException.ThrowIfNull(metadata);
    }

    /// <summary>Creates a record whose metadata is decoded when first read.</summary>
    internal CheckpointInfo(long step, string path, string directory, DateTimeOffset createdUtc, long size, long storedSize,
        int itemCount, Func<IReadOnlyDictionary<string, object?>> metadata, bool pinned)
    {
        Step = step;
        Path = path;
        Directory = directory;
        CreatedUtc = createdUtc;
        Size = size;
        StoredSize = storedSize;
        ItemCount = itemCount;
        _metadata = new Lazy<IReadOnlyDictionary<string, object?>>(metadata);
        Pinned = pinned;
    }

    /// <summary>Step number.</summary>
    public long Step { get; }

    /// <summary>Full path of the step's folder.</summary>
    public string Path { get; }

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
    public IReadOnlyDictionary<string, object?> Metadata => _metadata.Value;

    /// <summary>True when the step is pinned and survives every retention rule.</summary>
    public bool Pinned { get; }

    /// <inheritdoc />
    public override string ToString() => $"Step {Step} ({Directory})";
}
