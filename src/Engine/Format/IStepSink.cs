namespace DataraxCkpt.Format;

/// <summary>
/// Where the writer puts a step's two files (data and manifest) before they are committed: a local staging
/// folder, or blobs named for one save. The writer's one way to store bytes.
/// </summary>
internal interface IStepSink
{
    /// <summary>Creates a new file of the step for writing.</summary>
    Stream CreateFile(string name, int bufferSize);

    /// <summary>Makes everything written to <paramref name="file"/> durable (fsync; a blob's block list committed).</summary>
    void Seal(Stream file);

    /// <summary>Makes the files' names durable (a folder fsync; nothing for blobs).</summary>
    void SyncFolder();
}
