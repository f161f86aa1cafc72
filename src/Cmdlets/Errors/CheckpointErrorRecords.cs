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
    /// <param name="exception">The engine's exception.</param>
    /// <param name="target">The record's target object (a location, or the input a save was given).</param>
    /// <param name="location">The location the call worked on, when <paramref name="target"/> is not it.</param>
    public static ErrorRecord From(Exception exception, object? target, string? location = null)
    {
        // The target shows in the error's category line; a remote URL's SAS must not.
        var raw = location ?? target as string;
        target = target is string typed ? Infrastructure.RemoteLocations.Shown(typed) : target;
        // A mistyped SAS URL taken for a local folder ('./acct…/c?sv=…&sig=…'), or a folder named so: the engine's
        // exception quotes it whole in its message, its Directory and its inner exceptions, and the user sees that
        // object ($_.Exception, Get-Error, what a catch gets), not only the record's message. That holds for any
        // engine failure, not only a CheckpointException: an IOException ("Cannot create '…?sig=…/7'") quotes it too.
        var original = exception;
        exception = Redacted(exception, raw);
        var record = Record(original, exception, target);
        var message = Infrastructure.RemoteLocations.Scrubbed(exception.Message);
        if (message != exception.Message)
        {
            // Any other engine message that quotes such a path: what the error shows ("$_", the log) holds no signature.
            record.ErrorDetails = new ErrorDetails(message);
        }

        return record;
    }

    // The id and category follow the engine's exception (original); the record carries the one that may be shown.
    private static ErrorRecord Record(Exception original, Exception shown, object? target) =>
        original switch
        {
            CheckpointException => shown is CheckpointException ce
                ? new ErrorRecord(ce, ce.ErrorId, CategoryOf(ce.ErrorId), target ?? (ce.Directory is string d ? Infrastructure.RemoteLocations.Shown(d) : null))
                : new ErrorRecord(shown, shown.GetType().Name, ErrorCategory.NotSpecified, target),
            ArgumentException => new ErrorRecord(shown, "InvalidArgument", ErrorCategory.InvalidArgument, target),
            UnauthorizedAccessException => new ErrorRecord(shown, "AccessDenied", ErrorCategory.PermissionDenied, target),
            TimeoutException => new ErrorRecord(shown, "LockTimeout", ErrorCategory.ResourceBusy, target),
            // Found by the module's conversion before the engine was called, but reported as the engine's failures are.
            Conversion.StateChangedDuringSaveException => new ErrorRecord(shown, Conversion.StateChangedDuringSaveException.ErrorId, ErrorCategory.InvalidOperation, target),
            InvalidOperationException => new ErrorRecord(shown, "InvalidOperation", ErrorCategory.InvalidOperation, target),
            // The engine should wrap these; until it does, an index that cannot be opened is still one store's failure.
            System.Data.Common.DbException => new ErrorRecord(shown, "IndexUnavailable", ErrorCategory.ResourceUnavailable, target),
            IOException io => new ErrorRecord(shown, "IOError", IsFailedRead(io) ? ErrorCategory.ReadError : ErrorCategory.WriteError, target),
            _ => new ErrorRecord(shown, original.GetType().Name, ErrorCategory.NotSpecified, target),
        };

    /// <summary>
    /// <paramref name="exception"/> as it may be shown: itself when none of its texts (message, inner exceptions,
    /// a FileNotFoundException's file name, an argument exception's parameter name) holds a SAS signature; otherwise
    /// the copy the types' one rule makes (DataraxCkpt.ExceptionRedaction, which CheckpointException.Redacted uses for
    /// inner exceptions too): a checkpoint exception rebuilt on the shown location, a common .NET type (IOException and
    /// its file-system kinds, ArgumentException, ArgumentNullException, ArgumentOutOfRangeException,
    /// InvalidOperationException, UnauthorizedAccessException, TimeoutException, NotSupportedException, AggregateException,
    /// …) rebuilt as the same type so a script's catch still matches, any other type a stand-in naming it, derived from the nearest base a script catches (DbException, IOException, InvalidOperationException, OperationCanceledException).
    /// </summary>
    /// <param name="exception">The engine's exception.</param>
    /// <param name="location">The location the command worked on, when known: quoted whole in a message (a path under it
    /// included), it is replaced by its shown form first, so that what follows it ('/7', a file name) stays.</param>
    /// <param name="copy">Makes a copy even when no text of the exception would change (its own error record quotes the secret).</param>
    internal static Exception Redacted(Exception exception, string? location = null, bool copy = false)
    {
        var shownLocation = location is null ? null : Infrastructure.RemoteLocations.Shown(location);
        string Text(string text) => Infrastructure.RemoteLocations.Scrubbed(
            shownLocation is null || shownLocation == location ? text : text.Replace(location!, shownLocation, StringComparison.Ordinal));
        return ExceptionRedaction.Redacted(exception, Infrastructure.RemoteLocations.Shown, Text, copy);
    }

    /// <summary>
    /// Whether the engine marked <paramref name="e"/> as a failed read (of the index: <see cref="IndexIoErrorData.IndexRead"/>;
    /// of a step's files: <see cref="IndexIoErrorData.StepRead"/>): ReadError, not the WriteError of every other I/O error.
    /// </summary>
    private static bool IsFailedRead(IOException e) => e.Data[IndexIoErrorData.IndexRead] is true || e.Data[IndexIoErrorData.StepRead] is true;

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
        "FileLockingDisabled" => ErrorCategory.NotEnabled,
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
