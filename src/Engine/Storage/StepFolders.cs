using System.Globalization;
using System.Runtime.ExceptionServices;
using DataraxCkpt.Faults;
using DataraxCkpt.Format;
using Microsoft.Win32.SafeHandles;

namespace DataraxCkpt.Storage;

/// <summary>
/// The file-system seam: every file and folder operation on a checkpoint directory goes through
/// here (staging a step, publishing it by rename, moving it to the trash, opening its files).
/// Layout: <c>&lt;dir&gt;/&lt;step&gt;/</c> for committed steps, <c>&lt;dir&gt;/.staging/</c> for steps being
/// written, <c>&lt;dir&gt;/.trash/</c> for steps being deleted. No name here comes from user data.
/// </summary>
internal sealed class StepFolders
{
    public const string StagingFolder = ".staging";
    public const string TrashFolder = ".trash";

    /// <param name="directory">The checkpoint directory.</param>
    /// <param name="portableRename">Never use the atomic exchange: publish overwrites with two renames, as
    /// Windows and file systems without <c>renameat2</c> exchange do (a test and diagnosis seam).</param>
    public StepFolders(string directory, bool portableRename = false)
    {
        Directory = directory;
        PortableRename = portableRename;
    }

    /// <summary>The environment variable that, set to 1 when a handler is created, forces the two-rename overwrite.</summary>
    public const string PortableRenameVariable = "DATARAXCKPT_PORTABLE_RENAME";

    public bool PortableRename { get; }

    public string Directory { get; }

    public string StagingRoot => Path.Combine(Directory, StagingFolder);

    public string TrashRoot => Path.Combine(Directory, TrashFolder);

    public string StepPath(long step) => Path.Combine(Directory, step.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// Whether the step's folder is there (<see cref="PathLook"/>: a look the system failed is raised, not "missing", or
    /// recovery would publish a staged copy or put a parked old version back onto a folder it could not see).
    /// </summary>
    public bool StepExists(long step) => PathLook.Directory(StepPath(step));

    /// <summary>Creates the staging folder of a save and takes its owner lock.</summary>
    public StagingArea CreateStaging(long step, string saveId)
    {
        EnsureOwnFolder(StagingRoot);
        var name = StagingName(step, saveId);
        var owner = new FileStream(Path.Combine(StagingRoot, name + ".lock"), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1);
        try
        {
            var path = Path.Combine(StagingRoot, name);
            System.IO.Directory.CreateDirectory(path);
            return new StagingArea(path, name, owner);
        }
        catch
        {
            // A leaked owner handle would keep the lock taken, so the leftover could never be swept.
            owner.Dispose();
            throw;
        }
    }

    /// <exception cref="InvalidDataException">The save id is not 32 lower-case hex digits.</exception>
    public static string StagingName(long step, string saveId) => StoredNames.StagingName(step, saveId);

    /// <exception cref="InvalidDataException">The name is not a staging name (it would leave the staging folder).</exception>
    public string StagingPath(string stagingName)
    {
        StoredNames.RequireStagingName(stagingName);
        return Path.Combine(StagingRoot, stagingName);
    }

    /// <summary>True when the staging folder's owner is gone (its lock can be taken), so it may be swept.</summary>
    public bool IsStagingAbandoned(string stagingName)
    {
        RequireEntryName(stagingName);
        try
        {
            using var probe = new FileStream(Path.Combine(StagingRoot, stagingName + ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Publishes a staged step under its number. When the number is taken, the two folders are
    /// exchanged atomically where the platform can, so the step is never missing; the displaced
    /// folder ends up at the staging path, to be swept. Elsewhere the old folder first goes to
    /// <see cref="DisplacedPath"/>, a name derived from the save's intent (recorded before any rename),
    /// so recovery always knows where it is: it puts it back, or completes the swap.
    /// </summary>
    /// <param name="stagingPath">The staged step (a folder in the staging root).</param>
    /// <param name="step">The step number.</param>
    /// <param name="owner">The save's staging area: when a failure leaves folders moved, it is told to keep
    /// what is at its path (possibly the old version) for recovery instead of deleting it.</param>
    /// <returns>Where the displaced folder went (the staging path or the trash), or null when there was none.</returns>
    public string? Publish(string stagingPath, long step, StagingArea? owner = null)
    {
        var target = StepPath(step);
        string? displaced = null;
        if (!System.IO.Directory.Exists(target))
        {
            DurableIo.MoveDirectory(stagingPath, target);
        }
        else if (!PortableRename && DurableIo.TryExchange(stagingPath, target))
        {
            displaced = stagingPath;
        }
        else
        {
            displaced = DisplacedPath(Path.GetFileName(stagingPath));
            EnsureOwnFolder(TrashRoot);
            FaultInjector.Hit("publish.rename");
            DurableIo.MoveDirectory(target, displaced);
            try
            {
                FaultInjector.Hit("publish.rename");
                DurableIo.MoveDirectory(stagingPath, target);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The second rename failed (I/O error, full disk, a scanner holding a file): the step
                // must not stay missing. Put the old folder back; if even that fails, keep both for
                // recovery, which restores the old one or completes the swap from the intent.
                RestoreDisplaced(displaced, target, owner);
                throw;
            }
        }

        try
        {
            FaultInjector.Hit("publish.before-flush");
            DurableIo.FsyncDirectory(Directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The renames happened but may not be durable. Whatever sits at the staging path may be the
            // old version (after an exchange): it must survive until recovery settles the intent.
            owner?.KeepForRecovery();
            throw;
        }

        return displaced;
    }

    /// <summary>Where the two-rename overwrite parks the old folder of the save staged as <paramref name="stagingName"/>.</summary>
    public string DisplacedPath(string stagingName)
    {
        StoredNames.RequireStagingName(stagingName);
        return Path.Combine(TrashRoot, stagingName + DisplacedSuffix);
    }

    /// <summary>Suffix of a displaced old version in the trash; see <see cref="DisplacedPath"/>.</summary>
    public const string DisplacedSuffix = ".old";

    private void RestoreDisplaced(string displaced, string target, StagingArea? owner)
    {
        try
        {
            FaultInjector.Hit("publish.rename");
            DurableIo.MoveDirectory(displaced, target);
            DurableIo.FsyncDirectory(Directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            owner?.KeepForRecovery();
        }
    }

    /// <summary>
    /// Recovery of a save whose owner is gone and whose step folder is missing: puts the old version the
    /// two-rename overwrite parked back under the number. True when there was one.
    /// </summary>
    public bool RestoreDisplaced(string stagingName, long step)
    {
        var displaced = DisplacedPath(stagingName);
        // PathLook: a parked old version whose look failed is not "none": unrestored, the trash sweep that follows deletes it.
        if (StepExists(step) || !PathLook.Directory(displaced) || new DirectoryInfo(displaced).LinkTarget is not null)
        {
            return false;
        }

        DurableIo.MoveDirectory(displaced, StepPath(step));
        DurableIo.FsyncDirectory(Directory);
        return true;
    }

    /// <summary>
    /// True when the trash holds an old version a two-rename overwrite parked (what <see cref="RestoreOrphanedDisplaced"/>
    /// may put back): a rebuild may then list a step no step folder shows yet. A link standing where the trash belongs,
    /// or an entry in it that is a link, is what that path drops or skips, never follows: it counts for nothing here.
    /// </summary>
    public bool HasDisplaced() =>
        PathLook.Directory(TrashRoot) && new FileInfo(TrashRoot).LinkTarget is null
        && System.IO.Directory.EnumerateDirectories(TrashRoot, "*" + DisplacedSuffix).Any(e => new DirectoryInfo(e).LinkTarget is null);

    /// <summary>
    /// Index rebuild (the intents are lost): puts back under its number every old version a two-rename
    /// overwrite parked in the trash whose step folder is missing and which no known intent names. Without
    /// its intent, nothing else says where that step went, and the trash sweep would delete it.
    /// </summary>
    /// <param name="named">True for a staging name some intent still carries (recovery settles those).</param>
    /// <returns>The steps put back.</returns>
    public List<long> RestoreOrphanedDisplaced(Func<string, bool> named)
    {
        var restored = new List<long>();
        if (!PathLook.Directory(TrashRoot) || DropIfLink(TrashRoot, dryRun: false))
        {
            return restored;
        }

        foreach (var entry in System.IO.Directory.EnumerateDirectories(TrashRoot, "*" + DisplacedSuffix).Order(StringComparer.Ordinal))
        {
            var stagingName = Path.GetFileName(entry)[..^DisplacedSuffix.Length];
            if (StoredNames.TryParseStagingName(stagingName, out var step, out _) && !named(stagingName) && RestoreDisplaced(stagingName, step))
            {
                restored.Add(step);
            }
        }

        return restored;
    }

    /// <summary>
    /// Reverses <see cref="Publish"/> after the index refused the step: the new folder goes back to the
    /// staging path (to be deleted with it) and the displaced folder, if any, back under the number.
    /// </summary>
    public void Unpublish(string stagingPath, long step, string? displaced)
    {
        var target = StepPath(step);
        if (displaced == stagingPath)
        {
            if (!DurableIo.TryExchange(stagingPath, target))
            {
                throw new IOException($"Could not swap step {step} back after a failed commit.");
            }
        }
        else
        {
            DurableIo.MoveDirectory(target, stagingPath);
            if (displaced is not null)
            {
                DurableIo.MoveDirectory(displaced, target);
            }
        }

        DurableIo.FsyncDirectory(Directory);
    }

    /// <summary>Moves a committed step's folder into the trash (one atomic rename).</summary>
    public void MoveToTrash(long step, string saveId, bool flush = true)
    {
        EnsureOwnFolder(TrashRoot);
        var destination = Path.Combine(TrashRoot, StagingName(step, saveId));
        if (System.IO.Directory.Exists(destination))
        {
            System.IO.Directory.Delete(destination, recursive: true);
        }

        DurableIo.MoveDirectory(StepPath(step), destination);
        if (flush)
        {
            DurableIo.FsyncDirectory(Directory);
        }
    }

    /// <summary>Deletes an old version parked in the trash once the overwrite committed; a failure leaves it to the next sweep.</summary>
    public void DeleteParked(string displaced)
    {
        try
        {
            DeleteEntry(displaced);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Deletes everything in the trash; returns what was removed.</summary>
    /// <param name="dryRun">Only list what would go.</param>
    /// <param name="keep">Entries to keep: old versions parked by overwrites whose intent is not settled yet.</param>
    public List<string> SweepTrash(bool dryRun, Func<string, bool>? keep = null)
    {
        var removed = new List<string>();
        if (!System.IO.Directory.Exists(TrashRoot) || DropIfLink(TrashRoot, dryRun))
        {
            return removed;
        }

        foreach (var entry in System.IO.Directory.EnumerateFileSystemEntries(TrashRoot))
        {
            if (keep?.Invoke(Path.GetFileName(entry)) ?? false)
            {
                continue;
            }

            removed.Add(Path.Combine(TrashFolder, Path.GetFileName(entry)));
            if (!dryRun)
            {
                DeleteEntry(entry);
            }
        }

        return removed;
    }

    /// <summary>Deletes staging folders whose owner is gone; returns what was removed.</summary>
    public List<string> SweepStaging(bool dryRun, Func<string, bool>? keep = null)
    {
        var removed = new List<string>();
        if (!System.IO.Directory.Exists(StagingRoot) || DropIfLink(StagingRoot, dryRun))
        {
            return removed;
        }

        foreach (var folder in System.IO.Directory.EnumerateDirectories(StagingRoot))
        {
            var name = Path.GetFileName(folder);
            if ((keep?.Invoke(name) ?? false) || !IsStagingAbandoned(name))
            {
                continue;
            }

            removed.Add(Path.Combine(StagingFolder, name));
            if (!dryRun)
            {
                DeleteEntry(folder);
                File.Delete(folder + ".lock");
            }
        }

        // Lock files whose folder is already gone (crash between the two deletes).
        foreach (var lockFile in System.IO.Directory.EnumerateFiles(StagingRoot, "*.lock"))
        {
            var name = Path.GetFileNameWithoutExtension(lockFile);
            if (!System.IO.Directory.Exists(Path.Combine(StagingRoot, name)) && IsStagingAbandoned(name) && !dryRun)
            {
                File.Delete(lockFile);
            }
        }

        return removed;
    }

    /// <summary>Numbers of every folder named like a step (decimal, no sign, no leading zero).</summary>
    public List<long> ListStepFolders()
    {
        var steps = new List<long>();
        // PathLook: one stat of the directory the disk failed read as "no folder" made a repair drop every step's row and
        // a rebuild list none (session 21's audit, EIO injected by strace); it is raised instead.
        if (!PathLook.Directory(Directory))
        {
            return steps;
        }

        foreach (var folder in System.IO.Directory.EnumerateDirectories(Directory))
        {
            if (TryParseStep(Path.GetFileName(folder), out var step))
            {
                steps.Add(step);
            }
        }

        steps.Sort();
        return steps;
    }

    public static bool TryParseStep(string name, out long step)
    {
        step = -1;
        if (name.Length == 0 || name.Length > 19 || (name.Length > 1 && name[0] == '0'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out step);
    }

    /// <summary>Opens a step folder's files for reading. Refuses links, so nothing outside the directory is read.</summary>
    /// <exception cref="InvalidDataException">A file is missing, a link, or of an impossible size.</exception>
    public StepFiles OpenStep(string folder)
    {
        FaultInjector.Hit("step.open");
        var dir = new DirectoryInfo(folder);
        // PathLook: a look the disk failed is an I/O error (the folder may be fine), not "missing", which a repair answers by
        // dropping the step's row (session 21's audit, EIO on lstat injected by strace).
        if (!PathLook.Directory(dir.FullName))
        {
            throw new InvalidDataException("the step folder is missing");
        }

        if (dir.LinkTarget is not null)
        {
            throw new InvalidDataException("the step folder is a symbolic link; steps must be real folders inside the checkpoint directory");
        }

        var manifestBytes = ReadManifestFile(folder);
        var dataInfo = CheckedFile(folder, StepFormat.DataFile);
        SafeFileHandle? data = null;
        try
        {
            data = File.OpenHandle(dataInfo.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new StepFiles(folder, manifestBytes, data, RandomAccess.GetLength(data));
        }
        catch (IOException e)
        {
            data?.Dispose();
            throw StepReadFailure.Marked(e, dataInfo.FullName);
        }
    }

    public static byte[] ReadManifestFile(string folder)
    {
        var info = CheckedFile(folder, StepFormat.ManifestFile);
        if (info.Length > StepFormat.MaxManifestBytes)
        {
            throw new InvalidDataException($"{StepFormat.ManifestFile} is {info.Length} bytes, beyond the limit of {StepFormat.MaxManifestBytes}");
        }

        try
        {
            return File.ReadAllBytes(info.FullName);
        }
        catch (IOException e)
        {
            throw StepReadFailure.Marked(e, info.FullName);
        }
    }

    public bool IsPinned(long step) => HasPinnedMarker(StepPath(step));

    /// <summary>True when the folder holds a PINNED marker that is a regular file; a planted link pins nothing.</summary>
    public static bool HasPinnedMarker(string folder)
    {
        // PathLook: a marker whose look failed is not "unpinned": a repair would unpin the step's row, and retention remove it.
        var info = new FileInfo(Path.Combine(folder, StepFormat.PinnedMarker));
        return PathLook.File(info) && info.LinkTarget is null;
    }

    /// <summary>Records the pin inside the step folder too, so a rebuilt index keeps it.</summary>
    public void SetPinnedMarker(long step, bool pinned)
    {
        var folder = StepPath(step);
        if (pinned)
        {
            WritePinnedMarker(folder);
        }
        else
        {
            File.Delete(Path.Combine(folder, StepFormat.PinnedMarker)); // unlinks a link, never its target
        }

        DurableIo.FsyncDirectory(folder);
    }

    /// <summary>
    /// Creates the PINNED marker as a new regular file and flushes it (the caller flushes the folder). A
    /// link planted at its name is removed, never followed: creation is exclusive (O_CREAT|O_EXCL), so
    /// it cannot open, truncate or create anything the link points at.
    /// </summary>
    public static void WritePinnedMarker(string folder)
    {
        var marker = Path.Combine(folder, StepFormat.PinnedMarker);
        if (new FileInfo(marker).LinkTarget is not null)
        {
            File.Delete(marker);
        }

        try
        {
            using var f = new FileStream(marker, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
            DurableIo.FlushFile(f);
        }
        catch (IOException) when (HasPinnedMarker(folder))
        {
            // Already pinned: a regular marker is there.
        }
    }

    private static FileInfo CheckedFile(string folder, string name)
    {
        var info = new FileInfo(Path.Combine(folder, name));
        // PathLook: as for the folder in OpenStep, a failed look is an I/O error, not a missing file (an invalid step).
        if (!PathLook.File(info))
        {
            throw new InvalidDataException($"{name} is missing");
        }

        if (info.LinkTarget is not null)
        {
            throw new InvalidDataException($"{name} is a symbolic link; step files must be regular files");
        }

        return info;
    }

    /// <summary>
    /// Makes sure one of the engine's own folders (.staging, .trash) is a real folder inside the
    /// directory. A link there (planted, or copied in from elsewhere) would make sweeping delete
    /// whatever it points at, outside the directory; the link itself is removed, never followed.
    /// </summary>
    private static void EnsureOwnFolder(string path)
    {
        DropIfLink(path, dryRun: false);
        System.IO.Directory.CreateDirectory(path);
    }

    /// <summary>
    /// Removes links standing where .staging or .trash belongs (unless a dry run), before anything builds a
    /// path through them. True when both are now real folders or absent (a dry run leaves links in place).
    /// </summary>
    public bool DropOwnFolderLinks(bool dryRun)
    {
        var stagingLinked = DropIfLink(StagingRoot, dryRun);
        var trashLinked = DropIfLink(TrashRoot, dryRun);
        return !dryRun || (!stagingLinked && !trashLinked);
    }

    /// <summary>Removes (unless a dry run) a link standing where an own folder belongs; true when it was one.</summary>
    private static bool DropIfLink(string path, bool dryRun)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is null)
        {
            return false;
        }

        if (!dryRun)
        {
            File.Delete(path); // unlinks the link; its target is not touched
        }

        return true;
    }

    /// <summary>
    /// A name enumerated inside one of the engine's folders (or validated before): one path component,
    /// never "." or "..", so a path built from it stays in that folder.
    /// </summary>
    private static void RequireEntryName(string name)
    {
        if (name.Length == 0 || name is "." or ".." || name.IndexOfAny(['/', '\\', '\0']) >= 0 || Path.IsPathRooted(name))
        {
            throw new InvalidDataException($"'{name}' is not a single folder name");
        }
    }

    private static void DeleteEntry(string path)
    {
        if (System.IO.Directory.Exists(path) && new DirectoryInfo(path).LinkTarget is null)
        {
            System.IO.Directory.Delete(path, recursive: true);
        }
        else
        {
            File.Delete(path);
        }
    }
}

/// <summary>A step being written in its staging folder, guarded by an owner lock that dies with the process.</summary>
internal sealed class StagingArea : IStepSink, IDisposable
{
    private readonly FileStream _owner;
    private bool _keep;

    /// <summary>The folder flushes started early (<see cref="IStepSink.StartFolderSync"/>), until waited for.</summary>
    private Task[]? _folderSyncs;

    public StagingArea(string path, string name, FileStream owner)
    {
        Path = path;
        Name = name;
        _owner = owner;
    }

    public string Path { get; }

    public string Name { get; }

    /// <summary>
    /// Leaves the staging folder in place on dispose: a publish failed after moving folders, so what is
    /// at the staging path may be the only copy of the old version. Recovery settles it from the intent.
    /// </summary>
    public void KeepForRecovery() => _keep = true;

    /// <summary>
    /// A new file in the staging folder, open for writing only: both files are written in order and never read back
    /// (the manifest's hash is taken of the bytes as they are written, <see cref="Format.Lz4Pieces.CopyTo"/>).
    /// </summary>
    public FileStream CreateFile(string name, int bufferSize) =>
        new(System.IO.Path.Combine(Path, name), FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize, FileOptions.None);

    Stream IStepSink.CreateFile(string name, int bufferSize) => CreateFile(name, bufferSize);

    /// <summary>A staged file is durable once flushed to disk.</summary>
    void IStepSink.Seal(Stream file) => ((FileStream)file).Flush(flushToDisk: true);

    /// <summary>
    /// The fsync runs on a pool thread: the data file's flush (a journal commit even for the empty file of a
    /// state without tensors) then overlaps the encoding and writing of the manifest instead of preceding it.
    /// If no pool thread has started it when the writer waits for it, the writer runs it itself: a save does
    /// not depend on a free pool thread (a state without tensors uses none otherwise).
    /// </summary>
    Task IStepSink.StartSeal(Stream file) => PoolOrWaiter.Run(() => ((FileStream)file).Flush(flushToDisk: true));

    /// <summary>
    /// Starts both flushes of <see cref="SyncFolder"/> on pool threads once the step's two files exist, so that they
    /// run beside the manifest's write and fsync instead of after them. A folder's fsync makes durable the entries
    /// it holds when it runs, and both are there; the files' contents are their own fsyncs' business. What the
    /// publish needs is that all four (the two files, the folder, its entry in <c>.staging</c>) have returned
    /// before the rename, which <see cref="SyncFolder"/> waits for; their order among themselves carries nothing,
    /// since a crash before the rename leaves an unpublished staging folder that is swept whatever of it reached
    /// the disk (docs/guarantees.md, "The step's flushes before its publish"). A flush no pool thread has started
    /// when waited for runs on the waiting thread (<see cref="PoolOrWaiter"/>). Not on macOS: there a file's fsync
    /// reaches only the drive's volatile cache, and the folder's F_FULLFSYNC is what flushes that cache for the files
    /// fsynced before it (<see cref="DurableIo.FsyncDirectory"/>), so it must still follow them; SyncFolder then
    /// flushes both folders after the files, as before.
    /// </summary>
    void IStepSink.StartFolderSync()
    {
        if (OperatingSystem.IsMacOS())
        {
            return;
        }

        if (_folderSyncs is not null)
        {
            // A second start would drop flushes no one waits for: the folder could then be deleted under one.
            throw new InvalidOperationException("The staging folder's flushes were already started for this save.");
        }

        var parent = System.IO.Path.GetDirectoryName(Path)!;
        _folderSyncs = [PoolOrWaiter.Run(() => DurableIo.FsyncDirectory(Path)), PoolOrWaiter.Run(() => DurableIo.FsyncDirectory(parent))];
    }

    /// <summary>
    /// Flushes the staging folder's entries and the folder's own entry in <c>.staging</c> (an overwrite without an
    /// atomic exchange moves the old version aside before the staged one goes in, and a power loss between them
    /// must still find the staged folder), or waits for both flushes started by <see cref="IStepSink.StartFolderSync"/>
    /// and throws the first one's failure. Called again after a PINNED marker is added, it flushes anew.
    /// </summary>
    public void SyncFolder()
    {
        if (Interlocked.Exchange(ref _folderSyncs, null) is { } started)
        {
            WaitAll(started);
            return;
        }

        DurableIo.FsyncDirectory(Path);
        DurableIo.FsyncDirectory(System.IO.Path.GetDirectoryName(Path)!);
    }

    /// <summary>Waits for every task (none is left running), then throws the first failure as it was thrown.</summary>
    private static void WaitAll(Task[] tasks)
    {
        ExceptionDispatchInfo? first = null;
        foreach (var task in tasks)
        {
            try
            {
                task.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                // Kept until the other flush has ended: the folder must not be deleted under it.
                first ??= ExceptionDispatchInfo.Capture(e);
            }
        }

        first?.Throw();
    }

    /// <summary>Releases the owner lock; deletes whatever is still at the staging path (an unpublished or displaced step).</summary>
    public void Dispose()
    {
        try
        {
            // A save failing after its folder flushes started (the manifest's write, the data file's fsync) lets
            // them end before the folder goes; their failure loses to the save's own.
            if (Interlocked.Exchange(ref _folderSyncs, null) is { } started)
            {
                try
                {
                    WaitAll(started);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The save is already failing with its own error, which this one must not replace.
                }
            }

            if (_keep)
            {
                return;
            }

            if (Directory.Exists(Path))
            {
                Directory.Delete(Path, recursive: true);
            }

            File.Delete(_owner.Name);
        }
        catch (IOException)
        {
            // Left for the next sweep: the owner lock is released below, so it will be seen as abandoned.
        }
        catch (UnauthorizedAccessException)
        {
        }
        finally
        {
            _owner.Dispose();
        }
    }
}

/// <summary>A step's opened files: the manifest bytes and a handle on the data file.</summary>
internal sealed class StepFiles : IDisposable
{
    public StepFiles(string folder, byte[] manifestFile, SafeFileHandle data, long dataLength)
    {
        Folder = folder;
        ManifestFile = manifestFile;
        Data = data;
        DataLength = dataLength;
    }

    public string Folder { get; }

    public byte[] ManifestFile { get; }

    public SafeFileHandle Data { get; }

    public long DataLength { get; }

    public void Dispose() => Data.Dispose();
}
