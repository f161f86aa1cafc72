using System.Collections.Specialized;
using System.Text.Json;
using DataraxCkpt.Faults;
using DataraxCkpt.Format;
using DataraxCkpt.Retention;
using DataraxCkpt.Values;

namespace DataraxCkpt.Storage;

/// <summary>A step number taken by a save that is still writing: its staging folder and intent.</summary>
internal sealed class Reservation : IStepReservation
{
    public required long Step { get; init; }

    public required string SaveId { get; init; }

    public required bool Overwrite { get; init; }

    public required StagingArea Staging { get; init; }

    /// <summary>The step's creation time, taken when it is reserved, so an async save's record says what is stored.</summary>
    public DateTimeOffset CreatedUtc { get; } = DateTimeOffset.UtcNow;

    /// <summary>For an overwrite, whether the step it replaces was pinned when reserved (the commit keeps the pin).</summary>
    public bool ReplacesPinned { get; init; }

    /// <summary>The index connection the reservation was made on, kept for the commit; null when not kept or taken.</summary>
    private StepIndex? _index;

    /// <summary>The commit of the save's intent, running beside the staging writes; null once joined (or never started).</summary>
    private Task? _intent;

    /// <summary>Delivers, on the joining thread, the log lines kept while the intent's commit held the directory lock.</summary>
    private Action? _joined;

    /// <summary>Records the intent's commit, still running on another thread (it holds the directory lock and the index until done).</summary>
    internal void IntentCommitting(Task commit, Action joined)
    {
        _joined = joined;
        _intent = commit;
    }

    /// <summary>
    /// Waits for the intent's commit: after it the intent is durable, the directory lock released and the kept
    /// connection (if any) here. Rethrows its failure once; a second call returns at once. The log lines kept
    /// while the commit held the lock are delivered here, on the caller's thread: never from the thread that
    /// commits, inside the task the save joins (a callback that waits for the saving thread, a lock it holds or a
    /// UI's Invoke, would wait for ever on a save that waits for it; found by the attack on the intent overlap).
    /// </summary>
    public void AwaitReserved()
    {
        var intent = Interlocked.Exchange(ref _intent, null);
        if (intent is null)
        {
            return;
        }

        try
        {
            intent.GetAwaiter().GetResult();
        }
        finally
        {
            _joined?.Invoke();
        }
    }

    /// <summary>Waits for the intent's commit and ignores its failure (the save is being abandoned anyway).</summary>
    internal void AwaitIntentQuietly()
    {
        try
        {
            AwaitReserved();
        }
        catch (Exception e) when (e is IOException or TimeoutException or CheckpointException or UnauthorizedAccessException
            or InvalidOperationException or System.Data.Common.DbException)
        {
            // Reported by the path that joined it first, or the save is failing for another reason already.
        }
    }

    /// <summary>Keeps the reservation's index connection for the commit (one open and one checkpoint of the log per save); the reservation closes it if nobody takes it.</summary>
    public void KeepIndex(StepIndex index) => _index = index;

    /// <summary>The kept index connection, now the caller's to dispose; null when none is kept.</summary>
    public StepIndex? TakeIndex() => Interlocked.Exchange(ref _index, null);

    public void Dispose()
    {
        try
        {
            // Neither the connection nor the staging folder may go while the intent's commit still uses them.
            AwaitIntentQuietly();
        }
        finally
        {
            try
            {
                TakeIndex()?.Dispose();
            }
            finally
            {
                Staging.Dispose();
            }
        }
    }
}

/// <summary>
/// Every operation on one checkpoint directory, in terms of the seam (<see cref="StepFolders"/>),
/// the index (<see cref="StepIndex"/>), the commit protocol (<see cref="StepCommit"/>) and the
/// directory lock. Writers take the exclusive lock only around short critical sections (reserving a
/// step, publishing it, removing steps); tensor bytes are written without holding it.
/// </summary>
internal sealed class CheckpointStore : ICheckpointStore
{
    private readonly StepFolders _folders;
    private readonly StepDecoding _decoding;
    private readonly CheckpointOptions _options;
    private readonly FileSystemAccess _access;
    private bool _fileSystemChecked;
    private readonly object _logGate = new();
    private readonly List<string> _heldMessages = [];
    private int _locksHeld;
    private readonly CheckpointListingContext _listing;

    /// <param name="directory">The checkpoint directory (a full path).</param>
    /// <param name="options">The handler's options.</param>
    /// <param name="portableRename">Overwrite with two renames even where an atomic exchange exists (see <see cref="StepFolders.PortableRenameVariable"/>).</param>
    public CheckpointStore(string directory, CheckpointOptions options, bool portableRename = false)
    {
        Directory = directory;
        _decoding = new StepDecoding(directory, options.MetadataView);
        _folders = new StepFolders(directory, portableRename);
        _options = options;
        _access = new FileSystemAccess(options.SimulatedDenial, options.SimulatedFileSystemType);
        _listing = new CheckpointListingContext(directory, _folders.StepPath, DecodeMetadata);
    }

    public string Directory { get; }

    IStepReservation ICheckpointStore.Reserve(long? step, bool overwrite) => Reserve(step, overwrite);

    CheckpointInfo ICheckpointStore.Expected(IStepReservation reservation, EncodedState state) => Expected((Reservation)reservation, state);

    CheckpointInfo ICheckpointStore.Complete(IStepReservation reservation, EncodedState state, int? keep, Action<long>? onBytesWritten,
        bool pin, DateTimeOffset? createdUtc, CancellationToken cancellationToken) =>
        Complete((Reservation)reservation, state, keep, onBytesWritten, pin, createdUtc, cancellationToken);

    void ICheckpointStore.Abandon(IStepReservation reservation) => Abandon((Reservation)reservation);

    void ICheckpointStore.ThrowIfMissing()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            throw new CheckpointDirectoryNotFoundException(Directory);
        }
    }

    /// <summary>
    /// Reports a notable action. Never under the directory lock: a callback that blocks, or that uses
    /// the directory itself, would hold up every other process or wait on its own lock. Messages
    /// raised while the lock is held are kept, in order, and delivered once it is released.
    /// </summary>
    private void Log(string message)
    {
        if (_options.Log is null)
        {
            return;
        }

        List<string>? deliver = null;
        lock (_logGate)
        {
            if (_locksHeld > 0)
            {
                _heldMessages.Add(message);
                return;
            }

            if (_heldMessages.Count > 0)
            {
                // Lines kept by a lock released without delivery (an intent's commit) go first, in order.
                _heldMessages.Add(message);
                deliver = [.. _heldMessages];
                _heldMessages.Clear();
            }
        }

        if (deliver is null)
        {
            _options.Log(message);
            return;
        }

        foreach (var line in deliver)
        {
            _options.Log?.Invoke(line);
        }
    }

    private void LockReleased(bool deliver = true)
    {
        lock (_logGate)
        {
            _locksHeld--;
        }

        if (deliver)
        {
            DeliverHeldMessages();
        }
    }

    /// <summary>Delivers the log lines kept while a lock was held, once no lock of this store is held.</summary>
    private void DeliverHeldMessages()
    {
        List<string>? deliver = null;
        lock (_logGate)
        {
            if (_locksHeld == 0 && _heldMessages.Count > 0)
            {
                deliver = [.. _heldMessages];
                _heldMessages.Clear();
            }
        }

        foreach (var message in deliver ?? [])
        {
            _options.Log?.Invoke(message);
        }
    }

    /// <summary>The directory lock as this store holds it: releasing it delivers the log messages kept meanwhile.</summary>
    private sealed class HeldLock : IDisposable
    {
        private readonly CheckpointStore _store;
        private DirectoryLock? _lock;

        public HeldLock(CheckpointStore store, DirectoryLock directoryLock)
        {
            _store = store;
            _lock = directoryLock;
        }

        public void Dispose() => Release(deliver: true);

        /// <summary>Releases the lock and keeps its log lines for the next delivery on another thread (<see cref="DeliverHeldMessages"/>).</summary>
        public void ReleaseWithoutDelivery() => Release(deliver: false);

        private void Release(bool deliver)
        {
            var held = Interlocked.Exchange(ref _lock, null);
            if (held is null)
            {
                return;
            }

            held.Dispose();
            _store.LockReleased(deliver);
        }
    }

    // ----- save -----

    /// <summary>Takes a step number for a save: checks it is free, creates the staging folder, records the intent.</summary>
    public Reservation Reserve(long? step, bool overwrite)
    {
        if (step is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(step), step, "Step numbers are zero or more.");
        }

        ThrowIfNetworkFileSystem();
        // Here as well as in Lock(): a refused save must not create the directory and its lock file first.
        ThrowIfFileLockingDisabled();
        if (!File.Exists(StepIndex.PathOf(Directory)))
        {
            // Before the folder and its lock file exist: a new store SQLite could not index or repair gets nothing written.
            StepIndex.RefuseNewStoreTooDeep(Directory);
        }

        System.IO.Directory.CreateDirectory(Directory);
        var saveId = Guid.NewGuid().ToString("N");
        // Not a using: on success the lock is released by the intent's commit (CommitIntent), not here.
        var dirLock = Lock(exclusive: true);
        StepIndex index;
        try
        {
            index = OpenIndexForWrite();
        }
        catch
        {
            ReleaseAfterFailure(dirLock);
            throw;
        }

        var kept = false;
        Reservation? reservation = null;
        try
        {
            var chosen = step ?? NextStep(index);
            if (!overwrite && (index.Get(chosen) is not null || index.HasLiveReservation(chosen)))
            {
                throw new StepExistsException(Directory, chosen);
            }

            if (!overwrite && _folders.StepExists(chosen))
            {
                throw new StepExistsException(Directory, chosen);
            }

            var replacesPinned = overwrite && index.Get(chosen) is { Pinned: true };

            reservation = new Reservation
            {
                Step = chosen, SaveId = saveId, Overwrite = overwrite, Staging = _folders.CreateStaging(chosen, saveId), ReplacesPinned = replacesPinned,
            };
            var intent = new Intent(saveId, "save", chosen, reservation.Staging.Name);
            Log($"Reserved step {chosen} in '{Directory}' (staging {StepFolders.StagingFolder}/{reservation.Staging.Name}).");
            var held = dirLock;
            // The intent's commit (SQLite's fsyncs of a new log, its directory and the commit) runs on another
            // thread while the caller writes and flushes the staging files: its waits overlap theirs instead of
            // preceding them. Safe because nothing durable depends on the intent until the publish, and the
            // commit joins it before renaming anything (docs/guarantees.md, "The save's intent and its staging
            // files"): a staging folder left without a durable intent by a crash is swept like any other whose
            // owner is gone. The lock is held until the intent is committed, as before, so no other writer
            // reserves this number or runs recovery in between. It runs on a thread of its own, not the pool's:
            // queued behind a busy pool's work it started only when the save joined it, after the staging files,
            // so the exclusive lock was held across the whole tensor write (every other process's restore, list
            // or save waited, and timed out on a large save; found by the attack on the intent overlap). A thread
            // costs tens of microseconds, the commit's three fsyncs milliseconds.
            FaultInjector.Hit("save.intent.before-start");
            var committing = reservation;
            var commit = Task.Factory.StartNew(() => CommitIntent(committing, index, held, intent), CancellationToken.None,
                TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach | TaskCreationOptions.HideScheduler, TaskScheduler.Default);
            // From here the connection and the lock are the intent commit's, which keeps or closes them. Not before:
            // a thread that cannot start (out of memory, a container's process limit) left the exclusive lock, the
            // connection and the staging folder held until a finalizer ran (found by the final review of session 13).
            kept = true;
            reservation.IntentCommitting(commit, DeliverHeldMessages);
            return reservation;
        }
        finally
        {
            if (!kept)
            {
                reservation?.Staging.Dispose();
                index.Dispose();
                ReleaseAfterFailure(dirLock);
            }
        }
    }

    /// <summary>
    /// Releases the lock of a reservation that failed, delivering the log lines kept while it was held. A log callback
    /// that throws then (WriteVerbose of a stopping pipeline) must not replace the reservation's own error
    /// (StepExists, a failed intent thread): as in <see cref="Abandon"/>, the save's error wins and the callback's is
    /// dropped. The lock itself is released before any callback runs.
    /// </summary>
    private static void ReleaseAfterFailure(HeldLock dirLock)
    {
        try
        {
            dirLock.Dispose();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever failed here, the caller must see the reservation's own error, not this one.
        }
    }

    /// <summary>
    /// Commits a reservation's intent, then hands the connection to the reservation (or closes it) and releases
    /// the directory lock taken by <see cref="Reserve"/>. On failure the connection is closed and the lock released.
    /// </summary>
    private static void CommitIntent(Reservation reservation, StepIndex index, HeldLock dirLock, Intent intent)
    {
        try
        {
            try
            {
                FaultInjector.Hit("save.intent.before-commit");
                index.AddIntent(intent);
                FaultInjector.Hit("save.intent.committed");
            }
            catch
            {
                index.Dispose();
                throw;
            }

            // The connection stays open for the commit where SQLite can tell later whether a repair moved
            // the file meanwhile: one open, and one checkpoint and deletion of the log (at the commit's
            // close), per save.
            if (index.CanBeKept)
            {
                reservation.KeepIndex(index);
            }
            else
            {
                index.Dispose();
            }
        }
        finally
        {
            // The log lines kept while the lock was held are not delivered here: no caller callback runs on this
            // thread, inside the task the save joins. The joining thread delivers them (Reservation.AwaitReserved).
            dirLock.ReleaseWithoutDelivery();
        }
    }

    /// <summary>
    /// The step an omitted number takes: one past every row, every reservation and every numbered
    /// folder (a damaged step repair left in place, a folder a delete could not remove), since a taken
    /// folder would refuse the reservation on every try.
    /// </summary>
    /// <exception cref="InvalidOperationException">The highest step is the last representable one.</exception>
    private long NextStep(StepIndex index)
    {
        var highest = index.HighestStep();
        var folders = _folders.ListStepFolders();
        if (folders.Count > 0 && (highest is null || folders[^1] > highest))
        {
            highest = folders[^1];
        }

        if (highest == long.MaxValue)
        {
            throw new InvalidOperationException(
                $"Step {long.MaxValue} exists in '{Directory}', so no later step can be numbered automatically. Save with an explicit step that is free, or use a new directory.");
        }

        return highest is { } h ? h + 1 : 0;
    }

    /// <summary>
    /// The record a save of <paramref name="state"/> under <paramref name="reservation"/> will commit, before
    /// it is written (an async save returns it): stored size is not known yet (0), and the pin is the
    /// replaced step's at reservation time.
    /// </summary>
    public CheckpointInfo Expected(Reservation reservation, EncodedState state) => ToInfo(new StepRow(reservation.Step, reservation.SaveId,
        new DateTimeOffset(reservation.CreatedUtc.UtcTicks, TimeSpan.Zero), state.Size, 0, state.ItemCount,
        System.Text.Encoding.UTF8.GetString(state.MetadataNode.Span), string.Empty, reservation.ReplacesPinned));

    /// <summary>What a save whose staging folder was taken from under it tells its caller to do.</summary>
    private const string LostSaveAdvice = "Save again, and check that nothing removes files under .staging or turns off file locking while saves run.";

    /// <summary>
    /// Writes the reserved step, publishes it atomically, then applies retention. A retention failure does
    /// not undo the committed step: it is raised as <see cref="RetentionFailedException"/> carrying the record.
    /// </summary>
    public CheckpointInfo Complete(Reservation reservation, EncodedState state, int? keep, Action<long>? onBytesWritten,
        bool pin = false, DateTimeOffset? createdUtc = null, CancellationToken cancellationToken = default)
    {
        // The index keeps ticks: the record must carry the same instant the index returns.
        var created = new DateTimeOffset((createdUtc ?? reservation.CreatedUtc).UtcTicks, TimeSpan.Zero);
        WrittenStep written;
        byte[] itemList;
        Task<byte[]>? listing = null;
        try
        {
            // Before any file of the step: a list the index cannot hold would fail only at the commit.
            ItemListLimit.Check(state.ItemList, _options.MaxItemListBytes);
            Log($"Writing step {reservation.Step}: {state.ItemCount} items, {state.Size} bytes of state in {state.Tensors.Count} tensors.");
            // Checked after each chunk: a cancelled save ends as a failed one, before anything is published.
            cancellationToken.ThrowIfCancellationRequested();
            var limit = _options.MaxItemListBytes;
            written = StepWriter.Write(reservation.Staging, reservation.Step, reservation.SaveId, created, state, bytes =>
            {
                cancellationToken.ThrowIfCancellationRequested();
                onBytesWritten?.Invoke(bytes);
            }, tensors =>
            {
                // The item list is finished (the tensors' stored sizes spliced in, compressed) as soon as those sizes
                // are known, beside the manifest's compression and write on the writer's thread: for a state of many
                // small leaves both are milliseconds of CPU (round 64 of docs/performance-notes.md). A pool that does
                // not start it in time leaves it to the wait below, which runs it here as before.
                listing = PoolOrWaiter.Run(() => state.ItemList.ToArray(t => tensors[t].StoredLength, limit));
            });
            cancellationToken.ThrowIfCancellationRequested();
            // Finished before the lock and the publish: the commit after the rename only copies its bytes into the
            // row, and a list the index cannot hold fails the save here, with nothing published.
            itemList = listing is null
                ? state.ItemList.ToArray(t => written.Tensors[t].StoredLength, limit)
                : listing.GetAwaiter().GetResult();
            // The intent, committed beside the writes, must be durable before the publish renames anything:
            // recovery finds a published folder (or an overwrite's parked old version) only through it. The
            // directory lock the commit holds would order them too; the join is what makes its failure this save's.
            reservation.AwaitReserved();
        }
        catch
        {
            // The list's task reads the encoder's pooled buffers, which go back to the pool when the save ends:
            // a failing save waits for it before it returns.
            PoolOrWaiter.WaitIgnoringFailure(listing);
            Abandon(reservation);
            throw;
        }

        var row = new StepRow(reservation.Step, reservation.SaveId, created, state.Size, written.StoredSize, state.ItemCount,
            System.Text.Encoding.UTF8.GetString(state.MetadataNode.Span), written.ManifestHash, Pinned: false);

        Exception? retentionFailure = null;
        using (Lock(exclusive: true))
        using (var index = OpenIndexForCommit(reservation, out var intentRecordedHere))
        {
            // A replaced or rebuilt index (repair) never held the intent: only the index the intent went into can say it was rolled back.
            if (intentRecordedHere && !index.HasSaveIntent(reservation.SaveId))
            {
                // Another process's recovery took this save for a dead one's leftovers (its staging lock was lost: the
                // lock file unlinked or replaced, .staging moved, or file locking off) and rolled it back; it may have
                // deleted part of the staging folder before it was stopped. Publishing it could list a partial step.
                throw new IOException($"The save of step {reservation.Step} into checkpoint directory '{Directory}' was rolled back by another process's recovery while it was written "
                    + $"(its record of work in progress is gone from the index, so its staging folder '{reservation.Staging.Path}' may be incomplete); nothing was published by this save (list the directory to see what step {reservation.Step} holds now). "
                    + LostSaveAdvice);
            }

            if (!intentRecordedHere && !StagedFilesWhole(reservation.Staging.Path, written.StoredSize))
            {
                // The index was replaced or rebuilt while the save wrote, so it cannot say whether another process's
                // recovery rolled the save back; what such a recovery leaves is a staging folder with files deleted.
                index.RemoveIntent(reservation.SaveId);
                throw new IOException($"The save of step {reservation.Step} into checkpoint directory '{Directory}' lost files of its staging folder '{reservation.Staging.Path}' while it was written "
                    + "(as another process's recovery deletes a save it rolls back); nothing was published. "
                    + LostSaveAdvice);
            }

            var existing = index.Get(reservation.Step);
            if (existing is not null && !reservation.Overwrite)
            {
                index.RemoveIntent(reservation.SaveId);
                throw new StepExistsException(Directory, reservation.Step);
            }

            row = row with { Pinned = pin || (existing?.Pinned ?? false) };
            if (row.Pinned)
            {
                // An overwrite keeps the pin; the marker travels inside the new folder, durable before
                // the folder is published (repair trusts it), so the folder is flushed again.
                StepFolders.WritePinnedMarker(reservation.Staging.Path);
                reservation.Staging.SyncFolder();
            }

            StepCommit.Publish(_folders, index, reservation.Staging, row, itemList);
            Log($"Published step {reservation.Step} ({state.Size} bytes of state, {written.StoredSize} bytes stored){(existing is null ? string.Empty : ", replacing the previous version")}.");
            if (keep is int count)
            {
                // keep: 0 on a save means "only the step just written": the protected step and the newest
                // committed step always survive, so it is the same as Keep = 1, which a policy accepts.
                try
                {
                    RemoveSteps(index, new RetentionPolicy { Keep = Math.Max(count, 1) }, protectedStep: reservation.Step, dryRun: false, CancellationToken.None);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointException or TimeoutException
                    or InvalidOperationException or System.Data.Common.DbException)
                {
                    // The step is committed: the caller must learn that, and that retention did not run.
                    retentionFailure = e;
                }
            }
        }

        return retentionFailure is null ? ToInfo(row) : throw new RetentionFailedException(ToInfo(row), keep!.Value, retentionFailure);
    }

    /// <summary>Whether a staging folder still holds the step's two files with the bytes the writer wrote (two stats).</summary>
    private static bool StagedFilesWhole(string staging, long storedSize)
    {
        var data = new FileInfo(Path.Combine(staging, StepFormat.DataFile));
        var manifest = new FileInfo(Path.Combine(staging, StepFormat.ManifestFile));
        return data.Exists && manifest.Exists && data.Length + manifest.Length == storedSize;
    }

    /// <summary>Clears a reservation's intent (best effort): the save will not be written.</summary>
    public void Abandon(Reservation reservation)
    {
        try
        {
            // The intent's commit holds the directory lock until it ends: taking the lock before it would wait on ourselves.
            // Inside the try: joining delivers the log lines kept while the commit held the lock, and a callback that
            // throws then (WriteVerbose of a stopping pipeline) must neither skip the intent's removal nor replace the
            // save's own error (found by the final review of session 13).
            try
            {
                reservation.AwaitIntentQuietly();
            }
            finally
            {
                RemoveIntentOf(reservation);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever failed here, the caller must see the save's own error, not this one.
        }
    }

    /// <summary>Clears an abandoned save's intent under the directory lock; on failure the next writer rolls it back.</summary>
    private void RemoveIntentOf(Reservation reservation)
    {
        try
        {
            using (Lock(exclusive: true))
            using (var index = OpenIndexForCommit(reservation, out _))
            {
                index.RemoveIntent(reservation.SaveId);
            }
        }
        catch (Exception e) when (e is IOException or TimeoutException or CheckpointException or Microsoft.Data.Sqlite.SqliteException)
        {
            // The intent stays; the next writer rolls it back once the staging owner lock is released.
            // Whatever failed here, the caller must see the save's own error, not this one.
        }
    }

    // ----- read -----

    public List<long> Steps()
    {
        using var index = TryOpenIndexForRead();
        return index?.Steps() ?? new List<long>();
    }

    public long? Latest()
    {
        using var index = TryOpenIndexForRead();
        return index?.Latest();
    }

    /// <summary>Every step's record, or only the <paramref name="first"/> lowest or <paramref name="last"/> highest; ascending.</summary>
    public List<CheckpointInfo> List(int? first = null, int? last = null)
    {
        using var index = TryOpenIndexForRead();
        return index?.List(_listing, first, last) ?? new List<CheckpointInfo>();
    }

    public CheckpointInfo Get(long step)
    {
        using var index = OpenIndexForRead();
        return ToInfo(index.Get(step) ?? throw new StepNotFoundException(Directory, step, index.Steps()));
    }

    public List<CheckpointItemInfo> Items(long step)
    {
        using var index = OpenIndexForRead();
        _ = index.Get(step) ?? throw new StepNotFoundException(Directory, step, index.Steps());
        return index.Items(step);
    }

    /// <summary>Restores a step: the whole state, or only the leaves matching <paramref name="patterns"/>.</summary>
    public object? Restore(long? step, IReadOnlyCollection<string>? patterns, Action<long>? onBytesRead, Action<long, long>? onStart,
        CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var reader = OpenReader(step, out var chosen, out _, recovered: false);
        return Decode(reader, chosen, patterns, onBytesRead, onStart, cancellationToken);
    }

    /// <summary>
    /// Reads one step whole for a copy: its record, metadata and state all come from the one version the
    /// index listed when the step folder was opened, so an overwrite or removal racing the read cannot mix two.
    /// </summary>
    public (CheckpointInfo Info, IReadOnlyDictionary<string, object?> Metadata, object? State) ReadForCopy(long step, Action<long>? onBytesRead,
        Action<long, long>? onStart, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var reader = OpenReader(step, out var chosen, out var row, recovered: false);
        return (ToInfo(row), _decoding.DecodeStoredMetadata(row.Step, row.MetadataJson), Decode(reader, chosen, null, onBytesRead, onStart, cancellationToken));
    }

    private object? Decode(StepReader reader, long chosen, IReadOnlyCollection<string>? patterns, Action<long>? onBytesRead,
        Action<long, long>? onStart, CancellationToken cancellationToken) =>
        _decoding.Decode(reader, chosen, patterns, onBytesRead, onStart, cancellationToken);

    /// <summary>
    /// Restores a step into <paramref name="template"/> in place (<see cref="StateDecoder.PlanInto"/>): every
    /// tensor is checked against the target's array first, then all are decoded straight into those arrays,
    /// then the containers take the other restored values.
    /// </summary>
    public void RestoreInto(long? step, object template, Action<long>? onBytesRead, Action<long, long>? onStart, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var reader = OpenReader(step, out var chosen, out _, recovered: false);
        _decoding.DecodeInto(reader, chosen, template, onBytesRead, onStart, cancellationToken);
    }

    public IReadOnlyDictionary<string, object?> RestoreMetadata(long? step)
    {
        using var index = OpenIndexForRead();
        var chosen = step ?? index.Latest() ?? throw new NoCheckpointsException(Directory);
        var row = index.Get(chosen) ?? throw new StepNotFoundException(Directory, chosen, index.Steps());
        return DecodeMetadata(row.Step, row.MetadataJson);
    }

    /// <summary>Decodes every chunk of a step against its checksums.</summary>
    public StepVerification Verify(long step, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return _decoding.Verify(step, () => OpenReader(step, out _), cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="read"/> over a committed step opened as a restore opens it (same checks, same
    /// version); stored bytes that fail a check raise <see cref="CorruptCheckpointException"/> naming the item.
    /// </summary>
    public T ReadStep<T>(long step, Func<StepReader, T> read, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var reader = OpenReader(step, out _);
        return CorruptOnFailure(step, null, () => read(reader));
    }

    /// <summary>The leaves and containers of two steps, for comparison.</summary>
    public (ComparedStep Before, ComparedStep After) ReadForCompare(long before, long after)
    {
        using var a = OpenReader(before, out _);
        using var b = OpenReader(after, out _);
        return _decoding.ReadForCompare(a, before, b, after);
    }

    private StepReader OpenReader(long? step, out long chosen) => OpenReader(step, out chosen, out _, recovered: false);

    // The row is read under the same shared lock as the folder is opened, so both are one version.
    private StepReader OpenReader(long? step, out long chosen, out StepRow row, bool recovered)
    {
        // A lost index is rebuilt before the shared lock is taken: holding it, this process would wait
        // for itself to release it before the rebuild's exclusive lock could be granted.
        var writable = ThrowIfMissing();
        if (writable && IndexLost())
        {
            using (OpenIndexForRead())
            {
            }
        }

        bool interrupted;
        using (Lock(exclusive: false))
        using (var index = OpenIndexUnderSharedLock())
        {
            chosen = step ?? index.Latest() ?? throw new NoCheckpointsException(Directory);
            var found = index.Get(chosen) ?? throw new StepNotFoundException(Directory, chosen, index.Steps());
            row = found;
            var c = chosen;
            try
            {
                return CorruptOnFailure(chosen, null, () => StepReader.Open(_folders, _folders.StepPath(c), c, found.ManifestHash));
            }
            catch (CorruptCheckpointException)
            {
                // A writer that died inside a commit leaves an intent; finishing it is not corruption.
                // Finishing it needs write access; a directory that may only be read reports the corruption.
                interrupted = !recovered && writable && index.Intents().Any(i => i.Step == c);
                if (!interrupted)
                {
                    throw;
                }
            }
        }

        Log($"Step {chosen} in '{Directory}' was left mid-commit by an interrupted process; finishing that first.");
        using (Lock(exclusive: true))
        using (OpenIndexForWrite())
        {
        }

        return OpenReader(chosen, out chosen, out row, recovered: true);
    }

    // ----- change -----

    public List<CheckpointInfo> Prune(RetentionPolicy policy, bool dryRun, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!System.IO.Directory.Exists(Directory))
        {
            throw new CheckpointDirectoryNotFoundException(Directory);
        }

        if (!IsCheckpointDirectory())
        {
            // Retention must not turn a stray folder (logs, tensorboard) into a store by creating a lock and index in it.
            Log($"'{Directory}' is not a checkpoint directory (no index, no step folders); nothing to prune.");
            return new List<CheckpointInfo>();
        }

        if (dryRun)
        {
            return PlanPrune(policy, cancellationToken);
        }

        using var dirLock = Lock(exclusive: true);
        using var index = OpenIndexForWrite();
        // The removal itself is one transaction: the last point to stop is before it starts.
        cancellationToken.ThrowIfCancellationRequested();
        return RemoveSteps(index, policy, protectedStep: null, dryRun: false, cancellationToken);
    }

    /// <summary>
    /// True when the folder holds an index or step folders. Reads only: creates no lock and no index.
    /// </summary>
    public bool IsCheckpointDirectory() =>
        System.IO.Directory.Exists(Directory) && (File.Exists(StepIndex.PathOf(Directory)) || _folders.ListStepFolders().Count > 0);

    /// <summary>
    /// A prune's plan without writing anything: no lock file, no index created, no interrupted work finished.
    /// A lost index is reconciled from the step folders in memory, as a dry-run repair does.
    /// </summary>
    private List<CheckpointInfo> PlanPrune(RetentionPolicy policy, CancellationToken cancellationToken) =>
        WithReadOnlyIndex(index => RemoveSteps(index, policy, protectedStep: null, dryRun: true, cancellationToken));

    /// <summary>The committed steps, read without writing anything (see <see cref="PlanPrune"/>); empty for a folder that is not a store.</summary>
    public List<long> PeekSteps() => IsCheckpointDirectory() ? WithReadOnlyIndex(index => index.Steps()) : new List<long>();

    private T WithReadOnlyIndex<T>(Func<StepIndex, T> query)
    {
        if (IndexLost())
        {
            using var scratch = StepIndex.OpenFile(Directory, ":memory:", create: true);
            var listedIds = new HashSet<string>(StringComparer.Ordinal);
            foreach (var step in _folders.ListStepFolders())
            {
                try
                {
                    var read = Recovery.Read(_folders, _folders.StepPath(step), step);
                    using (read.Manifest)
                    {
                        // A later folder carrying a listed step's save id is not listed by a rebuild either.
                        if (listedIds.Add(read.Manifest.SaveId))
                        {
                            Recovery.Index(scratch, read, intentToClear: null);
                        }
                    }
                }
                catch (Exception e) when (Recovery.IsUnreadableFolder(e))
                {
                    // A rebuild would not list this folder either, so a real prune would not see it.
                }
            }

            return query(scratch);
        }

        // Read-only (immutable where no log exists): a dry run creates no -wal or -shm either.
        using var index = StepIndex.OpenReadOnly(Directory, _options.IndexBusyTimeout) ?? throw new NoCheckpointsException(Directory);
        return query(index);
    }

    public CheckpointInfo Remove(long step, bool force, bool dryRun)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            throw new CheckpointDirectoryNotFoundException(Directory);
        }

        if (dryRun)
        {
            // A plan writes nothing: no lock file, no index created or rebuilt, no interrupted work finished.
            return WithReadOnlyIndex(index => ToInfo(RowToRemove(index, step, force)));
        }

        using var dirLock = Lock(exclusive: true);
        using var index = OpenIndexForWrite();
        var row = RowToRemove(index, step, force);
        if (!dryRun)
        {
            StepCommit.Remove(_folders, index, [RemovedRow.Of(row)]);
            Log($"Removed step {step} from '{Directory}'.");
        }

        return ToInfo(row);
    }

    public CheckpointInfo? RemoveIfUnchanged(CheckpointInfo planned)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            throw new CheckpointDirectoryNotFoundException(Directory);
        }

        using var dirLock = Lock(exclusive: true);
        using var index = OpenIndexForWrite();
        var row = index.Get(planned.Step);
        var keptBecause = Retention.RetentionRecheck.ReasonToKeep(row, planned, index.Latest);
        if (keptBecause is not null)
        {
            Log($"Kept step {planned.Step} in '{Directory}': {keptBecause} since the retention plan.");
            return null;
        }

        StepCommit.Remove(_folders, index, [RemovedRow.Of(row!)]);
        Log($"Removed step {planned.Step} from '{Directory}' (retention).");
        return ToInfo(row!);
    }

    private StepRow RowToRemove(StepIndex index, long step, bool force)
    {
        var row = index.Get(step) ?? throw new StepNotFoundException(Directory, step, index.Steps());
        return row.Pinned && !force ? throw new StepPinnedException(Directory, step) : row;
    }

    public CheckpointInfo SetPinned(long step, bool pinned)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            throw new CheckpointDirectoryNotFoundException(Directory);
        }

        using var dirLock = Lock(exclusive: true);
        using var index = OpenIndexForWrite();
        var row = index.Get(step) ?? throw new StepNotFoundException(Directory, step, index.Steps());
        _folders.SetPinnedMarker(step, pinned);
        FaultInjector.Hit("pin.after-marker");
        index.SetPinned(step, pinned);
        Log($"{(pinned ? "Pinned" : "Unpinned")} step {step} in '{Directory}'.");
        return ToInfo(row with { Pinned = pinned });
    }

    public RepairReport Repair(bool dryRun, bool force, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!System.IO.Directory.Exists(Directory))
        {
            throw new CheckpointDirectoryNotFoundException(Directory);
        }

        using var dirLock = Lock(exclusive: true);
        try
        {
            return RepairLocked(dryRun);
        }
        catch (IOException e) when (force && IndexIoFailure.IsFailedRead(e, StepIndex.PathOf(Directory)))
        {
            // Nothing more is asked of it beyond closing it (SQLite's checkpoint at close may still fold a log in): a sector
            // that fails once may fail every time, and each try may take the drive's own retries. Its intents are lost with it (said by ForcedRepairAdvice, before the user chose this).
            return dryRun ? ForcedDryRun(e) : SetAsideUnreadAndRebuild(e);
        }
        catch (IOException e) when (IndexIoFailure.IsFailedRead(e, StepIndex.PathOf(Directory)))
        {
            // Only the index itself, not a rebuild's file, and not a full disk or a denial, which the rebuild would meet too.
            throw IndexIoFailure.WithAdvice(e, IndexIoFailure.ForcedRepairAdvice);
        }
    }

    /// <summary>A forced repair's dry run over an index the disk fails to read: what a rebuild from the step folders would list.</summary>
    private RepairReport ForcedDryRun(IOException unreadable)
    {
        using var scratch = StepIndex.OpenFile(Directory, ":memory:", create: true);
        var report = WithFirstProblem(Recovery.Reconcile(_folders, scratch, dryRun: true),
            $"the index could not be read ({ReadFailure(unreadable)}); a forced repair would set it aside unread as '{StepIndex.FileName}{UnreadableMark}<UTC time>' (kept) and rebuild it from the step folders listed here");
        // The real rebuild first puts back an old version an interrupted overwrite parked in the trash (its step folder
        // missing), which this reconcile of the folders as they are cannot list: say so rather than report less than will happen.
        string? note;
        try
        {
            note = _folders.HasDisplaced()
                ? "the trash holds an old version an interrupted overwrite parked; the rebuild puts it back as its step when that step's folder is missing, so the steps listed here may be fewer than it lists"
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Called while the unreadable index is being reported: a note that fails must not replace that report.
            note = $"the trash ('{StepFolders.TrashFolder}') could not be listed ({e.Message.TrimEnd('.')}), so whether it holds an old version an interrupted overwrite parked, which the rebuild would put back as its step, is not known";
        }

        var problems = report.Problems.ToList();
        if (note is not null)
        {
            problems.Add(note);
        }

        if (InterruptedSetAsideNote() is { } record)
        {
            problems.Add(record);
        }

        return problems.Count == report.Problems.Count ? report : WithProblems(report, problems);
    }

    /// <summary>A forced repair: the index the disk fails to read (and its logs) renamed aside unread, a new one built from the step folders.</summary>
    private RepairReport SetAsideUnreadAndRebuild(IOException unreadable)
    {
        RepairReport rebuilt;
        string? aside;
        try
        {
            (rebuilt, aside) = SetAsideAndRebuild([], UnreadableMark);
        }
        catch (Exception e) when ((e is IOException or UnauthorizedAccessException) && IndexKnownGone())
        {
            // The old index is already aside when the new one fails: the store has no index until the next rebuild,
            // which is not what the rebuild's own message ("retry") would let a user believe.
            var advice =
                $"The unreadable index was already set aside (kept as '{StepIndex.FileName}{UnreadableMark}<UTC time>'), so the checkpoint directory has no index now; nothing in the step folders is lost, and the next repair or save rebuilds the index from them.";
            throw e is IOException io ? IndexIoFailure.WithAdvice(io, advice) : new IOException($"{e.Message} {advice}", e);
        }

        return WithFirstProblem(rebuilt,
            $"the index could not be read ({ReadFailure(unreadable)}); it was set aside unread as '{(aside is null ? StepIndex.FileName : Path.GetFileName(aside))}' (kept: delete it once the disk is checked) and rebuilt from the step folders; check the disk (the system log, e.g. dmesg)");
    }

    /// <summary>
    /// Whether the index path is known to hold no index: a look that fails (EIO on lstat) is not "gone", so a failed forced
    /// repair never tells the user an index still at its path was set aside (session 21's attack).
    /// </summary>
    private bool IndexKnownGone()
    {
        try
        {
            return !IndexFileExists();
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The cause of a failed read of the index as the system or SQLite gave it.</summary>
    private static string ReadFailure(IOException e) => (e.InnerException ?? e).Message.TrimEnd('.');

    private static RepairReport WithFirstProblem(RepairReport report, string problem) => WithProblems(report, [problem, .. report.Problems]);

    private static RepairReport WithProblems(RepairReport report, IReadOnlyList<string> problems) =>
        new(report.Directory, report.StepsIndexed, report.StepsAdded, report.RowsRemoved, report.LeftoversRemoved, problems, report.DryRun);

    /// <summary>The mark of an index a forced repair set aside because the disk failed to read it (a damaged one's is <see cref="DamagedMark"/>).</summary>
    private const string UnreadableMark = ".unreadable-";

    /// <summary>The mark of an index a repair set aside as damaged.</summary>
    private const string DamagedMark = ".damaged-";

    /// <summary>Repair, under the exclusive lock.</summary>
    private RepairReport RepairLocked(bool dryRun)
    {
        // IndexFileExists: a look the disk failed is the index's read error (as the real run meets it), not "no index".
        if (dryRun && !IndexFileExists())
        {
            // Nothing to open and nothing may be created: reconcile against an empty index in memory. The real run sets
            // the lost index's leftovers aside, finishing a set-aside a kill interrupted first: said, not done.
            using var scratch = StepIndex.OpenFile(Directory, ":memory:", create: true);
            var report = Recovery.Reconcile(_folders, scratch, dryRun: true);
            return InterruptedSetAsideNote() is { } note ? WithProblems(report, [.. report.Problems, note]) : report;
        }

        if (!dryRun && (IndexLost() || StepIndex.IsUnversioned(Directory)))
        {
            // Not reconciled in place: an index created here would record no intent, and the sweep of the
            // reconcile would delete what an interrupted overwrite parked in .trash. The rebuild puts it back first.
            return SetAsideAndRebuild([], DamagedMark).Report;
        }

        StepIndex index;
        List<Intent> carried = [];
        try
        {
            // A dry run writes nothing: an index without a schema version is reported as one a repair would rebuild.
            index = StepIndex.Open(Directory, create: !dryRun, upgrade: !dryRun, _options.IndexBusyTimeout);
            List<string> damage;
            try
            {
                damage = index.IntegrityCheck();
            }
            catch
            {
                // Closed before anything is set aside (a forced repair renames the file next).
                index.Dispose();
                throw;
            }

            if (damage.Count > 0)
            {
                carried = ReadableIntents(index);
                index.Dispose();
                throw new CorruptCheckpointException(Directory, null, StepIndex.FileName, string.Join("; ", damage.Take(3)));
            }
        }
        catch (CorruptCheckpointException) when (!dryRun)
        {
            return SetAsideAndRebuild(carried, DamagedMark).Report;
        }
        catch (CorruptCheckpointException)
        {
            // A dry run over a damaged index: report what a rebuild would list.
            return new RepairReport(Directory, _folders.ListStepFolders(), _folders.ListStepFolders(), [], [],
                InterruptedSetAsideNote() is { } note ? ["the index is damaged and would be rebuilt", note] : ["the index is damaged and would be rebuilt"], dryRun: true);
        }

        using (index)
        {
            var report = Recovery.Reconcile(_folders, index, dryRun);
            Log($"Repaired the index of '{Directory}': {report.StepsIndexed.Count} steps listed, {report.StepsAdded.Count} added, {report.RowsRemoved.Count} rows removed, {report.LeftoversRemoved.Count} leftovers swept.");
            return report;
        }
    }

    /// <summary>
    /// Repair's rebuild: the index (and its logs) go aside, named with <paramref name="mark"/>, a new one is built from the
    /// step folders and renamed in. Returns the report and the path the index's main file was moved to (null when none was there).
    /// </summary>
    private (RepairReport Report, string? Aside) SetAsideAndRebuild(IReadOnlyList<Intent> carried, string mark)
    {
        RefuseRebuildSqliteCannotOpen();
        var aside = SetIndexAside(mark);
        FaultInjector.Hit("repair.after-index-aside");
        var rebuilt = RebuildIndex(carried, mark, aside);
        Log($"Rebuilt the index of '{Directory}': {rebuilt.StepsIndexed.Count} steps listed.");
        return (rebuilt, aside);
    }

    private List<CheckpointInfo> RemoveSteps(StepIndex index, RetentionPolicy policy, long? protectedStep, bool dryRun,
        CancellationToken cancellationToken = default)
    {
        // A step of a newer format is left alone: this engine cannot tell what deleting it would lose.
        // The rules read three columns of every row; only the steps they remove are read whole (and, for
        // KeepFinite, the steps whose finiteness decides).
        var finite = new Dictionary<long, bool>();
        var planned = RetentionPlanner.StepsToRemove(index.RetentionFacts(), f => f, policy, DateTimeOffset.UtcNow, protectedStep,
            f => finite.TryGetValue(f.Step, out var known) ? known : finite[f.Step] = index.Get(f.Step) is { } row && IsFinite(row, cancellationToken));
        // Many steps: one listing of the directory instead of a lookup per step (only a folder can be of a newer format).
        var folders = planned.Count > 256 ? _folders.ListStepFolders().ToHashSet() : null;
        bool HasFolder(long step) => folders?.Contains(step) ?? _folders.StepExists(step);
        var doomed = index.Rows(planned.Select(f => f.Step).ToList());
        // A doomed step whose folder the system could not look at (EIO, EACCES on the look: PathLook raises it) is left
        // listed, as a step of a newer format is: this engine cannot tell what removing it would do, and raising would
        // fail every prune and every save's retention of the directory for the sake of one folder (looks21's attack:
        // Attack21BadSectorStepTests). The other doomed steps are removed; the next prune tries that one again.
        doomed.RemoveAll(r => FolderLooked(r.Step) switch { null => true, true => Recovery.IsNewerFormat(_folders, r.Step), false => false });
        bool? FolderLooked(long step)
        {
            try
            {
                return HasFolder(step);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log($"Left step {step} of '{Directory}' listed{(dryRun ? " (dry run)" : string.Empty)}: retention would remove it, but its folder could not be looked at ({e.Message.TrimEnd('.')}).");
                return null;
            }
        }

        if (!dryRun && doomed.Count > 0)
        {
            StepCommit.Remove(_folders, index, doomed);
            // Without a log callback the 100,000 messages of a big prune are not even formatted.
            for (var i = 0; _options.Log is not null && i < doomed.Count; i++)
            {
                Log($"Removed step {doomed[i].Step} from '{Directory}' (retention).");
            }
        }

        var removed = new List<CheckpointInfo>(doomed.Count);
        foreach (var row in doomed)
        {
            removed.Add(ToInfo(row));
        }

        return removed;
    }

    /// <summary>
    /// Whether a committed step is finite, for KeepFinite. The caller holds the exclusive lock (or plans a dry
    /// run, which reads as a restore would), so the folder is read directly, checked against the manifest hash
    /// the index recorded.
    /// </summary>
    private bool IsFinite(StepRow row, CancellationToken cancellationToken) =>
        _decoding.IsFinite(row.Step, () => StepReader.Open(_folders, _folders.StepPath(row.Step), row.Step, row.ManifestHash), Log, cancellationToken);

    // ----- index and lock -----

    private HeldLock Lock(bool exclusive)
    {
        ThrowIfNetworkFileSystem();
        if (exclusive)
        {
            ThrowIfFileLockingDisabled();
        }

        var directoryLock = DirectoryLock.Acquire(Directory, exclusive, _options.LockTimeout, _access);
        lock (_logGate)
        {
            _locksHeld++;
        }

        return new HeldLock(this, directoryLock);
    }

    /// <summary>Refuses a directory on NFS/SMB/CIFS (unless allowed): neither flock nor SQLite's WAL is safe there.</summary>
    private void ThrowIfNetworkFileSystem()
    {
        if (_fileSystemChecked)
        {
            return;
        }

        if (!_options.AllowNetworkFileSystem && _access.NetworkFileSystem(Directory) is { } network)
        {
            throw new UnsupportedFileSystemException(Directory, network);
        }

        _fileSystemChecked = true;
    }

    /// <summary>
    /// Refuses every change (anything that takes the exclusive lock, and a save before it creates a folder) where the
    /// runtime takes no file locks: the locks that keep writers apart and tell a live save from a killed one's leftovers
    /// would exclude no one. Readers keep working: a listing takes no lock, and a restore's shared lock only keeps a
    /// writer from changing a step while it is opened, which the step's manifest hash checks anyway. The network opt-in
    /// (one process at a time) lifts it, as it lifts the network refusal whose flock excludes no other host.
    /// </summary>
    private void ThrowIfFileLockingDisabled()
    {
        if (FileLockingRefused())
        {
            throw new FileLockingDisabledException(Directory);
        }
    }

    /// <summary>Whether changes are refused here because the runtime takes no file locks (and no single-writer opt-in lifts it).</summary>
    private bool FileLockingRefused() =>
        !_options.AllowNetworkFileSystem && (_options.SimulatedFileLockingDisabled ?? RuntimeFileLocking.Disabled());

    /// <summary>Opens the index for a writer (lock held): creates it, rebuilds it when lost, finishes interrupted work.</summary>
    private StepIndex OpenIndexForWrite()
    {
        var lost = IndexLost();
        if (lost || IndexUnversioned())
        {
            // A step an interrupted overwrite parked in .trash is put back below and rebuilt too, though no step folder shows yet.
            if (_folders.ListStepFolders().Count > 0 || _folders.HasDisplaced())
            {
                RefuseRebuildSqliteCannotOpen();
            }

            if (!lost)
            {
                // Logged once the rebuild is sure to open: a refused one leaves the index where it was, and a log
                // line saying it was set aside would then precede an error saying nothing was.
                Log($"The index of '{Directory}' has no schema version (user_version 0); setting it aside and rebuilding it from the step folders.");
            }

            // Whatever is left of the lost index goes aside first, its -wal and -shm included: SQLite
            // would replay a stale write-ahead log into any new index of the same name.
            var aside = SetIndexAside();
            RestoreOrphanedSteps([]);
            if (_folders.ListStepFolders().Count > 0)
            {
                Log($"The index of '{Directory}' is missing or empty; rebuilding it from the step folders.");
                RebuildIndex(aside: aside);
            }
        }

        var index = StepIndex.Open(Directory, create: true, upgrade: true, _options.IndexBusyTimeout);
        try
        {
            foreach (var action in Recovery.FinishInterrupted(_folders, index))
            {
                Log($"Recovery: {action}.");
            }

            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Before an index is set aside for a rebuild: the rebuild's file must be one SQLite opens. A store deeper than a new
    /// one may be (moved there) opens its index but not the longer <c>index.sqlite.rebuild</c>; refused here, the damaged
    /// index stays where it was, instead of going aside before the rebuild fails and leaving no index at all.
    /// </summary>
    private void RefuseRebuildSqliteCannotOpen()
    {
        // Whatever a killed rebuild (or anyone) left at the rebuild's path goes first, as RebuildIndex deletes it before its
        // own open: the probe must not open a leftover (a link would have SQLite create or fail on its target, outside the store).
        var rebuild = RebuildPath;
        if (System.IO.Directory.Exists(rebuild))
        {
            // Unix reports unlinking a folder as a permission denial (EISDIR), which would send the user to permissions.
            throw new IOException(StepIndex.RebuildRefusal(Directory, "is a folder, which the rebuild does not delete", null));
        }

        try
        {
            DeleteRebuildLeftovers();
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException(StepIndex.RebuildRefusal(Directory, "could not be deleted", e), e);
        }
        catch (PathTooLongException e)
        {
            // Its type kept (a plain IOException would hide that the cure is a shorter path): a directory near the system's
            // path limit (about 4,070 bytes) leaves no room for index.sqlite.rebuild-journal.
            throw new PathTooLongException(StepIndex.RebuildRefusal(Directory, "has a path longer than the system opens, so the directory must move to a shorter path", e), e);
        }
        catch (IOException e)
        {
            throw new IOException(StepIndex.RebuildRefusal(Directory, "could not be deleted", e), e);
        }

        StepIndex.RefuseUnopenable(Directory, rebuild);
    }

    /// <summary>Where a rebuild builds the new index before renaming it in: <c>index.sqlite.rebuild</c> beside the index.</summary>
    private string RebuildPath => StepIndex.PathOf(Directory) + StepIndex.RebuildSuffix;

    /// <summary>Deletes <c>index.sqlite.rebuild</c> and its <c>-wal</c>, <c>-shm</c> and <c>-journal</c>: what a killed rebuild (or anyone) left there.</summary>
    private void DeleteRebuildLeftovers()
    {
        var temp = RebuildPath;
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm", "-journal" })
        {
            File.Delete(temp + suffix);
        }
    }

    /// <summary>
    /// The index for a reservation's commit or abandonment (lock held): the connection the reservation
    /// kept, when its file is still the index (no repair moved it aside or replaced it while the lock was
    /// released), with interrupted work finished as at every writer's open; otherwise a new open.
    /// </summary>
    private StepIndex OpenIndexForCommit(Reservation reservation, out bool intentRecordedHere)
    {
        intentRecordedHere = false;
        var kept = reservation.TakeIndex();
        if (kept is null)
        {
            return OpenIndexForWrite();
        }

        // A moved file refuses writes (SQLITE_READONLY_DBMOVED): the index at the path is the one to commit
        // to. Closing the moved connection is safe: SQLite skips the checkpoint at the close of a moved
        // database, so it leaves the log and shared memory at the path, which belong to the new index.
        if (kept.Moved || IndexLost())
        {
            kept.Dispose();
            return OpenIndexForWrite();
        }

        try
        {
            foreach (var action in Recovery.FinishInterrupted(_folders, kept, heldStaging: reservation.Staging.Name))
            {
                Log($"Recovery: {action}.");
            }

            intentRecordedHere = true;
            return kept;
        }
        catch
        {
            kept.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Builds a complete index from the step folders in a file beside the real one and renames it into
    /// place, so a crash during a rebuild never leaves a partial index that looks whole. Lock held.
    /// </summary>
    /// <param name="carried">Intents read from the damaged index: a removal in progress must be finished,
    /// not undone by listing its folder again, and a live save keeps its reservation.</param>
    /// <param name="mark">The mark of the set the index went aside as (<see cref="UnreadableMark"/> in a forced repair): a log
    /// that appears again before the new index moves in belongs to the old index, so it joins that set.</param>
    /// <param name="aside">Where the old index's main file went (null when there was none): a log that appears again joins it under
    /// its name (<see cref="LogAsideName"/>), not under a time of its own.</param>
    private RepairReport RebuildIndex(IReadOnlyList<Intent>? carried = null, string mark = DamagedMark, string? aside = null)
    {
        var final = StepIndex.PathOf(Directory);
        var temp = RebuildPath;
        DeleteRebuildLeftovers();
        RestoreOrphanedSteps(carried ?? []);
        RepairReport report;
        using (var fresh = StepIndex.OpenFile(Directory, temp, create: true, busyTimeout: _options.IndexBusyTimeout))
        {
            foreach (var intent in carried ?? [])
            {
                fresh.AddIntent(intent);
            }

            report = Recovery.Reconcile(_folders, fresh, dryRun: false);
            // The main file alone is renamed in: it must hold every page (its log is not taken along).
            fresh.CheckpointAll();
        }

        FaultInjector.Hit("repair.before-index-rename");
        // Never rename the fresh index beside a write-ahead log it did not write.
        aside = SetIndexAside(mark, aside) ?? aside;
        FaultInjector.Hit("repair.before-index-move-in");
        // The last look: a reader that opened the old index before it was moved aside opens its -wal and -shm
        // by path on its first query, so they can appear again after SetIndexAside looked.
        MoveLogsAside(aside ?? FreeAsideName(final, mark + Stamp(), string.Empty));
        DurableIo.MoveFile(temp, final, replace: false);
        DurableIo.FsyncDirectory(Directory);
        return report;
    }

    /// <summary>Before a rebuild: old versions parked by overwrites whose intents are lost go back under their numbers.</summary>
    private void RestoreOrphanedSteps(IReadOnlyList<Intent> known)
    {
        var named = known.Where(i => i.Staging is not null).Select(i => i.Staging!).ToHashSet(StringComparer.Ordinal);
        foreach (var step in _folders.RestoreOrphanedDisplaced(named.Contains))
        {
            Log($"Put back step {step} of '{Directory}', parked by an overwrite that did not finish and whose record was lost.");
        }
    }

    /// <summary>The well-formed intents a damaged index still yields; none when they cannot be read.</summary>
    private static List<Intent> ReadableIntents(StepIndex damaged)
    {
        try
        {
            return damaged.Intents().Where(Recovery.IsWellFormed).ToList();
        }
        catch (Exception e) when (e is CorruptCheckpointException or IOException or TimeoutException or Microsoft.Data.Sqlite.SqliteException)
        {
            // TimeoutException: the index busy for the whole wait (StepIndex reports SQLITE_BUSY so), read as before.
            return [];
        }
    }

    private StepIndex OpenIndexForRead()
    {
        _ = ThrowIfMissing();
        return TryOpenIndexForRead() ?? throw new NoCheckpointsException(Directory);
    }

    /// <summary>
    /// Opens the index while this process holds the shared lock, which rules out rebuilding it on disk
    /// (that needs the exclusive lock). Should it have been lost since it was checked, the step folders
    /// are read into an index in memory instead: no writer can change them while the lock is held.
    /// </summary>
    private StepIndex OpenIndexUnderSharedLock()
    {
        if (!IndexLost() && !UnversionedAndUnrepairable() && OpenExistingIndex() is { } index)
        {
            return index;
        }

        // Not logged: no user callback runs while the directory is locked.
        return InMemoryIndex.FromStepFolders(_folders);
    }

    /// <summary>The directory exists (else DirectoryNotFound); returns whether this process may write in it.</summary>
    private bool ThrowIfMissing()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            throw new CheckpointDirectoryNotFoundException(Directory);
        }

        return _access.CanWrite(Directory);
    }

    /// <summary>
    /// Opens the index for a reader, or null when the directory is missing or holds neither an index nor a
    /// step folder. A lost index is rebuilt on disk where this process may write, and read from the step
    /// folders into memory where it may not (a read-only mount, a snapshot): readers never write there.
    /// </summary>
    private StepIndex? TryOpenIndexForRead()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return null;
        }

        ThrowIfNetworkFileSystem();
        var writable = _access.CanWrite(Directory);
        if (!IndexLost() && !UnversionedAndUnrepairable())
        {
            if (writable)
            {
                return OpenUnlockedForRead();
            }

            // Opened read-only, SQLite takes no lock that keeps a writer (another user's process) from
            // checkpointing into the file while it is read: read it under the directory's shared lock, into memory.
            using (Lock(exclusive: false))
            using (var readOnly = StepIndex.OpenReadOnly(Directory, _options.IndexBusyTimeout))
            {
                if (readOnly?.CopyToMemory() is { } copy)
                {
                    return copy;
                }
            }
        }
        else if (_folders.ListStepFolders().Count == 0)
        {
            return null;
        }
        else if (writable && !FileLockingRefused())
        {
            // With the runtime's file locking off the rebuild's exclusive lock is refused: read the folders as a read-only mount's.
            using (Lock(exclusive: true))
            using (OpenIndexForWrite())
            {
            }

            return OpenUnlockedForRead();
        }

        Log($"The index of '{Directory}' is missing or cannot be opened read-only, and the directory may only be read; reading the step folders instead.");
        using (Lock(exclusive: false))
        {
            return InMemoryIndex.FromStepFolders(_folders);
        }
    }

    /// <summary>
    /// Opens the index of a writable directory for a reader, which takes no lock. A repair in another
    /// process (which holds the exclusive lock) may be moving the index file aside, or its replacement in,
    /// under this open: a failure is retried once the shared lock is granted, when no repair runs; a second
    /// failure is the index's own.
    /// </summary>
    private StepIndex OpenUnlockedForRead()
    {
        try
        {
            return StepIndex.Open(Directory, create: false, upgrade: false, _options.IndexBusyTimeout);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or CorruptCheckpointException)
        {
            // CorruptCheckpointException included: a writer creating the index (exclusive lock) commits a first
            // page with no schema before the schema itself, which reads as damage until it is done.
            using (Lock(exclusive: false))
            {
                return StepIndex.Open(Directory, create: false, upgrade: false, _options.IndexBusyTimeout);
            }
        }
    }

    /// <summary>Opens the existing index: read-write where this process may write, else read-only (null when SQLite cannot).</summary>
    private StepIndex? OpenExistingIndex() => OpenExistingIndex(_access.CanWrite(Directory));

    private StepIndex? OpenExistingIndex(bool writable) => writable ? StepIndex.Open(Directory, create: false, upgrade: false, _options.IndexBusyTimeout) : StepIndex.OpenReadOnly(Directory, _options.IndexBusyTimeout);

    /// <summary>
    /// True when the index file is missing, or empty with no write-ahead log: SQLite would open an empty
    /// file as an empty index and silently list no step, so it is treated as lost and rebuilt (under the
    /// exclusive lock, where no writer can be creating it). A new index is never empty once its creator
    /// releases the lock, because switching it to WAL writes its first page.
    /// </summary>
    private bool IndexLost()
    {
        var path = StepIndex.PathOf(Directory);
        var info = new FileInfo(path);
        return !IndexFileExists(info) || (info.Length == 0 && !FileLooked(path + "-wal"));
    }

    /// <summary>
    /// Whether the index's main file exists, as <see cref="FileInfo.Exists"/> says, except that a look the system failed
    /// (EIO on its lstat) is raised, not read as "no file": a live index taken for a lost one is set aside with the
    /// stale record's name or its own, its -wal moved away from it, and a step committed only in that log is unlisted
    /// (found by session 21's stale-record test, lstat failed with EIO by strace). A link to nothing or a folder at the
    /// path counts as no file, as before. The look is <see cref="PathLook"/>'s: "no file" only for ENOENT or ENOTDIR.
    /// </summary>
    /// <exception cref="IOException">The look failed: the index is named, with the errno, and nothing was changed.</exception>
    private bool IndexFileExists(FileInfo? info = null) => FileLooked(info ?? new FileInfo(StepIndex.PathOf(Directory)));

    /// <summary>
    /// <see cref="IndexFileExists"/> for any file of the index's set (its -wal, its -shm): a look the disk failed is raised,
    /// not read as "no log". A -wal whose lstat failed was left at the index path while its set-aside record was deleted
    /// and a rebuilt index renamed in beside it (SQLite opens the log by open(), so it replays the foreign frames): found
    /// by session 21's attack (Attack21LogLookTests), lstat of index.sqlite-wal failed with EIO by strace.
    /// </summary>
    /// <exception cref="IOException">The look failed: the file is named, with the errno, and nothing was changed.</exception>
    private bool FileLooked(string path) => FileLooked(new FileInfo(path));

    private bool FileLooked(FileInfo info) => IndexIoFailure.Looked(Directory, info);

    /// <summary>
    /// True when the index file exists but has no schema version (user_version 0): a creation killed between its
    /// first page and its schema commit, or a foreign or emptied file. A writer (exclusive lock held, so no creation
    /// is under way) must not create the schema in it and go on: every step folder would be unlisted, and with no
    /// intent recorded the sweep that follows would delete what an interrupted overwrite parked in .trash. It is
    /// set aside and rebuilt from the step folders instead, as repair does. Opening it writes nothing.
    /// </summary>
    private bool IndexUnversioned() => StepIndex.IsUnversioned(Directory);

    /// <summary>
    /// True when the index has no schema (a creation killed before its schema commit) and this process may not repair it
    /// because the runtime's file locking is off: readers then read the step folders as for a lost index, so that
    /// listing and restoring still work, as the refusal says. Opening it writes nothing.
    /// </summary>
    private bool UnversionedAndUnrepairable() => FileLockingRefused() && IndexUnversioned();

    /// <summary>
    /// Moves the index and its -wal and -shm aside under one timestamp. The main file goes first: connections
    /// opened before (a save's kept connection, a reader's; neither holds the lock) keep the log and shared
    /// memory they opened, and SQLite decides whether to checkpoint and delete the log BY PATH at their close
    /// from SQLITE_FCNTL_HAS_MOVED, which looks at the main file only. Were the logs moved first, a repair killed
    /// before the main file moved would leave the index in place without its logs: old connections would see
    /// "not moved", commit into a log set aside, checkpoint stale frames into the main file, and the last one
    /// to close would delete the new -wal other writers committed to. With the main file gone, every old
    /// connection sees it moved (no checkpoint, no deletion at close), and a crash before the logs moved
    /// leaves a lost index (<see cref="IndexLost"/>) whose orphaned logs every path that creates an index sets
    /// aside first (<see cref="OpenIndexForWrite"/>, <see cref="Repair"/>, <see cref="RebuildIndex"/>), beside the
    /// main file they belong to: the record written before the main file moved names it (<see cref="FinishInterruptedSetAside"/>). The
    /// logs are looked for repeatedly: a connection that opened the main file before may still create its
    /// -wal and -shm by path on its first query.
    /// </summary>
    /// <param name="mark">The mark of the set's name (<see cref="DamagedMark"/>, <see cref="UnreadableMark"/>).</param>
    /// <param name="joining">A main file this repair already set aside: with no main file at the index path, logs found there
    /// are that file's (a reader of it created them again) and join it under its name.</param>
    private string? SetIndexAside(string mark = DamagedMark, string? joining = null)
    {
        FinishInterruptedSetAside();
        var markedStamp = mark + Stamp();
        var moved = false;
        var main = StepIndex.PathOf(Directory);
        string? aside = null;
        if (IndexFileExists())
        {
            aside = FreeAsideName(main, markedStamp, string.Empty);
            WriteSetAsideRecord(aside);
            FaultInjector.Hit("repair.after-aside-record");
            DurableIo.MoveFile(main, aside, replace: false);
            moved = true;
            // Durable before the logs move: a crash must never find the logs gone and the main file back.
            DurableIo.FsyncDirectory(Directory);
            FaultInjector.Hit("repair.after-index-main-aside");
        }

        // The logs take the main file's own name (its "-2" when the time was taken), so they read as one set; orphaned
        // logs with no file to join take a name no set-aside main file has.
        var set = aside ?? joining ?? FreeAsideName(main, markedStamp, string.Empty);
        moved |= MoveLogsAside(set);
        if (moved)
        {
            DurableIo.FsyncDirectory(Directory);
            Log($"Moved the {(mark == UnreadableMark ? "unreadable" : "damaged")} index of '{Directory}' aside ({Path.GetFileName(set)}).");
        }

        if (aside is not null)
        {
            FaultInjector.Hit("repair.before-aside-record-deleted");
            // Not flushed: a record that comes back after a crash names a set whose logs are already with it, and the
            // next set-aside only deletes it.
            File.Delete(SetAsideRecordPath);
        }

        return aside;
    }

    /// <summary>
    /// <c>index.sqlite.aside</c>: while an index is being set aside, the name its main file goes to. The main file
    /// moves before its logs (<see cref="SetIndexAside"/> says why), so a crash between the moves leaves its -wal and
    /// -shm at the index path with nothing saying whose they are; the next set-aside would take them for a lost
    /// index's leftovers and name them apart from the file whose committed rows the -wal may hold. The record says.
    /// </summary>
    private string SetAsideRecordPath => StepIndex.PathOf(Directory) + SetAsideRecordSuffix;

    /// <summary>The suffix of <see cref="SetAsideRecordPath"/>.</summary>
    internal const string SetAsideRecordSuffix = ".aside";

    /// <summary>Writes <see cref="SetAsideRecordPath"/> naming <paramref name="aside"/>, durably, before the main file moves.</summary>
    private void WriteSetAsideRecord(string aside)
    {
        // Whatever stands at the path goes first, a link as a link (never its target); CreateNew (O_EXCL) then creates the
        // file itself, and refuses, rather than follows, a link anyone put there since.
        File.Delete(SetAsideRecordPath);
        using (var record = new FileStream(SetAsideRecordPath, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            record.Write(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(aside)));
            DurableIo.FlushFile(record);
        }

        DurableIo.FsyncDirectory(Directory);
    }

    /// <summary>
    /// Finishes a set-aside a crash interrupted (<see cref="SetAsideRecordPath"/> left behind): when its main file went
    /// aside and the index path is still empty, whatever -wal and -shm lie there are its own and join it under its
    /// name. A record whose main file never moved (the index is still at its path, with its logs) or that names no
    /// file set aside (cut short by the crash) is only deleted. Lock held.
    /// </summary>
    private void FinishInterruptedSetAside()
    {
        var record = SetAsideRecordPath;
        var info = new FileInfo(record);
        var link = info.LinkTarget is not null;
        if (!link && System.IO.Directory.Exists(record))
        {
            // Refused before anything moves: unlinking a folder fails as a permission denial (EISDIR), which would send the user to permissions.
            throw new IOException($"'{record}' is a folder, which a repair does not delete: the record of an index being set aside goes at that path. "
                + "Move the folder away and try again; nothing was changed.");
        }

        // FileLooked: a record whose look failed is not "no record": the logs it sends to their set would be set aside
        // under a new name, apart from the main file they belong to (session 21's audit of every look).
        if (!link && !FileLooked(info))
        {
            return;
        }

        // Stored data: only a regular file of a name's size is read. A link (even a dangling one, which File.Exists
        // reports), a named pipe (whose read would block with the lock held) or a device reads as no record, and is deleted.
        var name = link || info.Length is 0 or > MaxSetAsideRecordBytes ? null : ReadSetAsideRecord(record);
        // The record is honoured only where the index path is known to be empty (IndexFileExists raises a look that
        // failed): a stale record beside a live index must never send the live index's -wal to the file it names.
        if (name is not null && !IndexFileExists() && IsSetAsideMain(name) && FileLooked(Path.Combine(Directory, name)) && MoveLogsAside(Path.Combine(Directory, name)))
        {
            DurableIo.FsyncDirectory(Directory);
            Log($"Finished setting the index of '{Directory}' aside: its -wal and -shm, left at the index path by an interrupted repair, joined {name}.");
        }

        File.Delete(record);
    }

    /// <summary>
    /// What <see cref="FinishInterruptedSetAside"/> would do with a record left behind, for a dry run over an index the real
    /// run sets aside (a forced or lost one's): the file the record names and the -wal and -shm it would move beside that
    /// file (under the names <see cref="LogAsideName"/> gives), or that it would only delete a record it cannot honour.
    /// Null when there is no record. Reads, moves nothing.
    /// </summary>
    private string? InterruptedSetAsideNote()
    {
        var record = SetAsideRecordPath;
        var info = new FileInfo(record);
        var link = info.LinkTarget is not null;
        var shown = Path.GetFileName(record);
        if (!link && System.IO.Directory.Exists(record))
        {
            return $"'{shown}' is a folder: the repair would refuse before anything moves (move the folder away)";
        }

        if (!link && !FileLooked(info))
        {
            return null;
        }

        var name = link || info.Length is 0 or > MaxSetAsideRecordBytes ? null : ReadSetAsideRecord(record);
        if (name is null || !IsSetAsideMain(name))
        {
            return $"'{shown}' holds no readable record of a set-aside index: the repair would delete it, moving nothing";
        }

        if (IndexFileExists())
        {
            return $"'{shown}' names '{name}', but '{StepIndex.FileName}' is still at its path (the set-aside never moved it, or the record is stale): the repair would delete the record, moving no log by it";
        }

        var set = Path.Combine(Directory, name);
        if (!FileLooked(set))
        {
            return $"'{shown}' names '{name}', which does not exist: the repair would delete the record, moving no log by it";
        }

        var logs = new[] { "-wal", "-shm" }.Where(suffix => FileLooked(StepIndex.PathOf(Directory) + suffix))
            .Select(suffix => $"'{StepIndex.FileName}{suffix}' as '{Path.GetFileName(LogAsideName(set, suffix))}'").ToList();
        return logs.Count == 0
            ? $"an interrupted set-aside: '{shown}' names '{name}', whose logs are already with it; the repair would delete the record"
            : $"an interrupted set-aside: '{shown}' names '{name}'; the repair would first finish it, moving {string.Join(" and ", logs)} beside that file, then delete the record";
    }

    /// <summary>The most a set-aside record holds: one file name.</summary>
    private const int MaxSetAsideRecordBytes = 1024;

    /// <summary>The name a set-aside record holds (at most <see cref="MaxSetAsideRecordBytes"/> read), or null when it cannot be read.</summary>
    private static string? ReadSetAsideRecord(string record)
    {
        try
        {
            using var file = new FileStream(record, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            var bytes = new byte[MaxSetAsideRecordBytes];
            var read = file.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            return System.Text.Encoding.UTF8.GetString(bytes, 0, read).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone since the look, or another user's: no record to finish, as with none.
            return null;
        }
    }

    /// <summary>Whether <paramref name="name"/> is the name of an index's main file set aside (not a path, not a log).</summary>
    private static bool IsSetAsideMain(string name) =>
        (name.StartsWith(StepIndex.FileName + UnreadableMark, StringComparison.Ordinal) || name.StartsWith(StepIndex.FileName + DamagedMark, StringComparison.Ordinal))
        && name.IndexOfAny(['/', '\\', '\0']) < 0 && !name.EndsWith("-wal", StringComparison.Ordinal) && !name.EndsWith("-shm", StringComparison.Ordinal);

    /// <summary>Looks for a -wal or -shm beside the index this many times before giving up on them.</summary>
    private const int LogLooks = 5;

    /// <summary>The size of a write-ahead log's header: a shorter log holds no frame, and SQLite replays nothing from it.</summary>
    private const int WalHeaderSize = 32;

    /// <summary>
    /// Moves whatever -wal and -shm lie beside the index path aside, into the set <paramref name="set"/> (the path of its main
    /// file, <see cref="LogAsideName"/>), looking
    /// again until a look finds none: a reader's connection (readers take no lock) may delete its log or shared
    /// memory as the last one to close, and a reader that opened the old main file may create them again by path.
    /// Returns whether anything was moved.
    /// </summary>
    /// <exception cref="IOException">After <see cref="LogLooks"/> looks a log with frames is still there: SQLite would
    /// replay it into any index renamed in beside it (all its steps unlisted), so the caller must not rename one in.</exception>
    private bool MoveLogsAside(string set)
    {
        var main = StepIndex.PathOf(Directory);
        var moved = false;
        for (var look = 1; look <= LogLooks; look++)
        {
            var seen = false;
            foreach (var suffix in new[] { "-wal", "-shm" })
            {
                var path = main + suffix;
                if (!FileLooked(path))
                {
                    continue;
                }

                seen = true;
                try
                {
                    DurableIo.MoveFile(path, LogAsideName(set, suffix), replace: false);
                    moved = true;
                    FaultInjector.Hit("repair.after-log-aside");
                }
                catch (FileNotFoundException)
                {
                    // Deleted by a reader's last close between the look and the move: look again.
                }
            }

            if (!seen)
            {
                return moved;
            }
        }

        var wal = new FileInfo(main + "-wal");
        var walThere = FileLooked(wal);
        if (walThere && wal.Length >= WalHeaderSize)
        {
            throw new IOException($"A write-ahead log with frames ({wal.Length} bytes) kept appearing beside the index of '{Directory}' "
                + $"after {LogLooks} attempts to move it aside: another process is writing it. No index was renamed in beside it; "
                + "stop that process and run Repair-CheckpointIndex again.");
        }

        Log($"A -wal or -shm kept appearing beside the index of '{Directory}' after {LogLooks} attempts to move it aside "
            + $"(readers opening and closing the old index); left in place: it holds no frames ({(walThere ? wal.Length : 0)} bytes of log).");
        return moved;
    }

    /// <summary>
    /// The name a log (<paramref name="suffix"/>: -wal or -shm) of the set <paramref name="set"/> goes to: the set's own
    /// (<c>&lt;set&gt;-wal</c>) when free, else <c>&lt;set&gt;.late-wal</c> (<c>.late-2-wal</c>, … when that is taken too). A log
    /// already with the set may hold committed rows, so it is never replaced; and ".late" keeps the name from reading as
    /// the log of another set (a "-2" set-aside of the same millisecond).
    /// </summary>
    private static string LogAsideName(string set, string suffix)
    {
        var name = set + suffix;
        for (var n = 1; PathLook.File(name) || new FileInfo(name).LinkTarget is not null; n++)
        {
            name = $"{set}{LateMark}{(n == 1 ? string.Empty : $"-{n}")}{suffix}";
        }

        return name;
    }

    /// <summary>What marks a log that reached a set-aside index whose own log name was taken (<see cref="LogAsideName"/>).</summary>
    internal const string LateMark = ".late";

    /// <summary>The UTC time a set-aside name carries.</summary>
    private static string Stamp() => DateTime.UtcNow.ToString("yyyyMMddTHHmmssfff", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A name beside the index for a file set aside (<paramref name="markedStamp"/>: its mark and time), free at the time of the call.</summary>
    private static string FreeAsideName(string main, string markedStamp, string suffix)
    {
        var name = $"{main}{markedStamp}{suffix}";
        for (var n = 2; PathLook.File(name); n++)
        {
            name = $"{main}{markedStamp}-{n}{suffix}";
        }

        return name;
    }

    // A record as a listing builds it: path and metadata are worked out on first read (a prune of 100,000
    // steps returns 100,000 records, most never looked at). Every row's time is UTC (offset zero).
    private CheckpointInfo ToInfo(StepRow row) => new(_listing, row.Step, row.CreatedUtc.UtcTicks, row.Size, row.StoredSize, row.ItemCount,
        row.MetadataJson, row.Pinned);

    private CheckpointInfo ToInfo(RemovedRow row) => new(_listing, row.Step, row.CreatedUtc.UtcTicks, row.Size, row.StoredSize, row.ItemCount,
        row.MetadataJson, row.Pinned);

    private IReadOnlyDictionary<string, object?> DecodeMetadata(long step, string metadataJson) => _decoding.DecodeMetadata(step, metadataJson);

    private T CorruptOnFailure<T>(long step, string? item, Func<T> read) => _decoding.CorruptOnFailure(step, item, read);

    /// <summary>The item reported when a step's folder itself is missing or is not a real folder.</summary>
    internal const string StepFolderItem = StepDecoding.StepFolderItem;
}
