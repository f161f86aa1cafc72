using System.Collections.Specialized;
using System.Text.Json;
using DataraxCkpt.Faults;
using DataraxCkpt.Format;
using DataraxCkpt.Retention;
using DataraxCkpt.Values;

namespace DataraxCkpt.Storage;

/// <summary>A step number taken by a save that is still writing: its staging folder and intent.</summary>
internal sealed class Reservation : IDisposable
{
    public required long Step { get; init; }

    public required string SaveId { get; init; }

    public required bool Overwrite { get; init; }

    public required StagingArea Staging { get; init; }

    public void Dispose() => Staging.Dispose();
}

/// <summary>
/// Every operation on one checkpoint directory, in terms of the seam (<see cref="StepFolders"/>),
/// the index (<see cref="StepIndex"/>), the commit protocol (<see cref="StepCommit"/>) and the
/// directory lock. Writers take the exclusive lock only around short critical sections (reserving a
/// step, publishing it, removing steps); tensor bytes are written without holding it.
/// </summary>
internal sealed class CheckpointStore
{
    private readonly StepFolders _folders;
    private readonly CheckpointOptions _options;

    public CheckpointStore(string directory, CheckpointOptions options)
    {
        Directory = directory;
        _folders = new StepFolders(directory);
        _options = options;
    }

    public string Directory { get; }

    private void Log(string message) => _options.Log?.Invoke(message);

    // ----- save -----

    /// <summary>Takes a step number for a save: checks it is free, creates the staging folder, records the intent.</summary>
    public Reservation Reserve(long? step, bool overwrite)
    {
        if (step is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(step), step, "Step numbers are zero or more.");
        }

        System.IO.Directory.CreateDirectory(Directory);
        var saveId = Guid.NewGuid().ToString("N");
        using var dirLock = Lock(exclusive: true);
        using var index = OpenIndexForWrite();
        var chosen = step ?? index.NextStep();
        if (!overwrite && (index.Get(chosen) is not null || index.HasLiveReservation(chosen)))
        {
            throw new StepExistsException(Directory, chosen);
        }

        if (!overwrite && _folders.StepExists(chosen))
        {
            throw new StepExistsException(Directory, chosen);
        }

        var staging = _folders.CreateStaging(chosen, saveId);
        try
        {
            index.AddIntent(new Intent(saveId, "save", chosen, staging.Name));
        }
        catch
        {
            staging.Dispose();
            throw;
        }

        Log($"Reserved step {chosen} in '{Directory}' (staging {StepFolders.StagingFolder}/{staging.Name}).");
        return new Reservation { Step = chosen, SaveId = saveId, Overwrite = overwrite, Staging = staging };
    }

    /// <summary>Writes the reserved step, publishes it atomically, then applies retention.</summary>
    public CheckpointInfo Complete(Reservation reservation, EncodedState state, int? keep, Action<long>? onBytesWritten)
    {
        var created = DateTimeOffset.UtcNow;
        WrittenStep written;
        try
        {
            Log($"Writing step {reservation.Step}: {state.Items.Count} items, {state.Size} bytes of state in {state.Tensors.Count} tensors.");
            written = StepWriter.Write(reservation.Staging, reservation.Step, reservation.SaveId, created, state, onBytesWritten);
        }
        catch
        {
            Abandon(reservation);
            throw;
        }

        var row = new StepRow(reservation.Step, reservation.SaveId, created, state.Size, written.StoredSize, state.Items.Count,
            System.Text.Encoding.UTF8.GetString(state.MetadataNode), written.ManifestHash, Pinned: false);
        using (Lock(exclusive: true))
        using (var index = OpenIndexForWrite())
        {
            var existing = index.Get(reservation.Step);
            if (existing is not null && !reservation.Overwrite)
            {
                index.RemoveIntent(reservation.SaveId);
                throw new StepExistsException(Directory, reservation.Step);
            }

            row = row with { Pinned = existing?.Pinned ?? false };
            if (row.Pinned)
            {
                // An overwrite keeps the pin; the marker travels inside the new folder.
                File.Create(Path.Combine(reservation.Staging.Path, StepFormat.PinnedMarker)).Dispose();
            }

            StepCommit.Publish(_folders, index, reservation.Staging.Path, row, state.Items,
                item => item.TensorIndex >= 0 ? written.Tensors[item.TensorIndex].StoredLength : 0);
            Log($"Published step {reservation.Step} ({state.Size} bytes of state, {written.StoredSize} bytes stored){(existing is null ? string.Empty : ", replacing the previous version")}.");
            if (keep is int count)
            {
                // keep: 0 on a save means "only the step just written": the protected step and the newest
                // committed step always survive, so it is the same as Keep = 1, which a policy accepts.
                RemoveSteps(index, new RetentionPolicy { Keep = Math.Max(count, 1) }, protectedStep: reservation.Step, dryRun: false);
            }
        }

        return ToInfo(row);
    }

    private void Abandon(Reservation reservation)
    {
        try
        {
            using (Lock(exclusive: true))
            using (var index = OpenIndexForWrite())
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
        if (!System.IO.Directory.Exists(Directory) || !EnsureIndex())
        {
            return new List<long>();
        }

        using var index = StepIndex.Open(Directory, create: false);
        return index.Steps();
    }

    public long? Latest()
    {
        if (!System.IO.Directory.Exists(Directory) || !EnsureIndex())
        {
            return null;
        }

        using var index = StepIndex.Open(Directory, create: false);
        return index.Latest();
    }

    public List<CheckpointInfo> List()
    {
        if (!System.IO.Directory.Exists(Directory) || !EnsureIndex())
        {
            return new List<CheckpointInfo>();
        }

        using var index = StepIndex.Open(Directory, create: false);
        return index.All().Select(ToInfo).ToList();
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
    public object? Restore(long? step, IReadOnlyCollection<string>? patterns, Action<long>? onBytesRead, Action<long, long>? onStart)
    {
        using var reader = OpenReader(step, out var chosen);
        var total = reader.Manifest.Tensors.Sum(t => t.RawLength);
        onStart?.Invoke(chosen, total);
        var decoder = new StateDecoder((index, type, item) => CorruptOnFailure(chosen, item, () => reader.LoadTensor(index, type, item, onBytesRead)));
        return CorruptOnFailure(chosen, null, () => patterns is null
            ? decoder.Decode(reader.Manifest.State)
            : decoder.DecodeMatching(reader.Manifest.State, patterns));
    }

    public IReadOnlyDictionary<string, object?> RestoreMetadata(long? step)
    {
        using var index = OpenIndexForRead();
        var chosen = step ?? index.Latest() ?? throw new NoCheckpointsException(Directory);
        var row = index.Get(chosen) ?? throw new StepNotFoundException(Directory, chosen, index.Steps());
        return DecodeMetadata(row);
    }

    /// <summary>Decodes every chunk of a step against its checksums.</summary>
    public StepVerification Verify(long step)
    {
        StepReader reader;
        try
        {
            reader = OpenReader(step, out _);
        }
        catch (CorruptCheckpointException e)
        {
            return new StepVerification(Directory, step, 0, [new ItemProblem(e.Item, e.Problem)]);
        }

        using (reader)
        {
            var problems = reader.VerifyAll();
            return new StepVerification(Directory, step, reader.Manifest.Items.Count, problems);
        }
    }

    /// <summary>Every leaf of two steps as name → value, for comparison.</summary>
    public (OrderedDictionary Before, OrderedDictionary After, IReadOnlyList<StoredItem> ItemsBefore, IReadOnlyList<StoredItem> ItemsAfter) ReadForCompare(long before, long after)
    {
        using var a = OpenReader(before, out _);
        using var b = OpenReader(after, out _);
        var all = new[] { "*" };
        var da = new StateDecoder((i, t, n) => CorruptOnFailure(before, n, () => a.LoadTensor(i, t, n, null)));
        var db = new StateDecoder((i, t, n) => CorruptOnFailure(after, n, () => b.LoadTensor(i, t, n, null)));
        return (CorruptOnFailure(before, null, () => da.DecodeMatching(a.Manifest.State, all)),
            CorruptOnFailure(after, null, () => db.DecodeMatching(b.Manifest.State, all)),
            a.Manifest.Items, b.Manifest.Items);
    }

    private StepReader OpenReader(long? step, out long chosen) => OpenReader(step, out chosen, recovered: false);

    private StepReader OpenReader(long? step, out long chosen, bool recovered)
    {
        bool interrupted;
        using (Lock(exclusive: false))
        using (var index = OpenIndexForRead())
        {
            chosen = step ?? index.Latest() ?? throw new NoCheckpointsException(Directory);
            var row = index.Get(chosen) ?? throw new StepNotFoundException(Directory, chosen, index.Steps());
            var c = chosen;
            try
            {
                return CorruptOnFailure(chosen, null, () => StepReader.Open(_folders, _folders.StepPath(c), c, row.ManifestHash));
            }
            catch (CorruptCheckpointException)
            {
                // A writer that died inside a commit leaves an intent; finishing it is not corruption.
                interrupted = !recovered && index.Intents().Any(i => i.Step == c);
                if (!interrupted)
                {
                    throw;
                }
            }
        }

        _options.Log?.Invoke($"Step {chosen} in '{Directory}' was left mid-commit by an interrupted process; finishing that first.");
        using (Lock(exclusive: true))
        using (OpenIndexForWrite())
        {
        }

        return OpenReader(chosen, out chosen, recovered: true);
    }

    // ----- change -----

    public List<CheckpointInfo> Prune(RetentionPolicy policy, bool dryRun)
    {
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
            return PlanPrune(policy);
        }

        using var dirLock = Lock(exclusive: true);
        using var index = OpenIndexForWrite();
        return RemoveSteps(index, policy, protectedStep: null, dryRun: false);
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
    private List<CheckpointInfo> PlanPrune(RetentionPolicy policy) =>
        WithReadOnlyIndex(index => RemoveSteps(index, policy, protectedStep: null, dryRun: true));

    /// <summary>The committed steps, read without writing anything (see <see cref="PlanPrune"/>); empty for a folder that is not a store.</summary>
    public List<long> PeekSteps() => IsCheckpointDirectory() ? WithReadOnlyIndex(index => index.Steps()) : new List<long>();

    private T WithReadOnlyIndex<T>(Func<StepIndex, T> query)
    {
        if (IndexLost())
        {
            using var scratch = StepIndex.OpenFile(Directory, ":memory:", create: true);
            foreach (var step in _folders.ListStepFolders())
            {
                try
                {
                    var read = Recovery.Read(_folders, _folders.StepPath(step), step);
                    using (read.Manifest)
                    {
                        Recovery.Index(scratch, read, intentToClear: null);
                    }
                }
                catch (Exception e) when (Recovery.IsUnreadableFolder(e))
                {
                    // A rebuild would not list this folder either, so a real prune would not see it.
                }
            }

            return query(scratch);
        }

        using var index = StepIndex.Open(Directory, create: false);
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
            StepCommit.Remove(_folders, index, [row]);
            Log($"Removed step {step} from '{Directory}'.");
        }

        return ToInfo(row);
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

    public RepairReport Repair(bool dryRun)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            throw new CheckpointDirectoryNotFoundException(Directory);
        }

        using var dirLock = Lock(exclusive: true);
        if (dryRun && !File.Exists(StepIndex.PathOf(Directory)))
        {
            // Nothing to open and nothing may be created: reconcile against an empty index in memory.
            using var scratch = StepIndex.OpenFile(Directory, ":memory:", create: true);
            return Recovery.Reconcile(_folders, scratch, dryRun: true);
        }

        StepIndex index;
        try
        {
            index = StepIndex.Open(Directory, create: !dryRun || File.Exists(StepIndex.PathOf(Directory)));
            var damage = index.IntegrityCheck();
            if (damage.Count > 0)
            {
                index.Dispose();
                throw new CorruptCheckpointException(Directory, null, StepIndex.FileName, string.Join("; ", damage.Take(3)));
            }
        }
        catch (CorruptCheckpointException) when (!dryRun)
        {
            SetIndexAside();
            FaultInjector.Hit("repair.after-index-aside");
            var rebuilt = RebuildIndex();
            Log($"Rebuilt the index of '{Directory}': {rebuilt.StepsIndexed.Count} steps listed.");
            return rebuilt;
        }
        catch (CorruptCheckpointException)
        {
            // A dry run over a damaged index: report what a rebuild would list.
            return new RepairReport(Directory, _folders.ListStepFolders(), _folders.ListStepFolders(), [], [], ["the index is damaged and would be rebuilt"], dryRun: true);
        }

        using (index)
        {
            var report = Recovery.Reconcile(_folders, index, dryRun);
            Log($"Repaired the index of '{Directory}': {report.StepsIndexed.Count} steps listed, {report.StepsAdded.Count} added, {report.RowsRemoved.Count} rows removed, {report.LeftoversRemoved.Count} leftovers swept.");
            return report;
        }
    }

    private List<CheckpointInfo> RemoveSteps(StepIndex index, RetentionPolicy policy, long? protectedStep, bool dryRun)
    {
        var doomed = RetentionPlanner.StepsToRemove(index.All(), r => (r.Step, r.CreatedUtc, r.Pinned), policy, DateTimeOffset.UtcNow, protectedStep);
        if (!dryRun && doomed.Count > 0)
        {
            StepCommit.Remove(_folders, index, doomed);
            foreach (var row in doomed)
            {
                Log($"Removed step {row.Step} from '{Directory}' (retention).");
            }
        }

        return doomed.Select(ToInfo).ToList();
    }

    // ----- index and lock -----

    private DirectoryLock Lock(bool exclusive) => DirectoryLock.Acquire(Directory, exclusive, _options.LockTimeout);

    /// <summary>Opens the index for a writer (lock held): creates it, rebuilds it when lost, finishes interrupted work.</summary>
    private StepIndex OpenIndexForWrite()
    {
        if (IndexLost() && _folders.ListStepFolders().Count > 0)
        {
            if (File.Exists(StepIndex.PathOf(Directory)))
            {
                SetIndexAside();
            }

            Log($"The index of '{Directory}' is missing or empty; rebuilding it from the step folders.");
            RebuildIndex();
        }

        var index = StepIndex.Open(Directory, create: true);
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
    /// Builds a complete index from the step folders in a file beside the real one and renames it into
    /// place, so a crash during a rebuild never leaves a partial index that looks whole. Lock held.
    /// </summary>
    private RepairReport RebuildIndex()
    {
        var final = StepIndex.PathOf(Directory);
        var temp = final + ".rebuild";
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm", "-journal" })
        {
            File.Delete(temp + suffix);
        }

        RepairReport report;
        using (var fresh = StepIndex.OpenFile(Directory, temp, create: true))
        {
            report = Recovery.Reconcile(_folders, fresh, dryRun: false);
        }

        FaultInjector.Hit("repair.before-index-rename");
        File.Move(temp, final, overwrite: false);
        DurableIo.FsyncDirectory(Directory);
        return report;
    }

    private StepIndex OpenIndexForRead()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            throw new CheckpointDirectoryNotFoundException(Directory);
        }

        if (!EnsureIndex())
        {
            throw new NoCheckpointsException(Directory);
        }

        return StepIndex.Open(Directory, create: false);
    }

    /// <summary>True when an index exists, rebuilding a lost one from the step folders first.</summary>
    private bool EnsureIndex()
    {
        if (!IndexLost())
        {
            return true;
        }

        if (_folders.ListStepFolders().Count == 0)
        {
            return false;
        }

        using (Lock(exclusive: true))
        using (OpenIndexForWrite())
        {
            return true;
        }
    }

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
        return !info.Exists || (info.Length == 0 && !File.Exists(path + "-wal"));
    }

    private void SetIndexAside()
    {
        var stamp = DateTime.UtcNow.ToString("yyyyMMddTHHmmssfff", System.Globalization.CultureInfo.InvariantCulture);
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            var path = StepIndex.PathOf(Directory) + suffix;
            if (File.Exists(path))
            {
                File.Move(path, $"{StepIndex.PathOf(Directory)}.damaged-{stamp}{suffix}");
            }
        }

        Log($"Moved the damaged index of '{Directory}' aside (index.sqlite.damaged-{stamp}).");
    }

    // Metadata is decoded on first access: listing many steps should not pay for metadata nobody reads.
    private CheckpointInfo ToInfo(StepRow row) => new(row.Step, _folders.StepPath(row.Step), Directory, row.CreatedUtc, row.Size,
        row.StoredSize, row.ItemCount, () => DecodeMetadata(row), row.Pinned);

    private IReadOnlyDictionary<string, object?> DecodeMetadata(StepRow row)
    {
        try
        {
            using var doc = JsonDocument.Parse(row.MetadataJson);
            var decoded = new StateDecoder((_, _, item) => throw new InvalidDataException($"metadata item '{item}' refers to a tensor")).Decode(doc.RootElement);
            return decoded as IReadOnlyDictionary<string, object?> ?? throw new InvalidDataException("metadata is not a dictionary");
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or FormatException or OverflowException or InvalidOperationException)
        {
            throw new CorruptCheckpointException(Directory, row.Step, "metadata", e.Message, e);
        }
    }

    private T CorruptOnFailure<T>(long step, string? item, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or OverflowException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException)
        {
            throw new CorruptCheckpointException(Directory, step, item ?? ItemOf(e), e.Message, e);
        }
    }

    /// <summary>The item reported when a step's folder itself is missing or is not a real folder.</summary>
    internal const string StepFolderItem = "(step folder)";

    private static string? ItemOf(Exception e)
    {
        var message = e.Message;
        var at = message.IndexOf("item '", StringComparison.Ordinal);
        if (at < 0)
        {
            // A whole-file or whole-folder failure still names where it is, so a report always carries an
            // item: the data file, the step folder, or else the manifest (every other check reads it).
            if (message.StartsWith(StepFormat.DataFile, StringComparison.Ordinal))
            {
                return StepFormat.DataFile;
            }

            return message.StartsWith("the step folder", StringComparison.Ordinal) ? StepFolderItem : StepFormat.ManifestFile;
        }

        var end = message.IndexOf('\'', at + 6);
        return end < 0 ? null : message[(at + 6)..end];
    }
}
