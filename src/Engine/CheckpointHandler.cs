using System.Collections;
using System.Collections.Specialized;
using DataraxCkpt.Storage;
using DataraxCkpt.Values;

namespace DataraxCkpt;

/// <summary>
/// Saves, restores, lists and prunes checkpoint steps in checkpoint directories: the port of Datarax's
/// <c>OrbaxCheckpointHandler</c>. Thread-safe; several handlers and processes may use one directory
/// at once (docs/guarantees.md).
/// </summary>
/// <example>
/// <code>
/// using var handler = new CheckpointHandler();
/// handler.Save("./checkpoints", new Dictionary&lt;string, object?&gt; { ["w"] = new float[10, 10], ["position"] = 42 }, step: 100, keep: 5);
/// var state = (IDictionary&lt;string, object?&gt;)handler.Restore("./checkpoints")!;
/// </code>
/// </example>
public sealed class CheckpointHandler : IDisposable
{
    /// <summary>
    /// How many levels containers may nest in a saved state (the root is level 0): a deeper state is refused with an
    /// <see cref="UnsupportedValueException"/> ("containers nest deeper than ... levels") and nothing is written.
    /// </summary>
    public const int MaxStateDepth = StateEncoder.MaxDepth;

    private readonly CheckpointOptions _options;
    private readonly bool _portableRename;
    private readonly object _gate = new();
    private readonly List<Exception> _backgroundFailures = new();

    /// <summary>Set while this flow runs a background save: a Log callback there that calls the handler must not wait for itself.</summary>
    private readonly AsyncLocal<bool> _inBackgroundSave = new();
    private Task _tail = Task.CompletedTask;
    private int _pendingSaves;
    private long _pendingBytes;
    private bool _closed;

    /// <summary>Creates a handler with default options (synchronous saves).</summary>
    public CheckpointHandler() : this(new CheckpointOptions()) { }

    /// <summary>
    /// Creates a handler. With the environment variable <c>DATARAXCKPT_PORTABLE_RENAME=1</c> set at this
    /// moment, overwrites use the two-rename path of Windows and NFS even where Linux can exchange atomically.
    /// </summary>
    public CheckpointHandler(CheckpointOptions options)
        : this(options, Environment.GetEnvironmentVariable(Storage.StepFolders.PortableRenameVariable) == "1")
    {
    }

    /// <summary>Creates a handler that uses (or not) the two-rename overwrite, whatever the environment says (tests).</summary>
    internal CheckpointHandler(CheckpointOptions options, bool portableRename)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxPendingSaves, 1, nameof(options));
        if (options.MaxPendingBytes is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxPendingBytes, "MaxPendingBytes must be at least 1, or null for no byte limit.");
        }

        Values.HostByteOrder.EnsureLittleEndian(BitConverter.IsLittleEndian);
        _options = options;
        _portableRename = portableRename;
    }

    /// <summary>Asynchronous saves queued or being written (for tests).</summary>
    internal int PendingSaves
    {
        get
        {
            lock (_gate)
            {
                return _pendingSaves;
            }
        }
    }

    /// <summary>
    /// Saves <paramref name="target"/> as a step and returns its record. The step becomes visible only
    /// once all of it is durable. Step omitted: latest + 1 (0 for an empty directory).
    /// </summary>
    /// <param name="directory">Checkpoint directory; created when missing.</param>
    /// <param name="target">The state: a dictionary, list, <see cref="StateObject"/>, supported leaf, or an <see cref="ICheckpointable"/>.</param>
    /// <param name="step">Step number (≥ 0), or null for latest + 1.</param>
    /// <param name="keep">After saving, keep only this many highest steps (pinned steps and this one always stay).</param>
    /// <param name="overwrite">Replace the step atomically when it exists.</param>
    /// <param name="metadata">User metadata stored with the step (never mixed with the state's keys).</param>
    /// <exception cref="UnsupportedValueException">A value cannot be stored; nothing was written.</exception>
    /// <param name="cancellationToken">Stops the save between chunks; the store is left as a failed save leaves it (nothing listed, the staging folder removed).</param>
    /// <exception cref="StepExistsException">The step exists and <paramref name="overwrite"/> is false.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the step was published.</exception>
    public CheckpointInfo Save(string directory, object? target, long? step = null, int? keep = null, bool overwrite = false,
        IReadOnlyDictionary<string, object?>? metadata = null, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        RaiseBackgroundFailure(includeRetention: false);
        // Before anything is reserved: an async save would otherwise return as if queued.
        cancellationToken.ThrowIfCancellationRequested();
        if (keep is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(keep), keep, "keep must be zero or more.");
        }

        var state = StateEncoder.Encode(target is ICheckpointable c ? c.GetState() : target, metadata);
        var store = Store(directory);
        if (!_options.Async)
        {
            try
            {
                using var reservation = store.Reserve(step, overwrite);
                return store.Complete(reservation, state, keep, ProgressReporter("Save", store.Directory, reservation.Step, state.Size), cancellationToken: cancellationToken);
            }
            finally
            {
                // The state node's pooled buffer goes back for the next save.
                state.Release();
            }
        }

        // Asynchronous: wait for room in the queue, copy what the caller may still change, take the step
        // number now, write later.
        var size = state.Size;
        TakeQueueSlot(size);
        IStepReservation reserved;
        try
        {
            foreach (var tensor in state.Tensors)
            {
                tensor.Detach();
            }

            reserved = store.Reserve(step, overwrite);
        }
        catch
        {
            ReleaseQueueSlot(size);
            throw;
        }

        try
        {
            // The call returns a queued save: a number that could not be taken (the intent's commit failed)
            // is this call's failure, not a background one raised later.
            reserved.AwaitReserved();
        }
        catch
        {
            ReleaseQueueSlot(size);
            store.Abandon(reserved);
            reserved.Dispose();
            throw;
        }

        var info = store.Expected(reserved, state);
        lock (_gate)
        {
            if (!_closed)
            {
                _tail = _tail.ContinueWith(_ => CompleteInBackground(store, reserved, state, keep, cancellationToken), CancellationToken.None,
                    TaskContinuationOptions.None, TaskScheduler.Default);
                return info;
            }
        }

        // Close ran while this save was being reserved: it has returned, so nothing may run after it.
        ReleaseQueueSlot(size);
        store.Abandon(reserved);
        reserved.Dispose();
        throw ClosedDuringSave(reserved.Step);
    }

    private void CompleteInBackground(ICheckpointStore store, IStepReservation reserved, EncodedState state, int? keep, CancellationToken cancellationToken)
    {
        _inBackgroundSave.Value = true;
        try
        {
            store.Complete(reserved, state, keep, null, cancellationToken: cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller cancelled this save: nothing was published, and it is not a failure to raise on
            // the next, unrelated call.
            _options.Log?.Invoke($"Background save of step {reserved.Step} to '{store.Directory}' was cancelled; nothing was published.");
        }
        catch (Exception e)
        {
            // Every failure is kept, in order, until a call raises them.
            lock (_gate)
            {
                _backgroundFailures.Add(e);
            }
        }
        finally
        {
            reserved.Dispose();
            // The state node's pooled buffer goes back for the next save.
            state.Release();
            ReleaseQueueSlot(state.Size);
        }
    }

    /// <summary>Waits until the queue has room for a save of <paramref name="size"/> bytes, then counts it as pending.</summary>
    private void TakeQueueSlot(long size)
    {
        lock (_gate)
        {
            // A save larger than the byte limit on its own goes once the queue is empty; it could never fit otherwise.
            // A save from a Log callback of a background save is not made to wait: the save it would wait
            // for is the one running that callback.
            while (!_closed && _pendingSaves > 0 && !_inBackgroundSave.Value
                && (_pendingSaves >= _options.MaxPendingSaves || (_options.MaxPendingBytes is long limit && _pendingBytes + size > limit)))
            {
                Monitor.Wait(_gate);
            }

            if (_closed)
            {
                throw ClosedDuringSave(null);
            }

            _pendingSaves++;
            _pendingBytes += size;
        }
    }

    private void ReleaseQueueSlot(long size)
    {
        lock (_gate)
        {
            _pendingSaves--;
            _pendingBytes -= size;
            Monitor.PulseAll(_gate);
        }
    }

    private ObjectDisposedException ClosedDuringSave(long? step) => new(nameof(CheckpointHandler),
        $"The checkpoint handler was closed while this save of {(step is long s ? $"step {s}" : "a step")} was starting; it was not saved. Save before closing the handler.");

    /// <summary>Restores a step (latest when omitted), with the .NET types it was saved with.</summary>
    /// <exception cref="CheckpointDirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="NoCheckpointsException">The directory holds no step.</exception>
    /// <exception cref="StepNotFoundException">The step does not exist.</exception>
    /// <exception cref="CorruptCheckpointException">Stored bytes failed a check.</exception>
    public object? Restore(string directory, long? step = null, CancellationToken cancellationToken = default)
    {
        var store = ReadStore(directory);
        return Restore(store, step, null, "Restore", cancellationToken);
    }

    /// <summary>
    /// Restores only the leaves whose names match one of <paramref name="itemPatterns"/> (wildcards
    /// <c>*</c> and <c>?</c>; names as <see cref="GetItems"/> lists them). Only those leaves' bytes are
    /// read. Returns an ordered dictionary from item name to value.
    /// </summary>
    public object? Restore(string directory, long? step, IReadOnlyCollection<string> itemPatterns, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(itemPatterns);
        return Restore(ReadStore(directory), step, itemPatterns, "Restore", cancellationToken);
    }

    private object? Restore(ICheckpointStore store, long? step, IReadOnlyCollection<string>? patterns, string operation,
        CancellationToken cancellationToken)
    {
        Action<long>? onBytes = null;
        return store.Restore(step, patterns, b => onBytes?.Invoke(b), (chosen, total) =>
        {
            _options.Log?.Invoke($"Restoring step {chosen} from '{store.Directory}' ({total} tensor bytes).");
            onBytes = ProgressReporter(operation, store.Directory, chosen, total);
        }, cancellationToken);
    }

    /// <summary>Restores a step into <paramref name="target"/> through <see cref="ICheckpointable.SetState"/> and returns it.</summary>
    /// <exception cref="IncompatibleStateException">The stored state is not a dictionary with string keys.</exception>
    public T Restore<T>(string directory, T target, long? step = null) where T : ICheckpointable
    {
        ArgumentNullException.ThrowIfNull(target);
        var restored = Restore(directory, step);
        target.SetState(AsStateDictionary(restored));
        return target;
    }

    /// <summary>
    /// Restores a step (latest when omitted) into an existing state of the same shape: each stored tensor is
    /// decoded straight into the array (or dense <c>Tensor&lt;T&gt;</c>) that <paramref name="template"/> holds at
    /// the same place, so the arrays keep their identity; other values are replaced in their containers.
    /// Every tensor's element type and shape is checked before anything is written.
    /// </summary>
    /// <remarks>
    /// <para><paramref name="template"/> is a dictionary, <see cref="StateObject"/> or list as saved, or an
    /// <see cref="ICheckpointable"/>, whose <see cref="ICheckpointable.GetState"/> is filled and handed back
    /// to <see cref="ICheckpointable.SetState"/>. Items stored but missing from the template are added to their
    /// container as newly restored values; items of the template the step lacks are left as they are.</para>
    /// <para>If a chunk fails its checksum, or the restore is cancelled, while decoding, the template's containers are unchanged but its arrays
    /// may hold a mix of earlier and restored elements: restore again (another step) before using them.</para>
    /// </remarks>
    /// <returns><paramref name="template"/>.</returns>
    /// <exception cref="IncompatibleStateException">A tensor's shape or element type, or a container, differs
    /// from the template's (the exception names the item, what is stored and what the template holds), one array of the template
    /// sits where the step stores two different tensors, or a read-only container would have to take a value; nothing was written.</exception>
    /// <exception cref="CorruptCheckpointException">Stored bytes failed a check.</exception>
    public T RestoreInto<T>(string directory, T template, long? step = null, CancellationToken cancellationToken = default) where T : class
    {
        ArgumentNullException.ThrowIfNull(template);
        var store = ReadStore(directory);
        var checkpointable = template as ICheckpointable;
        object target = checkpointable is not null ? checkpointable.GetState() : template;
        Action<long>? onBytes = null;
        store.RestoreInto(step, target, b => onBytes?.Invoke(b), (chosen, total) =>
        {
            _options.Log?.Invoke($"Restoring step {chosen} from '{store.Directory}' into an existing state ({total} tensor bytes).");
            onBytes = ProgressReporter("Restore", store.Directory, chosen, total);
        }, cancellationToken);
        checkpointable?.SetState((IDictionary<string, object?>)target);
        return template;
    }

    internal static IDictionary<string, object?> AsStateDictionary(object? restored)
    {
        switch (restored)
        {
            case IDictionary<string, object?> typed:
                return typed;
            case IDictionary untyped:
                var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (DictionaryEntry e in untyped)
                {
                    if (e.Key is not string key)
                    {
                        throw new IncompatibleStateException("target", ["keys"], $"the stored state has a key of type {e.Key.GetType().Name}, where a checkpointable target takes string keys");
                    }

                    copy[key] = e.Value;
                }

                return copy;
            case StateObject obj:
                return obj.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            default:
                throw new IncompatibleStateException("target", ["state"], $"the stored state is a {restored?.GetType().Name ?? "null"}, not a dictionary");
        }
    }

    /// <summary>Reads only a step's metadata (latest step when omitted).</summary>
    public IReadOnlyDictionary<string, object?>? RestoreMetadata(string directory, long? step = null) => ReadStore(directory).RestoreMetadata(step);

    /// <summary>Committed steps, ascending; empty for a missing directory.</summary>
    public IReadOnlyList<long> GetCheckpointSteps(string directory) => ReadStore(directory).Steps();

    /// <summary>Highest committed step, or null when there is none (or no directory).</summary>
    public long? LatestStep(string directory) => ReadStore(directory).Latest();

    /// <summary>Every committed step with its record, ascending; empty for a missing directory.</summary>
    public IReadOnlyList<CheckpointInfo> ListCheckpoints(string directory) => ReadStore(directory).List();

    /// <summary>
    /// The records of the <paramref name="count"/> lowest committed steps, ascending (all of them when there
    /// are fewer; empty for a missing directory). One index query that reads only those rows, however many
    /// steps the directory holds.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public IReadOnlyList<CheckpointInfo> ListFirstCheckpoints(string directory, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return ReadStore(directory).List(first: count);
    }

    /// <summary>
    /// The records of the <paramref name="count"/> highest committed steps, ascending (all of them when there
    /// are fewer; empty for a missing directory). One index query that reads only those rows, however many
    /// steps the directory holds: <c>ListLastCheckpoints(dir, 1)</c> is the cheap way to the latest record.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public IReadOnlyList<CheckpointInfo> ListLastCheckpoints(string directory, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return ReadStore(directory).List(last: count);
    }

    /// <summary>One step's record.</summary>
    /// <exception cref="StepNotFoundException">The step does not exist.</exception>
    public CheckpointInfo GetCheckpoint(string directory, long step) => ReadStore(directory).Get(step);

    /// <summary>The leaves of a step (name, kind, dtype, shape, sizes), from the index alone.</summary>
    public IReadOnlyList<CheckpointItemInfo> GetItems(string directory, long step) => ReadStore(directory).Items(step);

    /// <summary>
    /// Removes the committed steps the policy does not keep and returns them, ascending. Pinned steps and
    /// the newest committed step always stay (only <see cref="Remove"/> removes those). A folder that is
    /// not a checkpoint directory (no index, no step folders) is left untouched and nothing is returned.
    /// With <paramref name="dryRun"/>, returns exactly what a real run would remove, removes nothing and
    /// opens nothing for writing (no lock file, no index is created).
    /// </summary>
    public IReadOnlyList<CheckpointInfo> Prune(string directory, RetentionPolicy policy, bool dryRun = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return ReadStore(directory).Prune(policy, dryRun, cancellationToken);
    }

    /// <summary>
    /// True when <paramref name="directory"/> exists and holds an index or step folders. Reads only: nothing
    /// is created or locked, so callers can skip folders that are not checkpoint directories untouched.
    /// </summary>
    public bool IsCheckpointDirectory(string directory) => ReadStore(directory).IsCheckpointDirectory();

    /// <summary>
    /// Raises <see cref="CheckpointDirectoryNotFoundException"/> when <paramref name="directory"/> does not exist
    /// (a remote location: when its container or prefix holds no blob), the check every read makes itself. Reads
    /// only. Lets a caller with several directories refuse a missing one before it reads any.
    /// </summary>
    /// <exception cref="CheckpointDirectoryNotFoundException">The directory does not exist.</exception>
    public void ThrowIfMissing(string directory) => ReadStore(directory).ThrowIfMissing();

    /// <summary>
    /// The committed steps, ascending, read without writing anything: no lock file, and a lost index is read
    /// from the step folders in memory instead of being rebuilt. For dry runs; empty when there is no store.
    /// </summary>
    public IReadOnlyList<long> PeekCheckpointSteps(string directory) => ReadStore(directory).PeekSteps();

    /// <summary>Removes one step and returns its record. A pinned step is removed only with <paramref name="force"/>.</summary>
    /// <exception cref="StepPinnedException">The step is pinned and <paramref name="force"/> is false.</exception>
    public CheckpointInfo Remove(string directory, long step, bool force = false, bool dryRun = false) =>
        ReadStore(directory).Remove(step, force, dryRun);

    /// <summary>
    /// Removes a step that a retention plan (<see cref="Prune"/> with <c>dryRun</c>) named, only if it is still
    /// the version planned: a step overwritten, pinned or removed since, or one that has become the newest
    /// committed step, stays. For callers that plan first and remove step by step (confirmation, progress),
    /// where another process may change the store in between.
    /// </summary>
    /// <param name="directory">The checkpoint location the plan was made for (with its credentials, for a SAS URL).</param>
    /// <param name="planned">A record from the plan.</param>
    /// <returns>The removed record, or null when the step stays.</returns>
    public CheckpointInfo? RemoveIfUnchanged(string directory, CheckpointInfo planned)
    {
        ArgumentNullException.ThrowIfNull(planned);
        return ReadStore(directory).RemoveIfUnchanged(planned);
    }

    /// <summary>Pins (or unpins) a step: pinned steps survive every retention rule.</summary>
    public CheckpointInfo SetPinned(string directory, long step, bool pinned) => ReadStore(directory).SetPinned(step, pinned);

    /// <summary>Decodes every stored piece of a step and checks its checksum; reports each failure with its item.</summary>
    public StepVerification Verify(string directory, long step, CancellationToken cancellationToken = default) =>
        ReadStore(directory).Verify(step, cancellationToken);

    /// <summary>Leaves added, removed or changed from <paramref name="stepBefore"/> to <paramref name="stepAfter"/>.</summary>
    public IReadOnlyList<ItemDifference> Compare(string directory, long stepBefore, long stepAfter) =>
        StepComparer.Compare(ReadStore(directory), stepBefore, stepAfter);

    /// <summary>
    /// Statistics of every tensor leaf of a step (count, NaN and infinity counts, zero count, min, max, mean,
    /// standard deviation, L2 norm; see <see cref="TensorStatistics"/> for the rules), in item order. The
    /// tensors are streamed chunk by chunk, never restored whole, with every checksum checked.
    /// </summary>
    /// <param name="directory">The checkpoint directory.</param>
    /// <param name="step">The committed step.</param>
    /// <param name="itemPatterns">Wildcard patterns (<c>*</c>, <c>?</c>) of the leaves wanted, as for a partial
    /// <see cref="Restore(string, long?, IReadOnlyCollection{string}, CancellationToken)"/>; null for every tensor leaf.
    /// Leaves that are not tensors are skipped; no match gives an empty list.</param>
    /// <param name="cancellationToken">Stops between chunks.</param>
    /// <exception cref="CheckpointDirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="StepNotFoundException">The step does not exist.</exception>
    /// <exception cref="CorruptCheckpointException">Stored bytes failed a check.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IReadOnlyList<TensorStatistics> GetStatistics(string directory, long step, IReadOnlyCollection<string>? itemPatterns = null,
        CancellationToken cancellationToken = default) =>
        ReadStore(directory).ReadStep(step, reader => Inspection.TensorStatisticsCalculator.Compute(reader, step, itemPatterns, cancellationToken), cancellationToken);

    /// <summary>
    /// Element-wise differences of the tensor leaves present in both steps with the same dtype and shape
    /// (max and mean |a − b|, relative L2 change, number of elements that differ; see
    /// <see cref="TensorDifference"/> for the rules), ordered by item name. Leaves that differ in dtype or
    /// shape, or exist in one step only, are skipped: <see cref="Compare"/> reports those. Both steps are
    /// streamed chunk by chunk, never restored whole.
    /// </summary>
    /// <param name="directory">The checkpoint directory.</param>
    /// <param name="stepBefore">The step compared from (a in ‖a − b‖ / ‖a‖).</param>
    /// <param name="stepAfter">The step compared to.</param>
    /// <param name="itemPatterns">Wildcard patterns of the leaves wanted, as for a partial restore; null for all.</param>
    /// <param name="cancellationToken">Stops between chunks.</param>
    /// <exception cref="StepNotFoundException">A step does not exist.</exception>
    /// <exception cref="CorruptCheckpointException">Stored bytes failed a check.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IReadOnlyList<TensorDifference> CompareNumeric(string directory, long stepBefore, long stepAfter, IReadOnlyCollection<string>? itemPatterns = null,
        CancellationToken cancellationToken = default)
    {
        var store = ReadStore(directory);
        return store.ReadStep(stepBefore, a => store.ReadStep(stepAfter,
            b => Inspection.NumericDiff.Compare(a, stepBefore, b, stepAfter, itemPatterns, cancellationToken), cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Rebuilds the index from the step folders (moving a damaged index aside) and sweeps leftovers of
    /// interrupted work. With <paramref name="dryRun"/>, reports what it would do and changes nothing.
    /// </summary>
    public RepairReport RepairIndex(string directory, bool dryRun = false, CancellationToken cancellationToken = default) =>
        ReadStore(directory).Repair(dryRun, force: false, cancellationToken);

    /// <summary>
    /// <see cref="RepairIndex(string, bool, CancellationToken)"/>, and with <paramref name="force"/>, the way out when the
    /// disk fails to read the index itself (an <see cref="IOException"/> saying so, which a repair otherwise refuses with):
    /// the index file and its <c>-wal</c>/<c>-shm</c> are renamed aside unread (<c>index.sqlite.unreadable-&lt;UTC time&gt;</c>,
    /// kept, never deleted) and a new index is built from the step folders' manifests. The report lists every step that
    /// was read and indexed (<see cref="RepairReport.StepsIndexed"/>) and, under <see cref="RepairReport.Problems"/>, the
    /// file set aside and every folder that could not be read (left in place, unlisted until a later repair reads it).
    /// What only the old index recorded is lost: the intents of work interrupted in it (a removal that did not finish
    /// may list its step again). An index that reads, or fails for another cause (a full disk, a denial), is repaired or
    /// refused as without <paramref name="force"/>. With <paramref name="dryRun"/>, reports what it would do and changes nothing.
    /// </summary>
    /// <param name="directory">The checkpoint directory.</param>
    /// <param name="dryRun">Report only.</param>
    /// <param name="force">Set an index the disk fails to read aside, unread, and rebuild it.</param>
    /// <param name="cancellationToken">Stops before the repair starts.</param>
    public RepairReport RepairIndex(string directory, bool dryRun, bool force, CancellationToken cancellationToken = default) =>
        ReadStore(directory).Repair(dryRun, force, cancellationToken);

    /// <summary>
    /// Copies steps from the checkpoint location <paramref name="from"/> to <paramref name="to"/>. Each step
    /// is read back in full with every checksum checked, then saved on the destination exactly as a save
    /// commits (staging, fsync, rename, index), with the same step number, metadata and creation time. A
    /// step that fails verification is refused before anything is written for it at the destination.
    /// Steps are copied in the order given and one at a time: when one fails, those before it stay copied.
    /// </summary>
    /// <param name="from">The source checkpoint directory.</param>
    /// <param name="to">The destination checkpoint directory (created when missing).</param>
    /// <param name="steps">The steps to copy; null copies every committed step of the source.</param>
    /// <param name="overwrite">Replace a step that exists at the destination (atomically, as a save would).</param>
    /// <param name="keepPins">Pin the copy of a pinned source step (false: copies are unpinned, unless they replace a pinned step).</param>
    /// <param name="cancellationToken">Stops the copy between chunks; the step being written is not published.</param>
    /// <returns>The destination's records of the copied steps.</returns>
    /// <exception cref="CheckpointDirectoryNotFoundException"><paramref name="from"/> does not exist.</exception>
    /// <exception cref="StepNotFoundException">A requested step is not committed at the source.</exception>
    /// <exception cref="CorruptCheckpointException">A source step fails verification; it was not copied.</exception>
    /// <exception cref="StepExistsException">The step exists at the destination and <paramref name="overwrite"/> is false.</exception>
    public IReadOnlyList<CheckpointInfo> Copy(string from, string to, IEnumerable<long>? steps = null, bool overwrite = false,
        bool keepPins = true, CancellationToken cancellationToken = default)
    {
        var source = ReadStore(from);
        var destination = Store(to);
        if (source is CheckpointStore && destination is CheckpointStore)
        {
            ThrowIfSameOrNestedDirectories(source, destination);
        }
        else if (string.Equals(source.Directory, destination.Directory, StringComparison.Ordinal))
        {
            throw new ArgumentException($"A checkpoint location cannot be copied onto itself ('{source.Directory}'). Choose another destination.", nameof(to));
        }

        source.ThrowIfMissing();
        var copied = new List<CheckpointInfo>();
        foreach (var step in (steps ?? source.Steps()).ToList())
        {
            cancellationToken.ThrowIfCancellationRequested();
            copied.Add(CopyStep(source, destination, step, overwrite, keepPins, cancellationToken));
        }

        return copied;
    }

    private static void ThrowIfSameOrNestedDirectories(ICheckpointStore source, ICheckpointStore to)
    {
        // Compared with links resolved: a symbolic link to the source (or a linked parent) is the source.
        var comparison = OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        var fromPath = PhysicalPath.Resolve(source.Directory);
        var toPath = PhysicalPath.Resolve(to.Directory);
        if (string.Equals(fromPath, toPath, comparison))
        {
            throw new ArgumentException($"A checkpoint directory cannot be copied onto itself ('{source.Directory}'). Choose another destination.", nameof(to));
        }

        // Nested, one directory's step folders can be the other directory: a save or copy of that step
        // number would replace a whole checkpoint directory.
        if (toPath.StartsWith(fromPath + Path.DirectorySeparatorChar, comparison) || fromPath.StartsWith(toPath + Path.DirectorySeparatorChar, comparison))
        {
            throw new ArgumentException($"Cannot copy between nested checkpoint directories: '{to.Directory}' and '{source.Directory}' lie one inside the other. Choose a destination outside the source and not containing it.", nameof(to));
        }
    }

    private CheckpointInfo CopyStep(ICheckpointStore source, ICheckpointStore destination, long step, bool overwrite, bool keepPins,
        CancellationToken cancellationToken)
    {
        // Only the store's own operations: the source is read and verified as a restore reads it, the
        // destination written as a save writes it, so a location that is not a local folder copies alike.
        // Record, metadata and state from one read: another process may overwrite the source step meanwhile.
        Action<long>? onBytes = null;
        var (info, metadata, state) = source.ReadForCopy(step, b => onBytes?.Invoke(b), (chosen, total) =>
        {
            _options.Log?.Invoke($"Restoring step {chosen} from '{source.Directory}' ({total} tensor bytes).");
            onBytes = ProgressReporter("Copy (read)", source.Directory, chosen, total);
        }, cancellationToken);
        // The metadata as stored, not as records show it (CheckpointOptions.MetadataView): the copy holds what the source holds.
        var encoded = StateEncoder.Encode(state, metadata);
        _options.Log?.Invoke($"Copying step {step} from '{source.Directory}' to '{destination.Directory}' ({encoded.Size} bytes of state, verified).");
        try
        {
            using var reservation = destination.Reserve(step, overwrite);
            return destination.Complete(reservation, encoded, keep: null,
                ProgressReporter("Copy", destination.Directory, step, encoded.Size),
                pin: keepPins && info.Pinned, createdUtc: info.CreatedUtc, cancellationToken: cancellationToken);
        }
        finally
        {
            encoded.Release();
        }
    }

    /// <summary>
    /// Blocks until every background save has finished; raises what failed since the last call: the one
    /// failure as it was thrown, or an <see cref="AggregateException"/> holding every failure in order.
    /// </summary>
    public void WaitUntilFinished()
    {
        WaitForPending();
        RaiseBackgroundFailure();
    }

    /// <summary>
    /// Closes the handler, waits for pending saves and raises their failures. A save that has not been
    /// queued when Close starts is refused (<see cref="ObjectDisposedException"/>), never run afterwards.
    /// </summary>
    public void Close()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            Monitor.PulseAll(_gate);
        }

        WaitUntilFinished();
    }

    /// <inheritdoc />
    public void Dispose() => Close();

    /// <summary>Settings of remote (object-store) locations; tests replace them (short sweep grace, request hooks).</summary>
    internal Storage.Blob.BlobSettings BlobSettings { get; init; } = Storage.Blob.BlobSettings.FromEnvironment();

    /// <summary>The store of a location: an object store for <c>az://</c> and blob URLs, else a local directory.</summary>
    private ICheckpointStore Store(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (CheckpointLocation.IsRemote(directory))
        {
            return new Storage.Blob.AccessDeniedReportingStore(new Storage.Blob.BlobCheckpointStore(Storage.Blob.BlobLocation.Parse(directory), _options, BlobSettings));
        }

        return new CheckpointStore(Path.GetFullPath(directory), _options, _portableRename);
    }

    /// <summary>Reads and changes other than saves first wait for pending background saves and raise their failures.</summary>
    private ICheckpointStore ReadStore(string directory)
    {
        ThrowIfClosed();
        WaitForPending();
        RaiseBackgroundFailure(includeRetention: false);
        return Store(directory);
    }

    private void WaitForPending()
    {
        if (_inBackgroundSave.Value)
        {
            // Called from a Log callback of a background save: waiting would wait for that save itself.
            // It reads the store as it is now, without the saves queued after this one.
            return;
        }

        Task tail;
        lock (_gate)
        {
            tail = _tail;
        }

        tail.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Raises the background failures kept so far. A retention failure is raised only by
    /// WaitUntilFinished and Close (<paramref name="includeRetention"/>): its step is committed and the
    /// store is usable, and raising it from another call would read as that call's own outcome (a Save
    /// told "RetentionFailed: step N was saved" would be taken as done although it never ran).
    /// </summary>
    private void RaiseBackgroundFailure(bool includeRetention = true)
    {
        Exception[] failures;
        lock (_gate)
        {
            failures = _backgroundFailures.Where(f => includeRetention || f is not RetentionFailedException).ToArray();
            _backgroundFailures.RemoveAll(f => includeRetention || f is not RetentionFailedException);
        }

        if (failures.Length == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failures[0]).Throw();
        }

        if (failures.Length > 1)
        {
            throw new AggregateException($"{failures.Length} background saves failed; each inner exception says which step and why.", failures);
        }
    }

    private void ThrowIfClosed()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
        }
    }

    private Action<long>? ProgressReporter(string operation, string directory, long step, long total)
    {
        var progress = _options.Progress;
        if (progress is null)
        {
            return null;
        }

        long done = 0;
        return bytes =>
        {
            done += bytes;
            progress.Report(new CheckpointProgress(operation, directory, step, done, total));
        };
    }
}
