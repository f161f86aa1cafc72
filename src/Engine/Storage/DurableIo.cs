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
    private const int FFullFsync = 51; // macOS <sys/fcntl.h>
    private const uint MoveFileWriteThrough = 0x8;
    private const uint MoveFileReplaceExisting = 0x1;

    /// <summary>
    /// Flushes a file's data to stable storage: fsync on Linux, fsync then F_FULLFSYNC on macOS,
    /// FlushFileBuffers on Windows (what <see cref="FileStream.Flush(bool)"/> calls there).
    /// </summary>
    public static void FlushFile(FileStream file)
    {
        file.Flush(flushToDisk: true);
        if (OperatingSystem.IsMacOS())
        {
            _ = Fcntl((int)file.SafeFileHandle.DangerousGetHandle(), FFullFsync, 0);
        }
    }

    /// <summary>
    /// Renames a directory. On Windows with MOVEFILE_WRITE_THROUGH, so the rename is on disk when the
    /// call returns (Windows cannot flush a directory; this is what stands in for it). Elsewhere a plain
    /// rename, made durable by <see cref="FsyncDirectory"/> of its parent.
    /// </summary>
    public static void MoveDirectory(string source, string destination) => Move(source, destination, replace: false, directory: true);

    /// <summary>Renames a file (replacing the destination when asked), write-through on Windows as above.</summary>
    public static void MoveFile(string source, string destination, bool replace) => Move(source, destination, replace, directory: false);

    private static void Move(string source, string destination, bool replace, bool directory)
    {
        if (OperatingSystem.IsWindows())
        {
            if (!MoveFileEx(source, destination, MoveFileWriteThrough | (replace ? MoveFileReplaceExisting : 0)))
            {
                throw new IOException($"Could not move '{source}' to '{destination}' (Windows error {Marshal.GetLastPInvokeError()}).");
            }

            return;
        }

        if (directory)
        {
            Directory.Move(source, destination);
        }
        else
        {
            File.Move(source, destination, replace);
        }
    }

    /// <summary>Flushes a directory's entries to disk. No-op on Windows, whose renames are write-through instead (<see cref="MoveDirectory"/>).</summary>
    public static void FsyncDirectory(string path)
    {
        Faults.FaultInjector.Hit("fsync.directory");
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
            // macOS: fsync only reaches the drive's volatile cache; F_FULLFSYNC flushes that cache,
            // which also makes durable every file fsynced before it (the step's data and manifest).
            if (OperatingSystem.IsMacOS() && Fcntl(fd, FFullFsync, 0) == 0)
            {
                return;
            }

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

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int cmd, int arg);

    [LibraryImport("kernel32.dll", EntryPoint = "MoveFileExW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool MoveFileEx(string existingFileName, string newFileName, uint flags);

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);
}
