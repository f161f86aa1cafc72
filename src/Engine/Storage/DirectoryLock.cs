namespace DataraxCkpt.Storage;

/// <summary>
/// A cross-process reader/writer lock on a checkpoint directory, held as an advisory lock on
/// <c>&lt;dir&gt;/.lock</c> (flock on Unix, share modes on Windows). The operating system releases it
/// when the holder dies, so a killed process never leaves the directory locked. Exclusive holders
/// change what is published (commit, prune, recovery, pin); shared holders open a step's files.
/// Only contention is waited for: any other failure to open the lock file (a read-only file system,
/// no permission, an I/O error, too many open files) is raised at once with its cause.
/// </summary>
internal sealed class DirectoryLock : IDisposable
{
    public const string FileName = ".lock";

    private const int ErrorReadOnlyFileSystem = 30; // EROFS on Linux and macOS

    private readonly FileStream? _stream;

    private DirectoryLock(FileStream? stream) => _stream = stream;

    /// <summary>Takes the lock, waiting up to <paramref name="timeout"/> for other holders.</summary>
    /// <exception cref="TimeoutException">Another process held the lock for the whole timeout.</exception>
    public static DirectoryLock Acquire(string directory, bool exclusive, TimeSpan timeout) => Acquire(directory, exclusive, timeout, FileSystemAccess.Real);

    /// <summary>Takes the lock, waiting up to <paramref name="timeout"/> for other holders.</summary>
    /// <exception cref="TimeoutException">Another process held the lock for the whole timeout.</exception>
    /// <exception cref="IOException">The lock file cannot be opened (read-only file system, I/O error): raised at once.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to open the lock file: raised at once.</exception>
    public static DirectoryLock Acquire(string directory, bool exclusive, TimeSpan timeout, FileSystemAccess access)
    {
        var path = Path.Combine(directory, FileName);
        // TimeSpan.MaxValue (and anything past the calendar's end) means "wait as long as it takes", not an overflow.
        var now = DateTime.UtcNow;
        var deadline = timeout >= DateTime.MaxValue - now ? DateTime.MaxValue : now + timeout;
        var delay = 1;
        while (true)
        {
            try
            {
                return exclusive ? new DirectoryLock(OpenExclusive(directory, path, access)) : OpenShared(path, access);
            }
            catch (IOException e) when (IsContention(e))
            {
                if (DateTime.UtcNow >= deadline)
                {
                    throw new TimeoutException($"Checkpoint directory '{directory}' stayed locked by another process for {timeout.TotalSeconds:0} s. Retry later, or check for a hung process using it.", e);
                }

                Thread.Sleep(delay);
                delay = Math.Min(delay * 2, 50);
            }
        }
    }

    private static FileStream OpenExclusive(string directory, string path, FileSystemAccess access)
    {
        try
        {
            access.BeforeOpenForWrite(path);
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException e) when (e.HResult == ErrorReadOnlyFileSystem)
        {
            throw new IOException($"Checkpoint directory '{directory}' is on a read-only file system ({e.Message}). Saving, pruning, pinning and repairing need write access; restore, list, verify and compare work read-only.", e)
            {
                HResult = e.HResult,
            };
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"This process has no write access to checkpoint directory '{directory}' or its lock file '{path}' ({e.Message}). Saving, pruning, pinning and repairing need write access; restore, list, verify and compare work read-only.", e);
        }
        catch (IOException e) when (!IsContention(e) && e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new IOException($"Could not open the lock file '{path}' of checkpoint directory '{directory}': {e.Message}", e) { HResult = e.HResult };
        }
    }

    private static DirectoryLock OpenShared(string path, FileSystemAccess access)
    {
        try
        {
            access.BeforeOpenForRead(path);
            return new DirectoryLock(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None));
        }
        catch (FileNotFoundException)
        {
            // No writer has used this directory yet: create the lock file below, when allowed.
        }
        catch (UnauthorizedAccessException e)
        {
            // Reading unlocked could return a step a writer is replacing: refuse, and say how to fix it.
            throw new UnauthorizedAccessException($"The lock file '{path}' cannot be opened for reading ({e.Message}). Readers lock it to keep writers out while they open a step; give every user of the directory read access to it, then retry.", e);
        }
        catch (IOException e) when (!IsContention(e) && e is not DirectoryNotFoundException)
        {
            throw new IOException($"Could not open the lock file '{path}': {e.Message}", e) { HResult = e.HResult };
        }

        try
        {
            access.BeforeOpenForWrite(path);
            return new DirectoryLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None));
        }
        catch (Exception e) when (e is UnauthorizedAccessException || (e is IOException && e.HResult == ErrorReadOnlyFileSystem))
        {
            // No lock file, and none may be created here: no writer of this engine has ever used the
            // directory through this path (every writer creates it first), so there is nobody to exclude.
            return new DirectoryLock(null);
        }
        catch (IOException e) when (!IsContention(e) && e is not DirectoryNotFoundException)
        {
            throw new IOException($"Could not create the lock file '{path}': {e.Message}", e) { HResult = e.HResult };
        }
    }

    /// <summary>
    /// True only for "another holder has it": EWOULDBLOCK from flock on Unix (11 on Linux, 35 on macOS and
    /// the BSDs), a sharing or lock violation on Windows. Everything else is a real failure.
    /// </summary>
    private static bool IsContention(IOException e)
    {
        if (e.GetType() != typeof(IOException))
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            return (e.HResult & 0xFFFF) is 32 or 33;
        }

        return e.HResult == (OperatingSystem.IsLinux() ? 11 : 35);
    }

    public void Dispose() => _stream?.Dispose();
}
