using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace DataraxCkpt.Storage;

/// <summary>
/// The engine's one look at whether a file or folder is there. <see cref="FileInfo.Exists"/>, <see cref="File.Exists"/> and
/// <see cref="Directory.Exists(string)"/> answer false when the look itself fails (EIO, EACCES on a parent, ENAMETOOLONG),
/// and every caller that acts on "not there" (repair drops the step's row, a rebuild lists no step, recovery sweeps a
/// parked old version, a set-aside moves a live index's log) then acts on something that is there: session 21 found a
/// repair that unlisted every step when one stat of the checkpoint directory failed. Here "absent" is only what the
/// system says is absent (ENOENT, ENOTDIR); any other failed look is raised, nothing having been changed.
/// </summary>
internal static partial class PathLook
{
    /// <summary>ENOENT and ENOTDIR, the same numbers on Linux and macOS.</summary>
    private const int NoEntry = 2, NotFolder = 20;

    /// <summary>
    /// Whether <paramref name="path"/> is there and not a folder, as <see cref="FileInfo.Exists"/> says (a link counts,
    /// whatever it points to); false only when the system says it is absent.
    /// </summary>
    /// <exception cref="IOException">The look failed (errno in <see cref="IndexIoErrorData.SystemErrno"/>).</exception>
    /// <exception cref="UnauthorizedAccessException">The look was denied (EACCES, EPERM; errno likewise).</exception>
    public static bool File(string path) => File(new FileInfo(path));

    /// <summary><see cref="File(string)"/> on <paramref name="info"/>, which is refreshed when the second look finds the file.</summary>
    public static bool File(FileInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (info.Exists)
        {
            return true;
        }

        if (Attributes(info.FullName) is not { } attributes || attributes.HasFlag(FileAttributes.Directory))
        {
            return false;
        }

        // The first look failed and the second found it: the cached "missing" would fail a later Length.
        info.Refresh();
        return true;
    }

    /// <summary>
    /// Whether <paramref name="path"/> is a folder (or a link to one), as <see cref="Directory.Exists(string)"/> says; false
    /// only when the system says it is absent or it is something else.
    /// </summary>
    /// <exception cref="IOException">The look failed (errno in <see cref="IndexIoErrorData.SystemErrno"/>).</exception>
    /// <exception cref="UnauthorizedAccessException">The look was denied (EACCES, EPERM; errno likewise).</exception>
    public static bool Directory(string path) =>
        System.IO.Directory.Exists(path) || (Attributes(path) is { } attributes && attributes.HasFlag(FileAttributes.Directory));

    /// <summary>The look again, raising what the Exists properties swallow: null when absent (ENOENT, ENOTDIR).</summary>
    private static FileAttributes? Attributes(string path)
    {
        // The usual "no" (a new step's folder before its save) answered without an exception: File.GetAttributes throws
        // FileNotFoundException for it, which every save paid twice (HeldStagingProbeTests: a warm save throws nothing).
        // Any other answer goes on to GetAttributes, which decides as before (an lstat: a link loop is a link, not ELOOP).
        if (!OperatingSystem.IsWindows() && Access(path, 0) != 0 && Marshal.GetLastPInvokeError() is NoEntry or NotFolder)
        {
            return null;
        }

        try
        {
            return System.IO.File.GetAttributes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (UnauthorizedAccessException e)
        {
            // Kept as it is (the type callers report as a permission problem), the errno added.
            if (Errno(e.InnerException ?? e) is { } denied)
            {
                e.Data[IndexIoErrorData.SystemErrno] = denied;
            }

            ExceptionDispatchInfo.Throw(e);
            throw;
        }
        catch (IOException e)
        {
            throw Failed(path, e);
        }
    }

    /// <summary>The error of a look at <paramref name="path"/> the system failed with <paramref name="e"/>.</summary>
    private static IOException Failed(string path, IOException e)
    {
        // .NET raises ENAMETOOLONG as PathTooLongException with an HRESULT, not the errno; a name too long is no disk fault.
        var tooLong = e is PathTooLongException;
        var errno = tooLong ? (OperatingSystem.IsWindows() ? null : OperatingSystem.IsMacOS() ? 63 : 36) : Errno(e);
        var name = errno switch { 5 => ", EIO", 36 or 63 when tooLong => ", ENAMETOOLONG", _ => string.Empty };
        var advice = tooLong
            ? "the path is too long for the file system, so nothing was changed. Use a checkpoint directory with a shorter path."
            : "a look the system failed does not say it is missing, so nothing was changed. Check the disk (the system log, e.g. dmesg) and retry.";
        var failed = new IOException(
            $"Could not look at '{path}' ({e.Message.TrimEnd('.')}{(errno is { } n ? $"; errno {n}{name}" : string.Empty)}): {advice}",
            e);
        if (errno is { } value)
        {
            failed.HResult = value;
            failed.Data[IndexIoErrorData.SystemErrno] = value;
        }

        return failed;
    }

    /// <summary>The errno of a .NET I/O error on Linux and macOS (its HResult); null for an HRESULT (Windows, or .NET's own).</summary>
    internal static int? Errno(Exception e) => !OperatingSystem.IsWindows() && e.HResult > 0 ? e.HResult : null;

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Access(string path, int mode);
}
