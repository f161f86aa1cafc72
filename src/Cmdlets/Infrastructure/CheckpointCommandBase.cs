using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using DataraxCkpt.Commands.Errors;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// What every DataraxCkpt cmdlet shares: one <see cref="CheckpointHandler"/> per invocation (created in
/// BeginProcessing, disposed at the end or on Ctrl+C), checkpoint paths resolved through the session's
/// provider, engine log lines as -Verbose, progress as Write-Progress, and engine failures as ErrorRecords.
/// </summary>
public abstract class CheckpointCommandBase : PSCmdlet, IDisposable
{
    /// <summary>Parameter set of the wildcard -Path.</summary>
    protected const string PathSet = "Path";

    /// <summary>Parameter set of -LiteralPath (also bound from PSPath or Directory of piped objects).</summary>
    protected const string LiteralPathSet = "LiteralPath";

    private object? _handler;
    private CmdletProgressReporter? _progress;
    private CmdletVerboseLog? _log;
    private int _disposed;
    private volatile bool _inEngineCall;
    private volatile bool _stopRequested;

    // Cancelled by StopProcessing (Ctrl+C); engine calls take its token and stop between chunks or steps.
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Cancelled when the user stops the pipeline (Ctrl+C); pass it to every long engine call.</summary>
    private protected CancellationToken StopToken => _stop.Token;

    /// <summary>The engine handler of this invocation.</summary>
    private protected CheckpointHandler Handler =>
        (CheckpointHandler?)_handler ?? throw new InvalidOperationException("The checkpoint handler is not open.");

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        _progress = new CmdletProgressReporter(this, activityId: GetHashCode() & 0x7FFFFFFF);
        _log = new CmdletVerboseLog(this);
        try
        {
            _handler = OpenHandler(_progress, _log, LockTimeoutSetting);
        }
        catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException or TypeInitializationException)
        {
            // Nothing can go on without the engine; say so once, with the reason.
            ThrowTerminatingError(new ErrorRecord(ex, "EngineLoadFailed", ErrorCategory.ResourceUnavailable, null));
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing() => CloseHandler();

    /// <inheritdoc />
    protected override void StopProcessing()
    {
        // Ctrl+C arrives on another thread. Closing the handler under a running save would pull resources
        // from under it, so a call in flight closes the handler itself when it returns (see TryEngine).
        _stopRequested = true;
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The command already finished.
        }

        if (!_inEngineCall)
        {
            CloseHandler();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        CloseHandler();
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    // Kept out of BeginProcessing so that a missing engine surfaces as an exception we can catch
    // (the JIT resolves engine types when it compiles the method that names them).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static object OpenHandler(CmdletProgressReporter progress, CmdletVerboseLog log, TimeSpan? lockTimeout) =>
        new CheckpointHandler(lockTimeout is { } timeout
            ? new CheckpointOptions { Log = log.Write, Progress = progress, LockTimeout = timeout }
            : new CheckpointOptions { Log = log.Write, Progress = progress });

    /// <summary>The -LockTimeout of cmdlets that write; null keeps the engine's default.</summary>
    private protected virtual TimeSpan? LockTimeoutSetting => null;

    /// <summary>
    /// Reports each directory that does not exist as DirectoryNotFound / ObjectNotFound (as Get-Item does) and
    /// returns the rest, so that a mistyped path is never read as "no checkpoints". Existence is asked of the
    /// engine, the same check its reads make (a local folder; a remote container or prefix with at least one
    /// blob): the provider's answer cost about 2 ms of CPU per directory, as much as a small restore
    /// (docs/performance-notes.md, round 28, and session 11's paths section). Every directory is checked before
    /// the caller reads any, so that -ErrorAction Stop on a mistyped one stops the command before it writes to
    /// the pipeline or into an -Into state.
    /// </summary>
    /// <param name="directories">Resolved directories (<see cref="ResolveDirectories"/>): full paths or remote locations.</param>
    private protected IReadOnlyList<string> ExistingDirectories(IReadOnlyList<string> directories)
    {
        var result = new List<string>(directories.Count);
        foreach (var directory in directories)
        {
            if (TryEngine(() => Handler.ThrowIfMissing(directory), directory))
            {
                result.Add(directory);
            }
        }

        return result;
    }

    /// <summary>Stops the command with an argument error: a PSArgumentException, category InvalidArgument.</summary>
    private protected void ThrowArgumentError(string errorId, string message, string? parameterName) =>
        ThrowTerminatingError(new ErrorRecord(new PSArgumentException(message, parameterName ?? string.Empty), errorId, ErrorCategory.InvalidArgument, null));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CloseHandler()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _handler is CheckpointHandler handler)
        {
            handler.Dispose();
        }
    }

    /// <summary>
    /// Runs one engine call for one input. Engine failures become non-terminating errors, so one bad
    /// pipeline item does not stop the rest; -ErrorAction Stop makes them terminating as usual.
    /// </summary>
    /// <returns>True when the call succeeded.</returns>
    private protected bool TryEngine(Action call, object? target)
    {
        if (_stopRequested)
        {
            // Between steps of a multi-step command: stop before starting the next one.
            throw new PipelineStoppedException();
        }

        _inEngineCall = true;
        try
        {
            call();
            return true;
        }
        catch (OperationCanceledException) when (_stopRequested)
        {
            // The engine stopped at a chunk or step boundary and left the store as a crash would.
            throw new PipelineStoppedException();
        }
        catch (Exception ex) when (CheckpointErrorRecords.IsReportable(ex))
        {
            WriteError(CheckpointErrorRecords.From(ex, target));
            return false;
        }
        finally
        {
            _inEngineCall = false;
            if (_stopRequested)
            {
                CloseHandler();
            }
            else
            {
                _progress?.Complete();
                _log?.Flush();
            }
        }
    }

    /// <summary>Shows "activity: step i+1 of count" for commands that work through several steps.</summary>
    private protected void ReportStep(string activity, string directory, long step, int index, int count) =>
        _progress?.ReportStep(activity, directory, step, index, count);

    /// <summary>Completes the step progress of <see cref="ReportStep"/>.</summary>
    private protected void CompleteSteps() => _progress?.CompleteSteps();

    /// <summary>
    /// The directories named by -Path (wildcards expanded) or -LiteralPath, each resolved once through the
    /// session's provider, against the session's current location, never the process's: full file-system paths,
    /// or remote locations as typed. A path that does not resolve to one is reported (InvalidPath,
    /// NotAFileSystemPath, UncPathNotSupported, PathNotFound) and left out. A directory that does not exist yet
    /// resolves to its full path; whether it must exist is the command's call (<see cref="ExistingDirectories"/>).
    /// </summary>
    private protected IReadOnlyList<string> ResolveDirectories(string[]? paths, string[]? literalPaths)
    {
        var result = new List<string>();
        foreach (var literal in literalPaths ?? Array.Empty<string>())
        {
            if (ResolveNamed(literal, stop: false) is string full)
            {
                result.Add(full);
            }
        }

        foreach (var path in paths ?? Array.Empty<string>())
        {
            if (CheckpointLocation.IsRemote(path) || !WildcardPattern.ContainsWildcardCharacters(path))
            {
                // Blob names are not matched: '[' and '*' in a remote location are taken literally. A local -Path is a
                // pattern even without wildcards: its backticks escape ('run`[1`]', as piped records bind) and are no part of the name.
                if (ResolveNamed(path, stop: false, pattern: true) is string full)
                {
                    result.Add(full);
                }
            }
            else if (ResolveMatches(path, stop: false) is { } matches)
            {
                result.AddRange(matches);
            }
        }

        return result;
    }

    /// <summary>
    /// The one directory a command writes to (Save-Checkpoint), resolved once through the provider like
    /// <see cref="ResolveDirectories"/>, with one difference: a wildcard that matches no existing item names a
    /// folder still to be created (<c>./run[1]</c>), and every problem stops the command, since it has nothing else
    /// to do. Several matches are AmbiguousPath.
    /// </summary>
    /// <param name="path">The path as typed.</param>
    /// <param name="literal">-LiteralPath: wildcard characters are part of the name.</param>
    private protected string ResolveDestination(string path, bool literal)
    {
        if (!literal && !CheckpointLocation.IsRemote(path) && WildcardPattern.ContainsWildcardCharacters(path)
            && ResolveMatches(path, stop: true) is { Count: > 0 } matches)
        {
            if (matches.Count > 1)
            {
                ThrowTerminatingError(CheckpointErrorRecords.Module("AmbiguousPath", ErrorCategory.InvalidArgument,
                    $"'{path}' matches {matches.Count} directories; a save needs exactly one.", path));
            }

            return matches[0];
        }

        return ResolveNamed(path, stop: true, pattern: !literal)!;
    }

    /// <summary>A location as messages may show it: a remote URL without its SAS, a local path as it is.</summary>
    private protected static string Shown(string location) => RemoteLocations.Shown(location);

    /// <summary>
    /// A remote location goes to the engine exactly as typed, never through the file-system provider. With no
    /// credentials in the environment the command stops at once: every other location of the same command
    /// would fail the same way, and the message says which variables to set (never a key or SAS).
    /// </summary>
    private string RemoteLocation(string location)
    {
        if (RemoteLocations.MissingCredentials(location) is string why)
        {
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(why), "RemoteCredentialsMissing", ErrorCategory.AuthenticationError, Shown(location)));
        }

        if (LockTimeoutSetting is not null && MyInvocation.BoundParameters.ContainsKey("LockTimeout"))
        {
            WriteVerbose($"-LockTimeout has no effect on '{Shown(location)}': a remote store takes no lock to wait for (commits are conditional writes).");
        }

        return location;
    }

    /// <summary>
    /// One path taken as a name: a remote location as typed, else the provider's path for it (one call, which
    /// reads nothing from the disk). Null after reporting a path that names no local full path; with
    /// <paramref name="stop"/>, the report stops the command (the provider's DriveNotFound / ProviderNotFound
    /// records as the provider raised them).
    /// </summary>
    /// <param name="path">The path as typed; errors name it.</param>
    /// <param name="stop">Problems stop the command.</param>
    /// <param name="pattern">
    /// A local -Path: backticks escape the next character (<c>run`[1`]</c> is the folder run[1], as for Get-Item -Path),
    /// so the name is the unescaped path; -LiteralPath keeps every character.
    /// </param>
    private string? ResolveNamed(string path, bool stop, bool pattern = false)
    {
        if (CheckpointLocation.IsRemote(path))
        {
            return RemoteLocation(path);
        }

        var named = pattern && path.Contains('`', StringComparison.Ordinal) ? WildcardPattern.Unescape(path) : path;

        if (IsUncOutsideWindows(path))
        {
            // Asked first: the provider would take it for /server/share (New-Item creates that) or leave it as it is.
            return UncPathNotSupported(path, stop);
        }

        string full;
        ProviderInfo provider;
        try
        {
            full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(named, out provider, out _);
        }
        catch (Exception ex) when (!stop && ex is ProviderNotFoundException or System.Management.Automation.DriveNotFoundException or NotSupportedException or ArgumentException)
        {
            WriteError(new ErrorRecord(ex, "InvalidPath", ErrorCategory.InvalidArgument, path));
            return null;
        }

        if (!IsFileSystem(provider, path, stop))
        {
            return null;
        }

        // The engine takes a path that is not fully qualified relative to the process's current directory, never
        // the session's location; only a full path may reach it (a drive rooted at \\server\share on Linux leaves one).
        return System.IO.Path.IsPathFullyQualified(full) ? full : NotAFullPath(path, full, stop);
    }

    /// <summary>
    /// Reports a path the provider left unqualified: a network path (a drive rooted at \\server\share outside
    /// Windows) is UncPathNotSupported; anything else (FileSystem::run, which the provider does not take relative to
    /// the current location) is InvalidPath, since telling the user to mount a share they never named misleads.
    /// </summary>
    private string? NotAFullPath(string path, string resolved, bool stop)
    {
        if (resolved.StartsWith(@"\\", StringComparison.Ordinal) || resolved.StartsWith("//", StringComparison.Ordinal))
        {
            return UncPathNotSupported(path, stop);
        }

        var record = CheckpointErrorRecords.Module("InvalidPath", ErrorCategory.InvalidArgument,
            $"'{path}' resolves to '{resolved}', which is not a full path: a provider-qualified path (FileSystem::...) is not " +
            "taken relative to the current location, so nothing was read or written. Give a full path, or a path relative to " +
            "the current location without the provider name (./run).", path);
        if (stop)
        {
            ThrowTerminatingError(record);
        }

        WriteError(record);
        return null;
    }

    /// <summary>
    /// The existing file-system items a wildcard path matches (one provider call); none is an empty list, as for
    /// Get-Item. Null after reporting a path that cannot be matched (a parent folder that does not exist is
    /// PathNotFound, except with <paramref name="stop"/>, where it is a folder still to be created: empty).
    /// </summary>
    private IReadOnlyList<string>? ResolveMatches(string path, bool stop)
    {
        if (IsUncOutsideWindows(path))
        {
            // The provider matches \\server\share\* against /server/share on Linux.
            _ = UncPathNotSupported(path, stop);
            return null;
        }

        Collection<string> resolved;
        ProviderInfo provider;
        try
        {
            resolved = SessionState.Path.GetResolvedProviderPathFromPSPath(path, out provider);
        }
        catch (ItemNotFoundException ex)
        {
            if (stop)
            {
                return Array.Empty<string>();
            }

            WriteError(new ErrorRecord(ex, "PathNotFound", ErrorCategory.ObjectNotFound, path));
            return null;
        }
        catch (Exception ex) when ((!stop && ex is ProviderNotFoundException or System.Management.Automation.DriveNotFoundException or NotSupportedException)
            || ex is ArgumentException)
        {
            // As ResolveNamed reports the same path without a wildcard: one error for this path, the others are still read
            // (a save stops on the provider's DriveNotFound / ProviderNotFound as raised, and on this InvalidPath).
            var record = new ErrorRecord(ex, "InvalidPath", ErrorCategory.InvalidArgument, path);
            if (stop)
            {
                ThrowTerminatingError(record);
            }

            WriteError(record);
            return null;
        }

        if (!IsFileSystem(provider, path, stop))
        {
            return null;
        }

        // Only full paths reach the engine (see ResolveNamed); a match the provider leaves unqualified is reported.
        foreach (var match in resolved)
        {
            if (!System.IO.Path.IsPathFullyQualified(match))
            {
                _ = NotAFullPath(path, match, stop);
                return null;
            }
        }

        return resolved;
    }

    /// <summary>
    /// A Windows network path (<c>\\server\share</c> or <c>//server/share</c>, also <c>\\?\</c> and <c>\\.\</c>, or
    /// provider-qualified) typed where the file system has no such paths: a share is reached there through the folder it
    /// is mounted on. Three or more leading slashes are the root on every system, a local path.
    /// </summary>
    internal static bool IsUncOutsideWindows(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        // FileSystem::\\server\share (also Microsoft.PowerShell.Core\FileSystem::) is the same path; another provider's is not a file path.
        var span = path.AsSpan();
        var qualifier = span.IndexOf("::", StringComparison.Ordinal);
        if (qualifier >= 0 && span[..qualifier].EndsWith("FileSystem", StringComparison.OrdinalIgnoreCase))
        {
            span = span[(qualifier + 2)..];
        }

        // The provider takes / and \ alike on Linux, and Windows reads //server/share as the share \\server\share: both
        // spellings (and mixed ones) name a share the user means, never /server/share on the local disk.
        return span.Length >= 2 && IsSeparator(span[0]) && IsSeparator(span[1])
            && (span[0] == '\\' || span[1] == '\\' || span.Length == 2 || !IsSeparator(span[2]));

        static bool IsSeparator(char c) => c is '/' or '\\';
    }

    private string? UncPathNotSupported(string path, bool stop)
    {
        var record = CheckpointErrorRecords.Module("UncPathNotSupported", ErrorCategory.InvalidArgument,
            $"'{path}' is a Windows network (UNC) path; on Linux and macOS it names no network share, so nothing was read or written. " +
            "Mount the share and give the folder it is mounted on (for example, after 'mount -t cifs //server/share /mnt/share', " +
            "use /mnt/share/...), or run the command on Windows.", path);
        if (stop)
        {
            ThrowTerminatingError(record);
        }

        WriteError(record);
        return null;
    }

    private bool IsFileSystem(ProviderInfo provider, string path, bool stop)
    {
        if (string.Equals(provider.Name, "FileSystem", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var record = CheckpointErrorRecords.Module("NotAFileSystemPath", ErrorCategory.InvalidArgument,
            $"'{path}' is a {provider.Name} path; checkpoint directories live in the file system.", path);
        if (stop)
        {
            ThrowTerminatingError(record);
        }

        WriteError(record);
        return false;
    }
}
