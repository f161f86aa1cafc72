namespace DataraxCkpt;

/// <summary>Settings of a <c>CheckpointHandler</c>.</summary>
public sealed class CheckpointOptions
{
    /// <summary>
    /// When true, <c>CheckpointHandler.Save</c> returns once the state has been copied and the
    /// write, commit and retention run in the background, one save at a time, in order.
    /// </summary>
    public bool Async { get; init; }

    /// <summary>
    /// Asynchronous saves only: how many saves may be pending (queued or being written) at once. Each holds
    /// a copy of its state, so this bounds the memory async saving takes; a <c>CheckpointHandler.Save</c>
    /// beyond it waits until a pending save finishes. At least 1; default 2 (one being written, one queued).
    /// </summary>
    public int MaxPendingSaves { get; init; } = 2;

    /// <summary>
    /// Asynchronous saves only: how many bytes of state the pending saves may hold together, or null for no
    /// byte limit (the default; <see cref="MaxPendingSaves"/> still applies). A save that would go beyond it
    /// waits; a save larger than the limit on its own goes once nothing else is pending. At least 1.
    /// </summary>
    public long? MaxPendingBytes { get; init; }

    /// <summary>
    /// Receives one line per notable action (staging, publishing, removing); for -Verbose. Never called under the
    /// directory lock: lines raised while it is held are delivered once it is released. When the callback throws while
    /// an operation is failing (a reservation refused with <see cref="StepExistsException"/>, a save being abandoned),
    /// the operation's own error is raised and the callback's is dropped.
    /// </summary>
    public Action<string>? Log { get; init; }

    /// <summary>Receives progress of long saves and restores, on the calling thread.</summary>
    public IProgress<CheckpointProgress>? Progress { get; init; }

    /// <summary>How long to wait for another process's lock on the directory before failing.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Allows checkpoint directories on network file systems (NFS, SMB/CIFS), which are refused by default
    /// with <see cref="UnsupportedFileSystemException"/>: the directory lock does not exclude other hosts
    /// there and SQLite's write-ahead log is not supported on them (docs/guarantees.md). Set it only when a
    /// single process on a single host uses the directory at a time. Defaults to true when the environment
    /// variable <c>DATARAXCKPT_ALLOW_NETWORK_FS</c> is <c>1</c> (so module users can opt in). The same one-writer
    /// promise lets a process whose runtime file locking is off (<see cref="FileLockingDisabledException"/>) write.
    /// </summary>
    public bool AllowNetworkFileSystem { get; init; } = Environment.GetEnvironmentVariable("DATARAXCKPT_ALLOW_NETWORK_FS") == "1";

    /// <summary>
    /// How a step's metadata is shown once decoded (records' <see cref="CheckpointInfo.Metadata"/> and
    /// <c>RestoreMetadata</c>): the module converts the engine's values into PowerShell's (a saved PSCustomObject
    /// reads as one, not as the engine's <c>StateObject</c>), as it does a restored state; null leaves them as decoded.
    /// </summary>
    internal Func<IReadOnlyDictionary<string, object?>, IReadOnlyDictionary<string, object?>>? MetadataView { get; init; }

    /// <summary>Test seam: whether the runtime's file locking is off, instead of the switch and variable the runtime reads.</summary>
    internal bool? SimulatedFileLockingDisabled { get; init; }

    /// <summary>Test seam: the file-system type (Linux statfs magic) to report instead of the real one.</summary>
    internal long? SimulatedFileSystemType { get; init; }

    /// <summary>Test seam: makes the engine's opens fail as in a directory that may only be read.</summary>
    internal Storage.SimulatedDenial SimulatedDenial { get; init; }

    /// <summary>
    /// Test seam: how long a connection of a local store's index waits out another connection's lock before it gives up
    /// (SQLITE_BUSY); 60 s otherwise, which no test can wait for.
    /// </summary>
    internal TimeSpan IndexBusyTimeout { get; init; } = DefaultIndexBusyTimeout;

    /// <summary>How long an index connection waits out another's lock unless a test set <see cref="IndexBusyTimeout"/>.</summary>
    internal static readonly TimeSpan DefaultIndexBusyTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Test seam: the largest item list a local save may need in the index (SQLite's largest value, its default SQLITE_MAX_LENGTH).</summary>
    internal long MaxItemListBytes { get; init; } = 1_000_000_000;
}

/// <summary>Progress of a save or restore in bytes of state.</summary>
/// <param name="Operation">"Save" or "Restore".</param>
/// <param name="Directory">The checkpoint directory.</param>
/// <param name="Step">The step being written or read.</param>
/// <param name="BytesDone">State bytes processed so far.</param>
/// <param name="BytesTotal">State bytes in all.</param>
public sealed record CheckpointProgress(string Operation, string Directory, long Step, long BytesDone, long BytesTotal);
