namespace DataraxCkpt;

/// <summary>
/// Saves and restores the state of a checkpointable iterator or pipeline in one checkpoint directory,
/// addressed by step: the port of Datarax's <c>IteratorCheckpoint</c> (with its
/// <c>PipelineCheckpoint.save_to_step</c> as <see cref="SaveIfDue"/>).
/// </summary>
/// <remarks>
/// Unlike Datarax, whose <c>save_to_directory</c> defaults to <c>keep=1</c>, omitting
/// <c>keep</c> here keeps every step, as everywhere else in the engine (contract §7).
/// </remarks>
public sealed class IteratorCheckpoint : IDisposable
{
    private readonly bool _ownsHandler;

    /// <summary>Creates a checkpoint helper over <paramref name="directory"/>.</summary>
    /// <param name="directory">The checkpoint directory.</param>
    /// <param name="handler">The handler to use; when null, one is created (synchronous saves) and
    /// disposed with this object. A handler passed in is not disposed.</param>
    public IteratorCheckpoint(string directory, CheckpointHandler? handler = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = directory;
        _ownsHandler = handler is null;
        Handler = handler ?? new CheckpointHandler();
    }

    /// <summary>The checkpoint directory.</summary>
    public string Directory { get; }

    /// <summary>The handler that reads and writes the directory.</summary>
    public CheckpointHandler Handler { get; }

    /// <summary>Saves the iterator's state (<see cref="ICheckpointable.GetState"/>) as a step.</summary>
    /// <param name="iterator">The iterator or pipeline.</param>
    /// <param name="step">The step; omitted, latest + 1 (0 in an empty directory).</param>
    /// <param name="keep">Keep only this many highest steps after saving; null keeps all.</param>
    /// <param name="overwrite">Replace the step if it exists.</param>
    /// <param name="metadata">User metadata stored with the step.</param>
    /// <returns>The record of the committed step.</returns>
    public CheckpointInfo Save(ICheckpointable iterator, long? step = null, int? keep = null, bool overwrite = false,
        IReadOnlyDictionary<string, object?>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(iterator);
        var state = iterator.GetState()
            ?? throw new InvalidOperationException($"{iterator.GetType().Name}.GetState() returned null; it must return a state dictionary.");
        return Handler.Save(Directory, state, step, keep, overwrite, metadata);
    }

    /// <summary>
    /// Saves only when <paramref name="step"/> is a multiple of <paramref name="interval"/>
    /// (Datarax's <c>PipelineCheckpoint.save_to_step</c>); returns null when nothing was saved.
    /// </summary>
    public CheckpointInfo? SaveIfDue(ICheckpointable iterator, long step, long interval, int? keep = null, bool overwrite = false,
        IReadOnlyDictionary<string, object?>? metadata = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, 1);
        return step % interval == 0 ? Save(iterator, step, keep, overwrite, metadata) : null;
    }

    /// <summary>
    /// Restores a step (the latest when omitted) into <paramref name="iterator"/> through
    /// <see cref="ICheckpointable.SetState"/> and returns the same iterator.
    /// </summary>
    /// <exception cref="IncompatibleStateException">The step holds no state dictionary; or a field of the
    /// <c>fingerprint</c> both the saved and the live state hold differs (Datarax's
    /// <c>validate_restore_compatibility</c>); or the iterator itself rejects the state. The iterator is
    /// unchanged.</exception>
    public T Restore<T>(T iterator, long? step = null)
        where T : ICheckpointable
    {
        ArgumentNullException.ThrowIfNull(iterator);
        var restored = Handler.Restore(Directory, step);
        var state = StateValues.AsDictionary(restored)
            ?? throw new IncompatibleStateException("iterator", ["state"],
                $"the checkpoint holds {(restored is null ? "null" : "a " + restored.GetType().Name)}, not a state dictionary");
        // As Datarax does: compare the identity fields both states share before applying anything.
        RestoreCompatibility.Validate(iterator.GetState(), state, WhatOf(iterator));
        iterator.SetState(state);
        return iterator;
    }

    // "pipeline" for a Pipeline<T>, otherwise "iterator": the word the error message uses.
    private static string WhatOf(ICheckpointable target)
    {
        var type = target.GetType();
        return type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Pipeline<>) ? "pipeline" : "iterator";
    }

    /// <summary>Restores the latest step into <paramref name="iterator"/>.</summary>
    /// <exception cref="NoCheckpointsException">The directory holds no checkpoint.</exception>
    public T RestoreLatest<T>(T iterator)
        where T : ICheckpointable
    {
        var latest = LatestStep() ?? throw new NoCheckpointsException(Directory);
        return Restore(iterator, latest);
    }

    /// <summary>The highest committed step, or null when there is none.</summary>
    public long? LatestStep() => Handler.LatestStep(Directory);

    /// <summary>True when the directory holds at least one committed step.</summary>
    public bool HasCheckpoint() => LatestStep() is not null;

    /// <summary>Every committed step, ascending.</summary>
    public IReadOnlyList<CheckpointInfo> ListCheckpoints() => Handler.ListCheckpoints(Directory);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHandler)
        {
            Handler.Dispose();
        }
    }
}
