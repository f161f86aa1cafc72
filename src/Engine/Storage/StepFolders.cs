using System.Globalization;
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

    public StepFolders(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    public string StagingRoot => Path.Combine(Directory, StagingFolder);

    public string TrashRoot => Path.Combine(Directory, TrashFolder);

    public string StepPath(long step) => Path.Combine(Directory, step.ToString(CultureInfo.InvariantCulture));

    public bool StepExists(long step) => System.IO.Directory.Exists(StepPath(step));

    /// <summary>Creates the staging folder of a save and takes its owner lock.</summary>
    public StagingArea CreateStaging(long step, string saveId)
    {
        EnsureOwnFolder(StagingRoot);
        var name = StagingName(step, saveId);
        var owner = new FileStream(Path.Combine(StagingRoot, name + ".lock"), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1);
        var path = Path.Combine(StagingRoot, name);
        System.IO.Directory.CreateDirectory(path);
        return new StagingArea(path, name, owner);
    }

    public static string StagingName(long step, string saveId) => string.Create(CultureInfo.InvariantCulture, $"{step}-{saveId}");

    public string StagingPath(string stagingName) => Path.Combine(StagingRoot, stagingName);

    /// <summary>True when the staging folder's owner is gone (its lock can be taken), so it may be swept.</summary>
    public bool IsStagingAbandoned(string stagingName)
    {
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
    /// folder ends up at the staging path, to be swept.
    /// </summary>
    /// <returns>Where the displaced folder went (the staging path or the trash), or null when there was none.</returns>
    public string? Publish(string stagingPath, long step)
    {
        var target = StepPath(step);
        string? displaced = null;
        if (!System.IO.Directory.Exists(target))
        {
            System.IO.Directory.Move(stagingPath, target);
        }
        else if (DurableIo.TryExchange(stagingPath, target))
        {
            displaced = stagingPath;
        }
        else
        {
            // No atomic exchange here: move the old folder aside, then the new one in. A crash between
            // the two renames is repaired by recovery, which rolls the staged step forward.
            displaced = Path.Combine(TrashRoot, Path.GetFileName(stagingPath) + ".old");
            EnsureOwnFolder(TrashRoot);
            System.IO.Directory.Move(target, displaced);
            System.IO.Directory.Move(stagingPath, target);
        }

        DurableIo.FsyncDirectory(Directory);
        return displaced;
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
            System.IO.Directory.Move(target, stagingPath);
            if (displaced is not null)
            {
                System.IO.Directory.Move(displaced, target);
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

        System.IO.Directory.Move(StepPath(step), destination);
        if (flush)
        {
            DurableIo.FsyncDirectory(Directory);
        }
    }

    /// <summary>Deletes everything in the trash; returns what was removed.</summary>
    public List<string> SweepTrash(bool dryRun)
    {
        var removed = new List<string>();
        if (!System.IO.Directory.Exists(TrashRoot) || DropIfLink(TrashRoot, dryRun))
        {
            return removed;
        }

        foreach (var entry in System.IO.Directory.EnumerateFileSystemEntries(TrashRoot))
        {
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
        if (!System.IO.Directory.Exists(Directory))
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
        var dir = new DirectoryInfo(folder);
        if (!dir.Exists)
        {
            throw new InvalidDataException("the step folder is missing");
        }

        if (dir.LinkTarget is not null)
        {
            throw new InvalidDataException("the step folder is a symbolic link; steps must be real folders inside the checkpoint directory");
        }

        var manifestBytes = ReadManifestFile(folder);
        var dataInfo = CheckedFile(folder, StepFormat.DataFile);
        var data = File.OpenHandle(dataInfo.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StepFiles(folder, manifestBytes, data, RandomAccess.GetLength(data));
    }

    public static byte[] ReadManifestFile(string folder)
    {
        var info = CheckedFile(folder, StepFormat.ManifestFile);
        if (info.Length > StepFormat.MaxManifestBytes)
        {
            throw new InvalidDataException($"{StepFormat.ManifestFile} is {info.Length} bytes, beyond the limit of {StepFormat.MaxManifestBytes}");
        }

        return File.ReadAllBytes(info.FullName);
    }

    public bool IsPinned(long step) => File.Exists(Path.Combine(StepPath(step), StepFormat.PinnedMarker));

    /// <summary>Records the pin inside the step folder too, so a rebuilt index keeps it.</summary>
    public void SetPinnedMarker(long step, bool pinned)
    {
        var marker = Path.Combine(StepPath(step), StepFormat.PinnedMarker);
        if (pinned)
        {
            using (var f = new FileStream(marker, FileMode.Create, FileAccess.Write))
            {
                f.Flush(flushToDisk: true);
            }
        }
        else
        {
            File.Delete(marker);
        }

        DurableIo.FsyncDirectory(StepPath(step));
    }

    private static FileInfo CheckedFile(string folder, string name)
    {
        var info = new FileInfo(Path.Combine(folder, name));
        if (!info.Exists)
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
internal sealed class StagingArea : IDisposable
{
    private readonly FileStream _owner;

    public StagingArea(string path, string name, FileStream owner)
    {
        Path = path;
        Name = name;
        _owner = owner;
    }

    public string Path { get; }

    public string Name { get; }

    public FileStream CreateFile(string name, int bufferSize) =>
        new(System.IO.Path.Combine(Path, name), FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize, FileOptions.None);

    /// <summary>
    /// Flushes the staging folder's entries, after its files were flushed, then the folder's own entry in
    /// <c>.staging</c>: an overwrite without an atomic exchange moves the old version aside before the
    /// staged one goes in, and a power loss between them must still find the staged folder.
    /// </summary>
    public void SyncFolder()
    {
        DurableIo.FsyncDirectory(Path);
        DurableIo.FsyncDirectory(System.IO.Path.GetDirectoryName(Path)!);
    }

    /// <summary>Releases the owner lock; deletes whatever is still at the staging path (an unpublished or displaced step).</summary>
    public void Dispose()
    {
        try
        {
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
