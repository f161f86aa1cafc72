namespace DataraxCkpt;

/// <summary>Settings of a <see cref="CheckpointHandler"/>.</summary>
public sealed class CheckpointOptions
{
    /// <summary>
    /// When true, <see cref="CheckpointHandler.Save"/> returns once the state has been copied and the
    /// write, commit and retention run in the background, one save at a time, in order.
    /// </summary>
    public bool Async { get; init; }

    /// <summary>
    /// Asynchronous saves only: how many saves may be pending (queued or being written) at once. Each holds
    /// a copy of its state, so this bounds the memory async saving takes; a <see cref="CheckpointHandler.Save"/>
    /// beyond it waits until a pending save finishes. At least 1; default 2 (one being written, one queued).
    /// </summary>
    public int MaxPendingSaves { get; init; } = 2;

    /// <summary>
    /// Asynchronous saves only: how many bytes of state the pending saves may hold together, or null for no
    /// byte limit (the default; <see cref="MaxPendingSaves"/> still applies). A save that would go beyond it
    /// waits; a save larger than the limit on its own goes once nothing else is pending. At least 1.
    /// </summary>
    public long? MaxPendingBytes { get; init; }

    /// <summary>Receives one line per notable action (staging, publishing, removing); for -Verbose.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Receives progress of long saves and restores, on the calling thread.</summary>
    public IProgress<CheckpointProgress>? Progress { get; init; }

    /// <summary>How long to wait for another process's lock on the directory before failing.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Test seam: makes the engine's opens fail as in a directory that may only be read.</summary>
    internal Storage.SimulatedDenial SimulatedDenial { get; init; }
}

/// <summary>Progress of a save or restore in bytes of state.</summary>
/// <param name="Operation">"Save" or "Restore".</param>
/// <param name="Directory">The checkpoint directory.</param>
/// <param name="Step">The step being written or read.</param>
/// <param name="BytesDone">State bytes processed so far.</param>
/// <param name="BytesTotal">State bytes in all.</param>
public sealed record CheckpointProgress(string Operation, string Directory, long Step, long BytesDone, long BytesTotal);
