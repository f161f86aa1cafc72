namespace DataraxCkpt;

/// <summary>Settings of a <c>CheckpointHandler</c>.</summary>
public sealed class CheckpointOptions
{
    /// <summary>
    /// When true, <c>CheckpointHandler.Save</c> returns once the state has been copied and the
    /// write, commit and retention run in the background, one save at a time, in order.
    /// </summary>
    public bool Async { get; init; }

    /// <summary>Receives one line per notable action (staging, publishing, removing); for -Verbose.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Receives progress of long saves and restores, on the calling thread.</summary>
    public IProgress<CheckpointProgress>? Progress { get; init; }

    /// <summary>How long to wait for another process's lock on the directory before failing.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>Progress of a save or restore in bytes of state.</summary>
/// <param name="Operation">"Save" or "Restore".</param>
/// <param name="Directory">The checkpoint directory.</param>
/// <param name="Step">The step being written or read.</param>
/// <param name="BytesDone">State bytes processed so far.</param>
/// <param name="BytesTotal">State bytes in all.</param>
public sealed record CheckpointProgress(string Operation, string Directory, long Step, long BytesDone, long BytesTotal);
