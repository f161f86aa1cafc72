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
        // with several paths must say which one. The exception stays the provider's, for scripts that catch its type.
        var shown = RemoteLocations.Shown(path);
        var record = new ErrorRecord(exception, "InvalidPath", ErrorCategory.InvalidArgument, shown)
        {
            ErrorDetails = new ErrorDetails($"'{shown}': {RemoteLocations.Scrubbed(exception.Message)}"),
        };
        return new(Array.Empty<string>(), record, isRemote: false, PathFailure.ProviderRefused);
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
