using System.Management.Automation;
using System.Reflection;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands.Errors;

/// <summary>
/// The error record one of PowerShell's own exceptions carries (a RuntimeException, a PSInvalidCastException, a script's
/// <c>throw</c>), shown without a secret when such an exception escapes a cmdlet: its id, target and details scrubbed, and
/// as much of the rest kept as PowerShell lets a copy keep.
/// </summary>
internal static class OwnRecords
{
    // Internal to PowerShell: a record's position and call stack cannot be given to a new record any other way. Looked up
    // once; a PowerShell without them gets the cmdlet's record (ForCmdlet), which is redacted all the same.
    private const BindingFlags Internal = BindingFlags.Instance | BindingFlags.NonPublic;
    private static readonly MethodInfo? s_setInvocationInfo = typeof(ErrorRecord).GetMethod("SetInvocationInfo", Internal, null, [typeof(InvocationInfo)], null);
    private static readonly FieldInfo? s_scriptStackTrace = typeof(ErrorRecord).GetField("_scriptStackTrace", Internal);
    private static readonly FieldInfo? s_errorId = typeof(ErrorRecord).GetField("_errorId", Internal);

    /// <summary>
    /// Whether <paramref name="record"/> quotes a secret anywhere PowerShell shows it: its target, details, error id (a
    /// record a script made and threw: <c>[ErrorRecord]::new($e, "AccountKey=…", …)</c>), category texts (Activity, Reason,
    /// TargetName, TargetType, which a script may set), or its own exception when that is not <paramref name="holder"/>
    /// or its inner chain (an ActionPreferenceStopException from <c>Write-Error "…" -ErrorAction Stop</c> carries the
    /// Write-Error record, whose exception quotes the text, apart from its own): attack on redact18. The holder's own
    /// texts are checked apart.
    /// </summary>
    public static bool HoldsSecret(Exception holder, ErrorRecord record) =>
        Changes(TargetText(record.TargetObject))
        || Changes(record.ErrorDetails?.Message)
        || Changes(record.ErrorDetails?.RecommendedAction)
        || Changes(record.FullyQualifiedErrorId)
        || CategoryTexts(record.CategoryInfo).Any(Changes)
        || (record.Exception is { } own && !InChain(holder, own) && !ReferenceEquals(CheckpointErrorRecords.Redacted(own), own));

    private static bool InChain(Exception holder, Exception exception)
    {
        for (Exception? e = holder; e is not null; e = e.InnerException)
        {
            if (ReferenceEquals(e, exception))
            {
                return true;
            }
        }

        return false;
    }

    // Read guarded: TargetName is the target's ToString unless set, and that may throw (see TargetText).
    private static IEnumerable<string?> CategoryTexts(ErrorCategoryInfo category)
    {
        yield return Guarded(() => category.Activity);
        yield return Guarded(() => category.Reason);
        yield return Guarded(() => category.TargetName);
        yield return Guarded(() => category.TargetType);
    }

    private static string? Guarded(Func<string?> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is not OutOfMemoryException and not StackOverflowException)
        {
            return null;
        }
    }

    // A copy's category texts are its own (its command, exception type, target), except those of the original that quote a
    // secret, which a script had set: shown scrubbed, not dropped, so the copy still says what they said.
    private static void CopyCategoryTexts(ErrorRecord own, ErrorRecord copy)
    {
        var from = own.CategoryInfo;
        var to = copy.CategoryInfo;
        if (Guarded(() => from.Activity) is { } activity && Changes(activity))
        {
            to.Activity = RemoteLocations.Scrubbed(activity);
        }

        if (Guarded(() => from.Reason) is { } reason && Changes(reason))
        {
            to.Reason = RemoteLocations.Scrubbed(reason);
        }

        if (Guarded(() => from.TargetName) is { } name && Changes(name))
        {
            to.TargetName = RemoteLocations.Scrubbed(name);
        }

        if (Guarded(() => from.TargetType) is { } type && Changes(type))
        {
            to.TargetType = RemoteLocations.Scrubbed(type);
        }
    }

    /// <summary>
    /// The record a redacted exception of PowerShell's own stops the command with: its own record's error id, category and
    /// details, as PowerShell would have shown them, with the id, target and details scrubbed, so a script's check of
    /// FullyQualifiedErrorId or CategoryInfo is not changed by the redaction.
    /// </summary>
    public static ErrorRecord ForCmdlet(Exception original, ErrorRecord own, Exception shown)
    {
        var record = new ErrorRecord(
            shown,
            // Scrubbed too: a script's 'throw <text>' makes the text its id (attack on redact17).
            own.FullyQualifiedErrorId is { Length: > 0 } id ? RemoteLocations.Scrubbed(id) : ExceptionRedaction.OriginalTypeOf(original),
            own.CategoryInfo.Category,
            Target(own.TargetObject));
        record.ErrorDetails = Details(own.ErrorDetails);
        CopyCategoryTexts(own, record);
        return record;
    }

    /// <summary>
    /// The redacted copy of a script's <c>throw</c> that passes a cmdlet on its way up (<c>Get-Checkpoint | ForEach-Object
    /// { throw … }</c>), made to pass as the original would: PowerShell lets a thrown RuntimeException through a cmdlet
    /// unwrapped, as the script's error, so <c>$Error[0]</c> shows the throw's own id (no cmdlet's name appended), its
    /// position (InvocationInfo, ScriptStackTrace) and its flag (WasThrownFromThrowStatement). Stopping the command with a
    /// record of its own instead gave it to the cmdlet: the id ended in <c>,DataraxCkpt.Commands.…</c> and the position was
    /// the cmdlet's (redact18). Null when it cannot be made so: a kind of RuntimeException (no constructor takes its record),
    /// or a PowerShell without the internals this needs; the caller then stops the command with <see cref="ForCmdlet"/>.
    /// </summary>
    /// <param name="original">The exception that escaped.</param>
    /// <param name="shown">Its redacted copy (<see cref="CheckpointErrorRecords.Redacted"/>), whose inner exception is redacted too.</param>
    public static RuntimeException? Thrown(RuntimeException original, Exception shown)
    {
        if (!original.WasThrownFromThrowStatement || original.GetType() != typeof(RuntimeException) || shown.GetType() != typeof(RuntimeException)
            || original.ErrorRecord is not { } own || s_setInvocationInfo is null || s_scriptStackTrace is null || s_errorId?.GetValue(own) is not string id)
        {
            return null;
        }

        // What $_.Exception is: for 'throw <text>', the inner exception; for 'throw $record', the record's own exception.
        var exception = ReferenceEquals(own.Exception, original) ? shown
            : ReferenceEquals(own.Exception, original.InnerException) && shown.InnerException is { } inner ? inner
            : own.Exception is ParentContainsErrorRecordException ? new ParentContainsErrorRecordException(shown)
            : CheckpointErrorRecords.Redacted(own.Exception);
        var record = new ErrorRecord(exception, RemoteLocations.Scrubbed(id), own.CategoryInfo.Category, Target(own.TargetObject))
        {
            ErrorDetails = Details(own.ErrorDetails),
        };
        try
        {
            // The stack is the throw's: set first, or SetInvocationInfo takes the guard's.
            s_scriptStackTrace.SetValue(record, own.ScriptStackTrace);
            s_setInvocationInfo.Invoke(record, [own.InvocationInfo]);
        }
        catch (Exception e) when (e is TargetInvocationException or ArgumentException or FieldAccessException or MethodAccessException or TargetException)
        {
            // PowerShell's internals changed under the same names: stop with the cmdlet's record instead (the caller's
            // fallback), never with an unrelated error that would leave the original record in $Error (final review).
            return null;
        }

        CopyCategoryTexts(own, record);
        var thrown = new RuntimeException(shown.Message, shown.InnerException, record) { WasThrownFromThrowStatement = true, HResult = shown.HResult };
        ExceptionRedaction.CopyExtras(shown, thrown, text => text);
        return shown.StackTrace is { } trace
            ? (RuntimeException)System.Runtime.ExceptionServices.ExceptionDispatchInfo.SetRemoteStackTrace(thrown, trace)
            : thrown;
    }

    // A target's own ToString may throw (a disposed object, a PSObject's script method): that must not replace the error
    // being reported with an unrelated one (final review of session 17).
    private static string? TargetText(object? target)
    {
        try
        {
            return target is string text ? text : target?.ToString();
        }
        catch (Exception e) when (e is not OutOfMemoryException and not StackOverflowException)
        {
            return null;
        }
    }

    private static object? Target(object? target) => target switch
    {
        null => null,
        string text => RemoteLocations.Scrubbed(text),
        var other => TargetText(other) is { } text && Changes(text) ? RemoteLocations.Scrubbed(text) : other,
    };

    private static ErrorDetails? Details(ErrorDetails? details)
    {
        if (details?.Message is not { } message)
        {
            return null;
        }

        var shown = new ErrorDetails(RemoteLocations.Scrubbed(message));
        if (details.RecommendedAction is { } action)
        {
            shown.RecommendedAction = RemoteLocations.Scrubbed(action);
        }

        return shown;
    }

    private static bool Changes(string? text) => text is not null && RemoteLocations.Scrubbed(text) != text;
}
