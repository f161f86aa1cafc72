using System.Runtime.InteropServices;

namespace DataraxCkpt.Storage;

/// <summary>
/// The few system calls .NET does not expose that crash safety needs: fsync of a directory (so a
/// rename or a new entry survives power loss) and an atomic exchange of two directory entries.
/// </summary>
internal static partial class DurableIo
{
    private const int ORdOnly = 0;
    private const int ODirectory = 0x10000; // Linux x86-64 and arm64
    private const uint RenameExchange = 2;
    private const int AtFdCwd = -100;

    /// <summary>Flushes a directory's entries to disk. No-op where the platform journals metadata itself.</summary>
    public static void FsyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return;
        }

        var fd = Open(path, ORdOnly | (OperatingSystem.IsLinux() ? ODirectory : 0));
        if (fd < 0)
        {
            throw new IOException($"Could not open directory '{path}' to flush it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                // EINVAL: the file system cannot sync directories (some network mounts); nothing more can be done.
                if (errno != 22)
                {
                    throw new IOException($"Could not flush directory '{path}' to disk (errno {errno}).");
                }
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>
    /// Atomically swaps two existing directory entries (Linux renameat2 RENAME_EXCHANGE). Returns false
    /// when the platform or file system cannot, so the caller falls back to two renames.
    /// </summary>
    public static bool TryExchange(string a, string b)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            if (RenameAt2(AtFdCwd, a, AtFdCwd, b, RenameExchange) == 0)
            {
                return true;
            }
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }

        var errno = Marshal.GetLastPInvokeError();
        // EINVAL / ENOSYS / EOPNOTSUPP: exchange not supported here.
        if (errno is 22 or 38 or 95)
        {
            return false;
        }

        throw new IOException($"Could not exchange '{a}' and '{b}' (errno {errno}).");
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);
}
