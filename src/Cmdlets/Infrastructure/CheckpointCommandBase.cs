using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using DataraxCkpt.Commands.Conversion;
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

    /// <summary>
    /// No -Path or -LiteralPath was given on the command line: the paths this invocation works on came from the pipeline
    /// (<c>Get-ChildItem ./runs | Remove-Checkpoint -Keep 3</c>), where files, links and folders pruned earlier in the
    /// same run pass along with checkpoint directories (see <see cref="IsExistingDirectory"/>).
    /// </summary>
    private protected bool PathsFromPipeline { get; private set; }

    /// <summary>The engine handler of this invocation.</summary>
    private protected CheckpointHandler Handler =>
        (CheckpointHandler?)_handler ?? throw new InvalidOperationException("The checkpoint handler is not open.");

    /// <inheritdoc />
    protected sealed override void BeginProcessing() => Guarded(Begin);

    /// <inheritdoc />
    protected sealed override void ProcessRecord() => Guarded(Process);

    /// <inheritdoc />
    protected sealed override void EndProcessing() => Guarded(End);

    /// <summary>
    /// Runs one stage of the command so that no exception leaves it carrying a secret: whatever escapes (a failure the
    /// cmdlets do not report as an error record, an AggregateException, a NullReferenceException, an SDK's
    /// RequestFailedException, one thrown outside an engine call) is shown by the one rule of
    /// <see cref="CheckpointErrorRecords.Redacted"/>: its message, inner exceptions and Data redacted, the same type or a
    /// stand-in of the same base a script catches. It still stops the command whatever -ErrorAction says, as an escaping
    /// exception does, under the id PowerShell gives one (the full name of the type thrown; for PowerShell's own
    /// exceptions that carry an error record, that record's id and category). A script's <c>throw</c> from further down the
    /// pipeline passes on as the script's error, as it would without a secret (<see cref="OwnRecords.Thrown"/>). Flow
    /// control and any exception that holds no secret (a stop, a terminating error record the module already redacted)
    /// pass as they are.
    /// </summary>
    private void Guarded(Action stage)
    {
        try
        {
            stage();
        }
        catch (Exception ex) when (Escaping(ex) is { } shown)
        {
            if (ex is RuntimeException thrown && OwnRecords.Thrown(thrown, shown) is { } script)
            {
                // A script's throw downstream passes the cmdlet as the script's error, not this cmdlet's (redact18).
                ForgetOriginal(ex, new ErrorRecord(script.ErrorRecord, script));
                throw script;
            }

            var record = ex is IContainsErrorRecord { ErrorRecord: { } own }
                ? OwnRecords.ForCmdlet(ex, own, shown)
                : new ErrorRecord(shown, ExceptionRedaction.OriginalTypeOf(ex), ErrorCategory.NotSpecified, null);
            // A downstream throw of a kind of RuntimeException (ItemNotFoundException) comes this way, already in $Error and
            // its command's -ErrorVariable (SecretRedaction.Tests: 'throw of an ItemNotFoundException with ForEach-Object').
            ForgetOriginal(ex, record);
            ThrowTerminatingError(record);
        }
    }

    /// <summary>
    /// Replaces in <c>$Error</c> the record of <paramref name="original"/> that a command further down the pipeline put
    /// there before the exception reached this cmdlet (ForEach-Object does for a script's throw), by
    /// <paramref name="shown"/>: <c>$Error[1]</c> still quoted the secret the guard had redacted (redact18). The same
    /// record went into the list of that command's <c>-ErrorVariable</c> (ForEach-Object's, an advanced function's), which
    /// this cmdlet is not told the name of: every list a variable visible here holds is looked through (attack on
    /// redact18), and every list a variable of the same name holds in the scopes above, where a nearer variable hides it
    /// (<see cref="HiddenVariables"/>: session 19).
    /// </summary>
    private void ForgetOriginal(Exception original, ErrorRecord shown)
    {
        var own = (original as IContainsErrorRecord)?.ErrorRecord?.Exception;
        foreach (var errors in ErrorLists())
        {
            try
            {
                ForgetIn(errors, original, own, shown);
            }
            catch (Exception e) when (e is not OutOfMemoryException and not StackOverflowException)
            {
                // A list changed under the scan (another runspace's thread) must not replace the error being reported, nor
                // stop the other lists from being cleaned (final review of session 18).
            }
        }
    }

    private static void ForgetIn(System.Collections.IList errors, Exception original, Exception? own, ErrorRecord shown)
    {
        for (var i = 0; i < errors.Count; i++)
        {
            var exception = errors[i] switch
            {
                ErrorRecord record => record.Exception,
                Exception e => e,
                _ => null,
            };
            if (exception is not null
                && (ReferenceEquals(exception, original) || ReferenceEquals(exception, original.InnerException) || ReferenceEquals(exception, own)))
            {
                // An entry keeps its kind: a list of exceptions (catch { $seen.Add($_.Exception) }) gets an exception.
                errors[i] = errors[i] is Exception ? shown.Exception : shown;
            }
        }
    }

    // $Error, then the lists of the variables visible from here (the Variable provider lists them through every scope up to
    // the global one), as an -ErrorVariable makes them: growable lists, not arrays. Read only on the way out of a failed
    // command that quoted a secret.
    private List<System.Collections.IList> ErrorLists()
    {
        var lists = new List<System.Collections.IList>();
        if (SessionState.PSVariable.GetValue("Error") is System.Collections.IList errors)
        {
            lists.Add(errors);
        }

        Collection<PSObject> variables;
        try
        {
            variables = SessionState.InvokeProvider.ChildItem.Get("variable:", recurse: false);
        }
        catch (Exception e) when (e is RuntimeException or NotSupportedException or InvalidOperationException)
        {
            // No Variable: drive (a restricted runspace): $Error is all that can be reached.
            return lists;
        }

        // Each name again in every scope up to the global one: a nearer variable of the same name hides the list PowerShell
        // filled from the provider's listing (session 19).
        var names = variables.Select(v => (v?.BaseObject as PSVariable)?.Name).OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        foreach (var variable in variables.Select(v => v?.BaseObject).Concat(HiddenVariables.Named(SessionState, names)))
        {
            // Only PowerShell's own kinds of variable (a function's locals are a subclass of its own), so that reading one
            // runs no user code, holding a growable list of the runtime's own (ArrayList, as $Error and a new -ErrorVariable
            // are; a List[object] a user made and passed as -ErrorVariable +ev, which PowerShell fills as it is), so that
            // writing one raises no user event; a typed list that refuses the value is skipped by the guarded scan (final
            // review of session 18; the ArrayList-only first cut left a List[object] +ev holding the secret: its attack).
            if (variable is PSVariable psVariable && psVariable.GetType().Assembly == typeof(PSVariable).Assembly
                && psVariable.Value is System.Collections.IList { IsReadOnly: false, IsFixedSize: false } list
                && list.GetType().Assembly == typeof(object).Assembly
                && !lists.Any(l => ReferenceEquals(l, list)))
            {
                lists.Add(list);
            }
        }

        return lists;
    }

    // Null when the exception may leave as it is. PowerShell's own exceptions, the RuntimeException family and the others
    // that carry an error record (a ParameterBindingException, a PSInvalidCastException quoting a connection string the user
    // typed), are redacted too: found by the attack on redact16.
    private static Exception? Escaping(Exception exception)
    {
        if (exception is FlowControlException)
        {
            return null;
        }

        var shown = CheckpointErrorRecords.Redacted(exception);
        if (!ReferenceEquals(shown, exception))
        {
            return shown;
        }

        // Its message may be clean while its own record's target or details quote the secret (attack on redact17): a copy,
        // which does not keep that record, is shown under a scrubbed copy of the record (OwnRecords).
        return exception is IContainsErrorRecord { ErrorRecord: { } own } && OwnRecords.HoldsSecret(exception, own)
            ? CheckpointErrorRecords.Redacted(exception, copy: true)
            : null;
    }

    /// <summary>The command's BeginProcessing: opens the engine handler. Overrides call it before they use the handler (some check their parameters first).</summary>
    private protected virtual void Begin()
    {
        // Parameters bound by now came from the command line; piped paths bind later, per record.
        PathsFromPipeline = !MyInvocation.BoundParameters.ContainsKey("Path") && !MyInvocation.BoundParameters.ContainsKey("LiteralPath");
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

    /// <summary>The command's ProcessRecord: one input record.</summary>
    private protected virtual void Process()
    {
    }

    /// <summary>The command's EndProcessing: closes the engine handler. Overrides call it last.</summary>
    private protected virtual void End() => CloseHandler();

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
            ? new CheckpointOptions { Log = log.Write, Progress = progress, LockTimeout = timeout, MetadataView = StateFromEngine.ConvertValues }
            : new CheckpointOptions { Log = log.Write, Progress = progress, MetadataView = StateFromEngine.ConvertValues });

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
            if (IsExistingDirectory(directory, skipPiped: false))
            {
                result.Add(directory);
            }
        }

        return result;
    }

    /// <summary>
    /// True when <paramref name="directory"/> exists (asked of the engine, as <see cref="ExistingDirectories"/> asks).
    /// Otherwise the one rule for a path that names no checkpoint directory (a file, a link to nothing, or a folder that
    /// no longer exists, such as a step folder of a directory pruned earlier in the same run,
    /// <c>Get-ChildItem ./runs -Recurse -Directory | Sort-Object FullName | Remove-Checkpoint -Keep 1</c>): a path that came from the pipeline is
    /// skipped with a -Verbose line when <paramref name="skipPiped"/> (a command that skips piped folders holding no
    /// checkpoint, so that an unattended job under ErrorAction Stop does not halt on any of them); any other is reported,
    /// NotADirectory for a file and DirectoryNotFound else, so that a path the user named is never read as "nothing to do".
    /// </summary>
    private protected bool IsExistingDirectory(string directory, bool skipPiped)
    {
        if (!skipPiped || !PathsFromPipeline)
        {
            return TryEngine(() => Handler.ThrowIfMissing(directory), directory);
        }

        var missing = false;
        if (!TryEngine(() => missing = IsMissing(directory), directory))
        {
            return false;
        }

        if (missing)
        {
            // Why it is skipped is asked only now: a folder that exists costs the one engine call, as before.
            var why = LocalPathProbe.IsFile(directory) ? "a file, not a checkpoint directory"
                : LocalPathProbe.BrokenLinkTarget(directory) is { } target ? $"a symbolic link to '{Shown(target)}', which does not exist"
                : RemovedEarlierInThisRun(directory) ? "no such folder exists (now): it lay in a directory this run removed steps from earlier"
                : null;
            if (why is null)
            {
                // A folder missing for any other reason (a typo in a piped record, a disk or mount that is gone, a remote
                // prefix holding no blob) is what the user meant to clean up: skipped quietly, a retention job would do
                // nothing forever without a word. Reported as DirectoryNotFound, as any other command reports it.
                TryEngine(() => Handler.ThrowIfMissing(directory), directory);
                return false;
            }

            WriteVerbose($"Skipped '{Shown(directory)}': {why}; {MyInvocation.MyCommand.Name} left it untouched.");
        }

        return !missing;
    }

    /// <summary>
    /// True when <paramref name="path"/> lies inside a directory this invocation removed steps from (a step folder of a
    /// run pruned before it arrived): the one reason a piped folder may be missing that is no mistake of the user's.
    /// </summary>
    private protected virtual bool RemovedEarlierInThisRun(string path) => false;

    private bool IsMissing(string directory)
    {
        try
        {
            Handler.ThrowIfMissing(directory);
            return false;
        }
        catch (CheckpointDirectoryNotFoundException)
        {
            return true;
        }
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
    private protected bool TryEngine(Action call, object? target, string? location = null)
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
            // "Does not exist" is wrong for a file (Get-ChildItem | Get-Checkpoint passes files along with folders).
            WriteError(ex is CheckpointDirectoryNotFoundException && target is string path && LocalPathProbe.IsFile(path)
                ? NotADirectory(path)
                : CheckpointErrorRecords.From(ex, target, location));
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
    /// Reports <paramref name="directory"/> as NotADirectory when it is an existing local file, for commands that read a
    /// missing directory as empty (Get-CheckpointStep) and so hear no DirectoryNotFound from the engine.
    /// </summary>
    private protected void ReportIfFile(string directory)
    {
        if (LocalPathProbe.IsFile(directory))
        {
            WriteError(NotADirectory(directory));
        }
    }

    private static ErrorRecord NotADirectory(string path) =>
        CheckpointErrorRecords.Module("NotADirectory", ErrorCategory.InvalidArgument,
            $"'{Shown(path)}' is a file, not a checkpoint directory; nothing was read from it. Give the folder a checkpoint was saved to " +
            "(Save-Checkpoint -Path), or pass only folders along (Get-ChildItem -Directory).", path);

    /// <summary>Shows "activity: step i+1 of count" for commands that work through several steps.</summary>
    private protected void ReportStep(string activity, string directory, long step, int index, int count) =>
        _progress?.ReportStep(activity, Shown(directory), step, index, count);

    /// <summary>Completes the step progress of <see cref="ReportStep"/>.</summary>
    private protected void CompleteSteps() => _progress?.CompleteSteps();

    /// <summary>
    /// The directories named by -Path (wildcards expanded) or -LiteralPath, each resolved once through the
    /// session's provider (<see cref="CheckpointPathResolver"/>, as tab completion resolves them), against the session's
    /// current location, never the process's: full file-system paths, or remote locations as typed. A path that does not
    /// resolve to one is reported (InvalidPath, NotAFileSystemPath, UncPathNotSupported, PathNotFound) and left out. A
    /// directory that does not exist yet resolves to its full path; whether it must exist is the command's call
    /// (<see cref="ExistingDirectories"/>).
    /// </summary>
    private protected IReadOnlyList<string> ResolveDirectories(string[]? paths, string[]? literalPaths)
    {
        var result = new List<string>();
        foreach (var literal in literalPaths ?? Array.Empty<string>())
        {
            result.AddRange(Accepted(CheckpointPathResolver.Named(literal, escaped: false, ProviderPath), stop: false));
        }

        foreach (var path in paths ?? Array.Empty<string>())
        {
            // Blob names are not matched: '[' and '*' in a remote location are taken literally. A local -Path is a pattern
            // even without wildcards: its backticks escape ('run`[1`]', as piped records bind) and are no part of the name.
            var resolution = CheckpointPathResolver.IsPattern(path)
                ? CheckpointPathResolver.Matches(path, ProviderMatches, ProviderPath)
                : CheckpointPathResolver.Named(path, escaped: true, ProviderPath);
            result.AddRange(Accepted(resolution, stop: false));
        }

        return result;
    }

    /// <summary>
    /// The one directory a command writes to (Save-Checkpoint, Copy-Checkpoint -Destination), resolved once through the
    /// provider like <see cref="ResolveDirectories"/>, with one difference: a wildcard that matches no existing item
    /// names a folder still to be created (<c>./run[1]</c>), and every problem stops the command, since it has nothing
    /// else to do. Several matches are AmbiguousPath.
    /// </summary>
    /// <param name="path">The path as typed.</param>
    /// <param name="literal">-LiteralPath: wildcard characters are part of the name.</param>
    private protected string ResolveDestination(string path, bool literal)
    {
        if (!literal && CheckpointPathResolver.IsPattern(path))
        {
            var resolution = CheckpointPathResolver.Matches(path, ProviderMatches, ProviderPath);
            if (resolution.Failure != PathFailure.PathNotFound)
            {
                // A parent folder that does not exist is a folder still to be created, as a wildcard matching nothing.
                var matches = Accepted(resolution, stop: true);
                if (matches.Count > 1)
                {
                    Report(CheckpointErrorRecords.Module("AmbiguousPath", ErrorCategory.InvalidArgument,
                        $"'{Shown(path)}' matches {matches.Count} directories; a save needs exactly one.", path), stop: true);
                }

                if (matches.Count == 1)
                {
                    return NotAFile(matches[0]);
                }
            }
        }

        return NotAFile(Accepted(CheckpointPathResolver.Named(path, escaped: !literal, ProviderPath), stop: true)[0]);

        // An existing file cannot hold steps: one error that says so, before anything is written (the engine would
        // fail once per step or piped state, "already exists"). One stat per command, not per step.
        string NotAFile(string destination)
        {
            if (LocalPathProbe.IsFile(destination))
            {
                Report(CheckpointErrorRecords.Module("NotADirectory", ErrorCategory.InvalidArgument,
                    $"'{Shown(destination)}' is a file, not a directory to write checkpoints to; nothing was written and the file is left as it was. " +
                    "Give a folder path (a folder that does not exist yet is created).", destination), stop: true);
            }

            if (LocalPathProbe.BrokenLinkTarget(destination) is { } target)
            {
                // No folder can be created there (the link is in the way), and none is created through it.
                Report(CheckpointErrorRecords.Module("NotADirectory", ErrorCategory.InvalidArgument,
                    $"'{Shown(destination)}' is a symbolic link to '{Shown(target)}', which does not exist (or is a loop of links); nothing was written " +
                    "and the link is left as it was. Create the folder it points to, or give another folder path.", destination), stop: true);
            }

            return destination;
        }
    }

    /// <summary>A location as messages may show it: a remote URL without its SAS, a local path as it is.</summary>
    private protected static string Shown(string location) => RemoteLocations.Shown(location);

    /// <summary>
    /// Writes <paramref name="record"/> as a non-terminating error, or stops the command with it when
    /// <paramref name="stop"/> (a save, which has nothing else to do).
    /// </summary>
    private protected void Report(ErrorRecord record, bool stop)
    {
        if (stop)
        {
            ThrowTerminatingError(record);
        }

        WriteError(record);
    }

    /// <summary>
    /// The locations of a resolution, after reporting why there are none: the resolver's error, or, for a remote
    /// location, missing credentials. With <paramref name="stop"/>, an unknown drive or provider stops the command with
    /// the provider's own DriveNotFound / ProviderNotFound record, as the provider raised it.
    /// </summary>
    private IReadOnlyList<string> Accepted(PathResolution resolution, bool stop)
    {
        if (resolution.Error is { } error)
        {
            if (stop && resolution.Failure == PathFailure.ProviderRefused && error.Exception is RuntimeException or NotSupportedException)
            {
                if (resolution.Stop is { } redacted)
                {
                    // The provider's exception quoted a secret: the same id, category and exception type, redacted.
                    ThrowTerminatingError(redacted);
                }

                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error.Exception);
            }

            Report(error, stop);
            return Array.Empty<string>();
        }

        if (resolution.IsRemote)
        {
            RemoteLocation(resolution.Locations[0]);
        }

        return resolution.Locations;
    }

    /// <summary>
    /// A remote location goes to the engine exactly as typed, never through the file-system provider. With no
    /// credentials in the environment the command stops at once: every other location of the same command
    /// would fail the same way, and the message says which variables to set (never a key or SAS).
    /// </summary>
    private void RemoteLocation(string location)
    {
        if (RemoteLocations.MissingCredentials(location) is string why)
        {
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(why), "RemoteCredentialsMissing", ErrorCategory.AuthenticationError, Shown(location)));
        }

        if (LockTimeoutSetting is not null && MyInvocation.BoundParameters.ContainsKey("LockTimeout"))
        {
            WriteVerbose($"-LockTimeout has no effect on '{Shown(location)}': a remote store takes no lock to wait for (commits are conditional writes).");
        }
    }

    // The session's provider, as the resolver asks it (one call each, reading nothing from the disk for a name). A rooted
    // path the provider gives back unchanged is asked in its provider-qualified form, which skips the root drive's lookup
    // and its read of /proc/self/mountinfo (CanonicalRootedPath); a session without that provider is asked the path as
    // typed, so that its refusal is the one it always gave.
    private string ProviderPath(string name, out string providerName)
    {
        if (CanonicalRootedPath.Is(name) && TheFileSystemIsNamedFileSystem() is { } only)
        {
            try
            {
                var direct = SessionState.Path.GetUnresolvedProviderPathFromPSPath(CanonicalRootedPath.FileSystemQualifier + name, out var fileSystem, out _);
                if (fileSystem.ImplementingType == only.ImplementingType)
                {
                    providerName = fileSystem.Name;
                    return direct;
                }
            }
            catch (Exception ex) when (ex is RuntimeException or NotSupportedException or ArgumentException)
            {
                // Asked as typed below.
            }
        }

        var full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(name, out var provider, out _);
        providerName = provider.Name;
        return full;
    }

    // The session's one file-system provider, when it is the one named FileSystem: then the root drive a rooted path
    // reaches is its drive, and FileSystem::<path> asks the provider the path as typed reaches. A host may register the
    // file system under another name and another provider as FileSystem, or the file system twice (the first owns '/'):
    // then FileSystem::<path> would ask another provider than the typed path reaches, so the path is asked as typed.
    private ProviderInfo? TheFileSystemIsNamedFileSystem()
    {
        ProviderInfo? only = null;
        foreach (var provider in SessionState.Provider.GetAll())
        {
            if (typeof(Microsoft.PowerShell.Commands.FileSystemProvider).IsAssignableFrom(provider.ImplementingType))
            {
                if (only is not null)
                {
                    return null;
                }

                only = provider;
            }
        }

        return only is not null && string.Equals(only.Name, "FileSystem", StringComparison.OrdinalIgnoreCase) ? only : null;
    }

    private Collection<string> ProviderMatches(string pattern, out string providerName)
    {
        var matches = SessionState.Path.GetResolvedProviderPathFromPSPath(pattern, out var provider);
        providerName = provider.Name;
        return matches;
    }
}
