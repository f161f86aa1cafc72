namespace DataraxCkpt;

/// <summary>
/// What every record of one directory's listing shares: the directory, how a step's folder path is
/// formed and how its metadata is decoded. Held once per store, so listed records carry only their own values.
/// </summary>
internal sealed class CheckpointListingContext
{
    private readonly Func<long, string> _pathOf;
    private readonly Func<long, string, IReadOnlyDictionary<string, object?>> _decodeMetadata;

    public CheckpointListingContext(string directory, Func<long, string> pathOf, Func<long, string, IReadOnlyDictionary<string, object?>> decodeMetadata)
    {
        Directory = directory;
        _pathOf = pathOf;
        _decodeMetadata = decodeMetadata;
    }

    public string Directory { get; }

    public string PathOf(long step) => _pathOf(step);

    /// <summary>Decodes a step's metadata text; throws <see cref="CorruptCheckpointException"/> when it is damaged.</summary>
    public IReadOnlyDictionary<string, object?> DecodeMetadata(long step, string metadataJson) => _decodeMetadata(step, metadataJson);
}
