using System.Management.Automation;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// What <see cref="CheckpointPathResolver"/> made of one path: the locations it names (none, one, or a wildcard's
/// matches), or the error that says why it names none. Completion only asks for the locations; a command reports the error.
/// </summary>
internal sealed class PathResolution
{
    /// <summary>Creates a resolution; see the factory methods.</summary>
    public PathResolution(IReadOnlyList<string> locations, ErrorRecord? error, bool isRemote, PathFailure failure)
    {
        Locations = locations;
        Error = error;
        IsRemote = isRemote;
        Failure = failure;
    }

    /// <summary>Full file-system paths, or one remote location as typed; empty when refused (or a wildcard matched nothing).</summary>
    public IReadOnlyList<string> Locations { get; }

    /// <summary>Why the path names no location, naming it; null when it resolved.</summary>
    public ErrorRecord? Error { get; }

    /// <summary>The one location is remote: taken as typed, never through the provider.</summary>
    public bool IsRemote { get; }

    /// <summary>Which refusal this is, where callers differ.</summary>
    public PathFailure Failure { get; }

    /// <summary>A remote location, as typed.</summary>
    public static PathResolution Remote(string location) => new(new[] { location }, null, isRemote: true, PathFailure.None);

    /// <summary>Full file-system paths.</summary>
    public static PathResolution Local(IReadOnlyList<string> paths) => new(paths, null, isRemote: false, PathFailure.None);

    /// <summary>A path refused with <paramref name="error"/>.</summary>
    public static PathResolution Refused(ErrorRecord error) => new(Array.Empty<string>(), error, isRemote: false, PathFailure.None);

    /// <summary>The provider's exception for <paramref name="path"/>, reported as InvalidPath when the command goes on.</summary>
    public static PathResolution ProviderRefused(Exception exception, string path)
    {
        // The provider's own message often names no path ("Home location for this provider is not set"); a job's log
        // with several paths must say which one. The exception stays the provider's, for scripts that catch its type,
        // unless it quotes a secret: a connection string typed as a path ('…;AccountKey=…;BlobEndpoint=http://…') names
        // a drive '…AccountKey=…;BlobEndpoint=http', which DriveNotFoundException quotes in its message and its target.
        var shown = RemoteLocations.Shown(path);
        var shownException = ShownProviderException(exception, out var stop);
        var record = new ErrorRecord(shownException, "InvalidPath", ErrorCategory.InvalidArgument, shown)
        {
            ErrorDetails = new ErrorDetails($"'{shown}': {RemoteLocations.Scrubbed(exception.Message)}"),
        };
        return new(Array.Empty<string>(), record, isRemote: false, PathFailure.ProviderRefused) { Stop = stop };
    }

    /// <summary>
    /// The record a command that cannot go on stops with, in place of rethrowing the provider's exception, when that
    /// exception had to be redacted: the provider's error id and category, the redacted exception, the target scrubbed.
    /// Null when the provider's own exception may be rethrown as it is.
    /// </summary>
    public ErrorRecord? Stop { get; private init; }

    // The provider's exception itself when neither its message nor the item it names (its record's target) holds a secret;
    // otherwise a new one of the same type on the scrubbed message, and the record to stop with under the provider's id.
    private static Exception ShownProviderException(Exception exception, out ErrorRecord? stop)
    {
        stop = null;
        var own = (exception as IContainsErrorRecord)?.ErrorRecord;
        var target = own?.TargetObject as string;
        var message = RemoteLocations.Scrubbed(exception.Message);
        if (message == exception.Message && (target is null || RemoteLocations.Scrubbed(target) == target))
        {
            return exception;
        }

        Exception shown = exception switch
        {
            System.Management.Automation.DriveNotFoundException => new System.Management.Automation.DriveNotFoundException(message),
            ProviderNotFoundException => new ProviderNotFoundException(message),
            PSInvalidOperationException => new PSInvalidOperationException(message),
            PSNotSupportedException => new PSNotSupportedException(message),
            PSArgumentException e => new PSArgumentException(message, e.ParamName is { } name ? RemoteLocations.Scrubbed(name) : string.Empty),
            _ => Errors.CheckpointErrorRecords.Redacted(exception),
        };
        stop = new ErrorRecord(
            shown,
            own?.FullyQualifiedErrorId is { Length: > 0 } id ? id : exception.GetType().FullName,
            own?.CategoryInfo.Category ?? ErrorCategory.NotSpecified,
            target is null ? null : RemoteLocations.Scrubbed(target));
        return shown;
    }

    /// <summary>A wildcard path whose parent folder does not exist: the provider's exception, its message without a SAS signature.</summary>
    public static PathResolution NotFound(ItemNotFoundException exception, string path)
    {
        // The provider quotes the path as typed ("Cannot find path '…?sv=…&sig=…'"): a mistyped SAS URL must not reach a log,
        // so the exception is a new one of the same type without the original (whose message would still hold it).
        var message = RemoteLocations.Scrubbed(exception.Message);
        var shown = message == exception.Message ? exception : new ItemNotFoundException(message);
        return new(Array.Empty<string>(), new ErrorRecord(shown, "PathNotFound", ErrorCategory.ObjectNotFound, RemoteLocations.Shown(path)), isRemote: false, PathFailure.PathNotFound);
    }
}
