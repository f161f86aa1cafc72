using System.Collections.Specialized;
using DataraxCkpt.Format;
using DataraxCkpt.Values;

namespace DataraxCkpt.Storage;

/// <summary>A step number a save holds while it writes: what the handler keeps between reserving and completing.</summary>
internal interface IStepReservation : IDisposable
{
    long Step { get; }

    /// <summary>
    /// Waits until the number is durably taken and raises the failure if it was not: a local save commits its
    /// intent beside its first writes, and the commit joins it itself; a store that takes the number at once returns.
    /// </summary>
    void AwaitReserved()
    {
    }
}

/// <summary>
/// Every operation the handler performs on one checkpoint location, wherever its bytes live: a local
/// directory (<see cref="CheckpointStore"/>) or an object store (<see cref="Blob.BlobCheckpointStore"/>).
/// An S3 backend is a third implementation; the handler and the cmdlets do not change.
/// </summary>
internal interface ICheckpointStore
{
    /// <summary>The location as users name it (a full path, or a remote location without credentials).</summary>
    string Directory { get; }

    IStepReservation Reserve(long? step, bool overwrite);

    CheckpointInfo Expected(IStepReservation reservation, EncodedState state);

    CheckpointInfo Complete(IStepReservation reservation, EncodedState state, int? keep, Action<long>? onBytesWritten,
        bool pin = false, DateTimeOffset? createdUtc = null, CancellationToken cancellationToken = default);

    void Abandon(IStepReservation reservation);

    object? Restore(long? step, IReadOnlyCollection<string>? patterns, Action<long>? onBytesRead, Action<long, long>? onStart,
        CancellationToken cancellationToken = default);

    /// <summary>Restores a step into <paramref name="template"/>'s own arrays and containers (every tensor checked first).</summary>
    void RestoreInto(long? step, object template, Action<long>? onBytesRead, Action<long, long>? onStart, CancellationToken cancellationToken);

    /// <summary>
    /// Reads one step whole for a copy: its record, its metadata as stored (not through
    /// <see cref="CheckpointOptions.MetadataView"/>, so the copy encodes what the source holds) and its state.
    /// </summary>
    (CheckpointInfo Info, IReadOnlyDictionary<string, object?> Metadata, object? State) ReadForCopy(long step, Action<long>? onBytesRead,
        Action<long, long>? onStart, CancellationToken cancellationToken);

    IReadOnlyDictionary<string, object?> RestoreMetadata(long? step);

    /// <summary>Runs <paramref name="read"/> over an open reader of a committed step (statistics, numeric diffs).</summary>
    T ReadStep<T>(long step, Func<StepReader, T> read, CancellationToken cancellationToken);

    List<long> Steps();

    long? Latest();

    /// <summary>Records of the committed steps in ascending order; with <paramref name="first"/> or
    /// <paramref name="last"/>, only that many of the lowest or highest steps.</summary>
    List<CheckpointInfo> List(int? first = null, int? last = null);

    CheckpointInfo Get(long step);

    List<CheckpointItemInfo> Items(long step);

    List<CheckpointInfo> Prune(RetentionPolicy policy, bool dryRun, CancellationToken cancellationToken = default);

    bool IsCheckpointDirectory();

    List<long> PeekSteps();

    CheckpointInfo Remove(long step, bool force, bool dryRun);

    /// <summary>
    /// Removes the step a retention plan named, only if it is still that version (same commit time and
    /// sizes), unpinned, and not the newest committed step; null when it stays.
    /// </summary>
    CheckpointInfo? RemoveIfUnchanged(CheckpointInfo planned);

    CheckpointInfo SetPinned(long step, bool pinned);

    StepVerification Verify(long step, CancellationToken cancellationToken = default);

    (ComparedStep Before, ComparedStep After) ReadForCompare(long before, long after);

    /// <summary>
    /// Rebuilds the index from the steps and sweeps leftovers; <paramref name="force"/> sets aside, unread, an index the
    /// disk fails to read and rebuilds it, where a repair otherwise refuses (a store that keeps no such file ignores it).
    /// </summary>
    RepairReport Repair(bool dryRun, bool force, CancellationToken cancellationToken = default);

    /// <summary>Raises <see cref="CheckpointDirectoryNotFoundException"/> when the location does not exist.</summary>
    void ThrowIfMissing();
}
