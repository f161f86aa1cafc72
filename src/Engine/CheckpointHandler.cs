namespace DataraxCkpt;

/// <summary>
/// Saves, restores, lists and prunes checkpoint steps in checkpoint directories: the port of Datarax's
/// <c>OrbaxCheckpointHandler</c>. Thread-safe; several handlers and processes may use one directory.
/// </summary>
public sealed class CheckpointHandler : IDisposable
{
    /// <summary>Creates a handler with default options (synchronous saves).</summary>
    public CheckpointHandler() : this(new CheckpointOptions()) { }

    /// <summary>Creates a handler.</summary>
    public CheckpointHandler(CheckpointOptions options) => throw new NotImplementedException();

    /// <summary>Saves <paramref name="target"/> as a step. Step omitted: latest + 1 (0 when empty).</summary>
    public CheckpointInfo Save(string directory, object? target, long? step = null, int? keep = null, bool overwrite = false,
        IReadOnlyDictionary<string, object?>? metadata = null) => throw new NotImplementedException();

    /// <summary>Restores a step (latest when omitted).</summary>
    public object? Restore(string directory, long? step = null) => throw new NotImplementedException();

    /// <summary>Restores only the leaves whose names match one of <paramref name="itemPatterns"/> (wildcards * and ?).</summary>
    public object? Restore(string directory, long? step, IReadOnlyCollection<string> itemPatterns) => throw new NotImplementedException();

    /// <summary>Restores a step into <paramref name="target"/> through <see cref="ICheckpointable.SetState"/>.</summary>
    public T Restore<T>(string directory, T target, long? step = null) where T : ICheckpointable => throw new NotImplementedException();

    /// <summary>Reads only a step's metadata.</summary>
    public IReadOnlyDictionary<string, object?>? RestoreMetadata(string directory, long? step = null) => throw new NotImplementedException();

    /// <summary>Committed steps, ascending; empty for a missing directory.</summary>
    public IReadOnlyList<long> GetCheckpointSteps(string directory) => throw new NotImplementedException();

    /// <summary>Highest committed step, or null when there is none.</summary>
    public long? LatestStep(string directory) => throw new NotImplementedException();

    /// <summary>Every committed step with its record, ascending.</summary>
    public IReadOnlyList<CheckpointInfo> ListCheckpoints(string directory) => throw new NotImplementedException();

    /// <summary>One step's record.</summary>
    public CheckpointInfo GetCheckpoint(string directory, long step) => throw new NotImplementedException();

    /// <summary>The leaves of a step, from the index.</summary>
    public IReadOnlyList<CheckpointItemInfo> GetItems(string directory, long step) => throw new NotImplementedException();

    /// <summary>Removes the steps the policy does not keep; returns them. With <paramref name="dryRun"/>, removes nothing.</summary>
    public IReadOnlyList<CheckpointInfo> Prune(string directory, RetentionPolicy policy, bool dryRun = false) => throw new NotImplementedException();

    /// <summary>Removes one step. A pinned step is removed only with <paramref name="force"/>.</summary>
    public CheckpointInfo Remove(string directory, long step, bool force = false, bool dryRun = false) => throw new NotImplementedException();

    /// <summary>Pins or unpins a step.</summary>
    public CheckpointInfo SetPinned(string directory, long step, bool pinned) => throw new NotImplementedException();

    /// <summary>Verifies every checksum of a step.</summary>
    public StepVerification Verify(string directory, long step) => throw new NotImplementedException();

    /// <summary>Differences between the leaves of two steps.</summary>
    public IReadOnlyList<ItemDifference> Compare(string directory, long stepBefore, long stepAfter) => throw new NotImplementedException();

    /// <summary>Rebuilds the index from the step folders and sweeps leftovers.</summary>
    public RepairReport RepairIndex(string directory, bool dryRun = false) => throw new NotImplementedException();

    /// <summary>Blocks until every background save has finished; raises a background failure.</summary>
    public void WaitUntilFinished() => throw new NotImplementedException();

    /// <summary>Waits for pending saves and releases resources.</summary>
    public void Close() => throw new NotImplementedException();

    /// <inheritdoc />
    public void Dispose() => Close();
}
