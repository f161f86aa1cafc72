using System.Management.Automation;

namespace DataraxCkpt.Commands.Errors;

/// <summary>
/// Turns engine failures into ErrorRecords whose error id is the engine's stable
/// <see cref="CheckpointException.ErrorId"/>, so that FullyQualifiedErrorId reads
/// <c>StepNotFound,DataraxCkpt.Commands.RestoreCheckpointCommand</c> and scripts can branch on it.
/// </summary>
internal static class CheckpointErrorRecords
{
    /// <summary>The ErrorRecord for any exception the engine raised.</summary>
    public static ErrorRecord From(Exception exception, object? target)
    {
        // The target shows in the error's category line; a remote URL's SAS must not.
        target = target is string location ? Infrastructure.RemoteLocations.Shown(location) : target;
        if (exception is CheckpointException checkpoint)
        {
            // A mistyped SAS URL taken for a local folder ('./acct…/c?sv=…&sig=…'), or a folder named so: the engine's
            // exception quotes it whole in its message, its Directory and its inner exceptions, and the user sees that
            // object ($_.Exception, Get-Error), not only the record's message.
            exception = checkpoint.Redacted(Infrastructure.RemoteLocations.Shown, Infrastructure.RemoteLocations.Scrubbed);
        }

        var record = Record(exception, target);
        var message = Infrastructure.RemoteLocations.Scrubbed(exception.Message);
        if (message != exception.Message)
        {
            // Any other engine message that quotes such a path: what the error shows ("$_", the log) holds no signature.
            record.ErrorDetails = new ErrorDetails(message);
        }

        return record;
    }

    private static ErrorRecord Record(Exception exception, object? target) =>
        exception switch
        {
            CheckpointException ce => new ErrorRecord(ce, ce.ErrorId, CategoryOf(ce.ErrorId), target ?? (ce.Directory is string d ? Infrastructure.RemoteLocations.Shown(d) : null)),
            ArgumentException ae => new ErrorRecord(ae, "InvalidArgument", ErrorCategory.InvalidArgument, target),
            UnauthorizedAccessException ue => new ErrorRecord(ue, "AccessDenied", ErrorCategory.PermissionDenied, target),
            TimeoutException te => new ErrorRecord(te, "LockTimeout", ErrorCategory.ResourceBusy, target),
            InvalidOperationException ie => new ErrorRecord(ie, "InvalidOperation", ErrorCategory.InvalidOperation, target),
            // The engine should wrap these; until it does, an index that cannot be opened is still one store's failure.
            System.Data.Common.DbException de => new ErrorRecord(de, "IndexUnavailable", ErrorCategory.ResourceUnavailable, target),
            IOException io => new ErrorRecord(io, "IOError", ErrorCategory.WriteError, target),
            _ => new ErrorRecord(exception, exception.GetType().Name, ErrorCategory.NotSpecified, target),
        };

    /// <summary>The category that fits an engine error id; unknown ids fall to NotSpecified.</summary>
    public static ErrorCategory CategoryOf(string errorId) => errorId switch
    {
        "DirectoryNotFound" => ErrorCategory.ObjectNotFound,
        "StepNotFound" => ErrorCategory.ObjectNotFound,
        "NoCheckpoints" => ErrorCategory.ObjectNotFound,
        "StepExists" => ErrorCategory.ResourceExists,
        "CorruptCheckpoint" => ErrorCategory.InvalidData,
        "UnsupportedFormatVersion" => ErrorCategory.NotImplemented,
        "UnsupportedValue" => ErrorCategory.InvalidArgument,
        "IncompatibleState" => ErrorCategory.InvalidData,
        "StepPinned" => ErrorCategory.PermissionDenied,
        "LockTimeout" => ErrorCategory.ResourceBusy,
        "UnsupportedFileSystem" => ErrorCategory.NotEnabled,
        "RetentionFailed" => ErrorCategory.WriteError,
        "AccessDenied" => ErrorCategory.PermissionDenied,
        _ => ErrorCategory.NotSpecified,
    };

    /// <summary>An ErrorRecord for a problem the module itself found (no engine exception).</summary>
    public static ErrorRecord Module(string errorId, ErrorCategory category, string message, object? target) =>
        new(new InvalidOperationException(message), errorId, category, target is string location ? Infrastructure.RemoteLocations.Shown(location) : target);

    /// <summary>True for the exceptions the cmdlets report as ErrorRecords rather than let escape.</summary>
    public static bool IsReportable(Exception exception) =>
        exception is CheckpointException or ArgumentException or UnauthorizedAccessException
            or TimeoutException or InvalidOperationException or IOException or NotSupportedException
            or System.Data.Common.DbException;
}
