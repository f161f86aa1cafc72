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

    /// <summary>The engine handler of this invocation.</summary>
    /// <summary>Cancelled when the user stops the pipeline (Ctrl+C); pass it to every long engine call.</summary>
    private protected CancellationToken StopToken => _stop.Token;

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
    /// Reports each directory that does not exist as ObjectNotFound (as Get-Item does) and returns the rest,
    /// so that a mistyped path is never read as "no checkpoints". Existence is asked of the provider, or of
    /// the store for a remote location.
    /// </summary>
    /// <param name="directories">Resolved directories (<see cref="ResolveDirectories"/>).</param>
    /// <param name="engineReportsMissingLocal">
    /// The command's engine call itself refuses a missing local directory with
    /// <see cref="CheckpointDirectoryNotFoundException"/> (which <see cref="TryEngine"/> reports as this method
    /// would): local directories are then passed on unasked, since the provider's answer costs about 2 ms of
    /// CPU per call, as much as a small restore (docs/performance-notes.md, round 28). Remote locations are
    /// still asked of the store, where a prefix with no blob must read as missing, not empty; and so is the provider
    /// for a local path that is not fully qualified, and for every directory when there are several.
    /// </param>
    private protected IReadOnlyList<string> ExistingDirectories(IReadOnlyList<string> directories, bool engineReportsMissingLocal = false)
    {
        var result = new List<string>(directories.Count);
        foreach (var directory in directories)
        {
            if (CheckpointLocation.IsRemote(directory))
            {
                // No provider item: the store answers (one listing request). A container or prefix with no blob
                // is a missing directory, reported with the same error, since listing it would read as empty.
                var exists = false;
                if (TryEngine(() => exists = Handler.IsCheckpointDirectory(directory), directory))
                {
                    if (exists)
                    {
                        result.Add(directory);
                    }
                    else
                    {
                        WriteError(CheckpointErrorRecords.From(new CheckpointDirectoryNotFoundException(Shown(directory)), directory));
                    }
                }
            }
            // Only a single full path is left to the engine: the provider leaves some paths unqualified (\\server\share
            // on Linux), which the engine would take relative to the process's current directory, never the session's;
            // and of several directories every one is checked before any is restored, so that -ErrorAction Stop on a
            // mistyped one stops the command before it writes anything to the pipeline or into an -Into state.
            else if ((engineReportsMissingLocal && directories.Count == 1 && System.IO.Path.IsPathFullyQualified(directory))
                || SessionState.InvokeProvider.Item.IsContainer(WildcardPattern.Escape(directory)))
            {
                result.Add(directory);
            }
            else
            {
                WriteError(CheckpointErrorRecords.From(new CheckpointDirectoryNotFoundException(directory), directory));
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

    /// <summary>
    /// The file-system directories named by -Path (wildcards expanded) or -LiteralPath, resolved against
    /// the session's current location, never the process's. A directory that does not exist yet resolves
    /// to its full path, so that the engine can create it (save) or report it missing (restore).
    /// </summary>
    /// <summary>Shows "activity: step i+1 of count" for commands that work through several steps.</summary>
    private protected void ReportStep(string activity, string directory, long step, int index, int count) =>
        _progress?.ReportStep(activity, directory, step, index, count);

    /// <summary>Completes the step progress of <see cref="ReportStep"/>.</summary>
    private protected void CompleteSteps() => _progress?.CompleteSteps();

    private protected IReadOnlyList<string> ResolveDirectories(string[]? paths, string[]? literalPaths)
    {
        var result = new List<string>();
        foreach (var literal in literalPaths ?? Array.Empty<string>())
        {
            if (CheckpointLocation.IsRemote(literal))
            {
                result.Add(RemoteLocation(literal));
            }
            else if (TryResolveUnresolved(literal, out var full))
            {
                result.Add(full);
            }
        }

        foreach (var path in paths ?? Array.Empty<string>())
        {
            if (CheckpointLocation.IsRemote(path))
            {
                // Blob names are not matched: '[' and '*' in a remote location are taken literally.
                result.Add(RemoteLocation(path));
            }
            else if (WildcardPattern.ContainsWildcardCharacters(path))
            {
                result.AddRange(ResolveWildcard(path));
            }
            else if (TryResolveUnresolved(path, out var full))
            {
                result.Add(full);
            }
        }

        return result;
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

    private IEnumerable<string> ResolveWildcard(string path)
    {
        Collection<string> resolved;
        ProviderInfo provider;
        try
        {
            resolved = SessionState.Path.GetResolvedProviderPathFromPSPath(path, out provider);
        }
        catch (ItemNotFoundException ex)
        {
            WriteError(new ErrorRecord(ex, "PathNotFound", ErrorCategory.ObjectNotFound, path));
            return Array.Empty<string>();
        }

        if (!IsFileSystem(provider, path))
        {
            return Array.Empty<string>();
        }

        return resolved;
    }

    private bool TryResolveUnresolved(string path, out string full)
    {
        full = string.Empty;
        try
        {
            full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
            return IsFileSystem(provider, path);
        }
        catch (Exception ex) when (ex is ProviderNotFoundException or System.Management.Automation.DriveNotFoundException or NotSupportedException or ArgumentException)
        {
            WriteError(new ErrorRecord(ex, "InvalidPath", ErrorCategory.InvalidArgument, path));
            return false;
        }
    }

    private bool IsFileSystem(ProviderInfo provider, string path)
    {
        if (string.Equals(provider.Name, "FileSystem", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        WriteError(CheckpointErrorRecords.Module("NotAFileSystemPath", ErrorCategory.InvalidArgument,
            $"'{path}' is a {provider.Name} path; checkpoint directories live in the file system.", path));
        return false;
    }
}
