namespace DataraxCkpt.Storage;

/// <summary>
/// A cross-process reader/writer lock on a checkpoint directory, held as an advisory lock on
/// <c>&lt;dir&gt;/.lock</c> (flock on Unix, share modes on Windows). The operating system releases it
/// when the holder dies, so a killed process never leaves the directory locked. Exclusive holders
/// change what is published (commit, prune, recovery, pin); shared holders open a step's files.
/// </summary>
internal sealed class DirectoryLock : IDisposable
{
    public const string FileName = ".lock";

    private readonly FileStream? _stream;

    private DirectoryLock(FileStream? stream) => _stream = stream;

    /// <summary>Takes the lock, waiting up to <paramref name="timeout"/> for other holders.</summary>
    /// <exception cref="TimeoutException">Another process held the lock for the whole timeout.</exception>
    public static DirectoryLock Acquire(string directory, bool exclusive, TimeSpan timeout)
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
                return new DirectoryLock(new FileStream(path, FileMode.OpenOrCreate,
                    exclusive ? FileAccess.ReadWrite : FileAccess.Read,
                    exclusive ? FileShare.None : FileShare.ReadWrite, 1, FileOptions.None));
            }
            catch (UnauthorizedAccessException) when (!exclusive)
            {
                // A read-only store (a mounted snapshot) has no writers to exclude.
                return new DirectoryLock(null);
            }
            catch (IOException) when (!exclusive && !File.Exists(path) && IsReadOnly(directory))
            {
                return new DirectoryLock(null);
            }
            catch (IOException) when (DateTime.UtcNow < deadline && File.Exists(path))
            {
                Thread.Sleep(delay);
                delay = Math.Min(delay * 2, 50);
            }
            catch (IOException e) when (File.Exists(path))
            {
                throw new TimeoutException($"Checkpoint directory '{directory}' stayed locked by another process for {timeout.TotalSeconds:0} s. Retry later, or check for a hung process using it.", e);
            }
        }
    }

    private static bool IsReadOnly(string directory)
    {
        try
        {
            return (new DirectoryInfo(directory).Attributes & FileAttributes.ReadOnly) != 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public void Dispose() => _stream?.Dispose();
}
