using System.Runtime.InteropServices;

namespace DataraxCkpt.Storage;

/// <summary>
/// What the engine may do in a checkpoint directory: whether it may write there (readers of a directory
/// that may only be read never write: no index rebuild on disk, no recovery, no lock file created), and
/// the one place where <see cref="SimulatedDenial"/> makes opens fail.
/// </summary>
internal sealed partial class FileSystemAccess
{
    private const int WOk = 2;
    private const int ErrorReadOnlyFileSystem = 30; // EROFS, Linux and macOS

    private readonly SimulatedDenial _denial;
    private readonly long? _simulatedType;

    public FileSystemAccess(SimulatedDenial denial, long? simulatedType = null)
    {
        _denial = denial;
        _simulatedType = simulatedType;
    }

    /// <summary>Real access, no simulation.</summary>
    public static FileSystemAccess Real { get; } = new(SimulatedDenial.None);

    /// <summary>True when this process may create and change entries in <paramref name="directory"/>.</summary>
    public bool CanWrite(string directory)
    {
        if (_denial is SimulatedDenial.ReadOnlyFileSystem or SimulatedDenial.AccessDenied)
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            // No access(2): Windows ACLs are checked by opening. A directory whose read-only attribute is set
            // is still writable there, so the lock file's open (which fails with access denied) decides.
            return true;
        }

        return Access(directory, WOk) == 0;
    }

    /// <summary>Throws what the operating system would for an open of <paramref name="path"/> that creates or writes.</summary>
    public void BeforeOpenForWrite(string path)
    {
        switch (_denial)
        {
            case SimulatedDenial.ReadOnlyFileSystem:
                throw new IOException($"Read-only file system : '{path}'", ErrorReadOnlyFileSystem);
            case SimulatedDenial.AccessDenied:
            case SimulatedDenial.LockFileUnreadable:
                throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.");
        }
    }

    /// <summary>Throws what the operating system would for an open of <paramref name="path"/> that only reads.</summary>
    public void BeforeOpenForRead(string path)
    {
        if (_denial == SimulatedDenial.LockFileUnreadable)
        {
            throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.");
        }
    }

    /// <summary>
    /// The network file system <paramref name="directory"/> (or its nearest existing ancestor) is on — NFS,
    /// SMB or CIFS — or null for a local one. Linux reads statfs's f_type; elsewhere null (documented).
    /// </summary>
    public string? NetworkFileSystem(string directory)
    {
        var type = _simulatedType ?? FileSystemType(directory);
        return type is long t ? (uint)t switch
        {
            0x6969 => "NFS",
            0x517B => "SMB",
            0xFE534D42 => "SMB2",
            0xFF534D42 => "CIFS",
            _ => null,
        } : null;
    }

    private static unsafe long? FileSystemType(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var path = directory;
        while (!System.IO.Directory.Exists(path) && Path.GetDirectoryName(path) is { } parent)
        {
            path = parent;
        }

        // struct statfs starts with f_type (a long): 120 bytes on 64-bit Linux; 256 leaves room for any ABI.
        var buffer = stackalloc byte[256];
        if (StatFs(path, buffer) != 0)
        {
            return null;
        }

        return IntPtr.Size == 8 ? *(long*)buffer : *(int*)buffer;
    }

    [LibraryImport("libc", EntryPoint = "statfs", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int StatFs(string path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Access(string path, int mode);
}
