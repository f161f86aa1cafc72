namespace DataraxCkpt;

/// <summary>
/// The one rule by which any exception is made fit to show when a text it carries may quote a location that must not be
/// shown whole (a SAS URL's signature): used by <see cref="CheckpointException.Redacted"/> for inner exceptions and by the
/// cmdlets for whatever the engine throws, so an exception is shown the same way at the top and deeper in a chain.
/// </summary>
internal static class ExceptionRedaction
{
    /// <summary>
    /// <paramref name="exception"/> with no text that <paramref name="text"/> would change: itself when nothing would;
    /// a checkpoint exception by its own rule (<see cref="CheckpointException.Redacted"/>); an aggregate by its parts;
    /// an exception of a common .NET type whose constructors are known (<see cref="Rebuilt"/>), or of any type with a
    /// public (string, Exception) or (string) constructor (<see cref="ByMessageConstructor"/>), rebuilt as the same type,
    /// so a script's <c>catch [ThatType]</c> still matches; any other type (a SqliteException, whose constructors take an
    /// error code) replaced by a stand-in that names it. A copy keeps the HResult, the Data (texts redacted) and the stack trace.
    /// </summary>
    /// <param name="exception">The exception to show.</param>
    /// <param name="showLocation">Turns a whole location into the form that may be shown.</param>
    /// <param name="text">Turns a text that may quote a location anywhere into the form that may be shown.</param>
    /// <param name="copy">Makes a copy even when no text would change (an exception whose error record, which the copy does
    /// not keep, quotes the secret); a checkpoint exception or an aggregate is still returned itself then.</param>
    public static Exception Redacted(Exception exception, Func<string, string> showLocation, Func<string, string> text, bool copy = false)
    {
        if (exception is CheckpointException checkpoint)
        {
            return checkpoint.Redacted(showLocation, text);
        }

        Exception made;
        if (exception is AggregateException aggregate)
        {
            var parts = aggregate.InnerExceptions.Select(e => Redacted(e, showLocation, text)).ToList();
            // An aggregate's Message ends with its parts' messages, which its constructor appends again.
            var own = aggregate.Message;
            var appended = string.Concat(aggregate.InnerExceptions.Select(e => $" ({e.Message})"));
            own = own.EndsWith(appended, StringComparison.Ordinal) ? own[..^appended.Length] : own;
            if (parts.Zip(aggregate.InnerExceptions).All(p => ReferenceEquals(p.First, p.Second)) && text(own) == own && !ExtrasChange(aggregate, text))
            {
                return aggregate;
            }

            made = aggregate.GetType() == typeof(AggregateException)
                ? new AggregateException(text(own), parts)
                : new RedactedException(OriginalTypeOf(aggregate), text(aggregate.Message), new AggregateException(parts));
        }
        else
        {
            var inner = exception.InnerException is { } i ? Redacted(i, showLocation, text) : null;
            var message = text(exception.Message);
            var fileName = (exception as FileNotFoundException)?.FileName;
            if (!copy && message == exception.Message && ReferenceEquals(inner, exception.InnerException) && (fileName is null || text(fileName) == fileName)
                && !ExtrasChange(exception, text))
            {
                return exception;
            }

            made = Rebuilt(exception, text, inner) ?? StandIn(exception, message, inner);
        }

        made.HResult = exception.HResult;
        CopyExtras(exception, made, text);
        return exception.StackTrace is { } trace ? System.Runtime.ExceptionServices.ExceptionDispatchInfo.SetRemoteStackTrace(made, trace) : made;
    }

    /// <summary>
    /// Whether <paramref name="exception"/>'s Data (a key or a value, by its text) or HelpLink holds a text that
    /// <paramref name="text"/> would change: Get-Error prints them, so a clean message is no reason to keep them.
    /// </summary>
    internal static bool ExtrasChange(Exception exception, Func<string, string> text)
    {
        if (exception.HelpLink is { } link && text(link) != link)
        {
            return true;
        }

        foreach (System.Collections.DictionaryEntry entry in exception.Data)
        {
            if (!ReferenceEquals(Shown(entry.Key, text), entry.Key) || !ReferenceEquals(Shown(entry.Value, text), entry.Value))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Copies <paramref name="from"/>'s Data and HelpLink to <paramref name="to"/>, each text redacted.</summary>
    internal static void CopyExtras(Exception from, Exception to, Func<string, string> text)
    {
        to.HelpLink = from.HelpLink is { } link ? text(link) : null;
        foreach (System.Collections.DictionaryEntry entry in from.Data)
        {
            to.Data[Shown(entry.Key, text)!] = Shown(entry.Value, text);
        }
    }

    /// <summary>
    /// <paramref name="value"/> itself when its text would not change; otherwise its redacted text (a string, also for
    /// a value of another type, a Uri, whose text quotes the secret).
    /// </summary>
    private static object? Shown(object? value, Func<string, string> text)
    {
        string? raw;
        try
        {
            raw = value switch
            {
                null => null,
                string s => s,
                IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
                _ => value.ToString(),
            };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A value whose text cannot be had cannot show the secret either; the failure being shown matters more.
            return value;
        }

        if (raw is null)
        {
            return value;
        }

        var shown = text(raw);
        return shown == raw ? value : shown;
    }

    /// <summary>The full name of the type <paramref name="exception"/> is, or stands in for when it is a stand-in.</summary>
    internal static string OriginalTypeOf(Exception exception) =>
        exception is IRedactedStandIn standIn ? standIn.OriginalType : exception.GetType().FullName ?? exception.GetType().Name;

    /// <summary>
    /// A stand-in for an exception whose type cannot be rebuilt, the fallback only: one whose type has no public
    /// (string, Exception) or (string) constructor that makes it with the message (a SqliteException's constructors take
    /// an error code) is replaced by one derived from the nearest base a script catches, so that catch [System.Data.Common.DbException], [IOException],
    /// [InvalidOperationException] or [OperationCanceledException] still matches, and the original type is named.
    /// </summary>
    private static Exception StandIn(Exception exception, string message, Exception? inner)
    {
        var original = OriginalTypeOf(exception);
        return exception switch
        {
            // Keeps its ErrorCode too (the HResult, copied by the caller).
            System.Data.Common.DbException => new RedactedDbException(original, message, inner),
            IOException => new RedactedIOException(original, message, inner),
            OperationCanceledException canceled => new RedactedOperationCanceledException(original, message, inner, canceled.CancellationToken),
            InvalidOperationException => new RedactedInvalidOperationException(original, message, inner),
            _ => new RedactedException(original, message, inner),
        };
    }

    /// <summary>
    /// A new exception of exactly <paramref name="exception"/>'s type with its texts redacted and <paramref name="inner"/>
    /// as its inner exception, for the .NET types whose constructors say what each argument is; null for any other type
    /// (a subtype may give the same constructor another meaning, or none). An argument exception's message is taken
    /// without the parameter and value lines its <see cref="Exception.Message"/> appends, which its constructor appends
    /// again; an ArgumentNullException or ArgumentOutOfRangeException with an inner exception has no constructor that
    /// takes a parameter name too, so it keeps the whole message (the parameter line included) and no ParamName.
    /// </summary>
    private static Exception? Rebuilt(Exception exception, Func<string, string> text, Exception? inner)
    {
        var message = text(exception.Message);
        return exception switch
        {
            _ when exception.GetType() == typeof(Exception) => new Exception(message, inner),
            _ when exception.GetType() == typeof(IOException) => new IOException(message, inner),
            FileNotFoundException e when e.GetType() == typeof(FileNotFoundException) =>
                new FileNotFoundException(message, e.FileName is null ? null : text(e.FileName), inner),
            _ when exception.GetType() == typeof(DirectoryNotFoundException) => new DirectoryNotFoundException(message, inner),
            _ when exception.GetType() == typeof(PathTooLongException) => new PathTooLongException(message, inner),
            _ when exception.GetType() == typeof(EndOfStreamException) => new EndOfStreamException(message, inner),
            _ when exception.GetType() == typeof(InvalidDataException) => new InvalidDataException(message, inner),
            _ when exception.GetType() == typeof(UnauthorizedAccessException) => new UnauthorizedAccessException(message, inner),
            _ when exception.GetType() == typeof(TimeoutException) => new TimeoutException(message, inner),
            _ when exception.GetType() == typeof(InvalidOperationException) => new InvalidOperationException(message, inner),
            _ when exception.GetType() == typeof(NotSupportedException) => new NotSupportedException(message, inner),
            _ when exception.GetType() == typeof(NotImplementedException) => new NotImplementedException(message, inner),
            _ when exception.GetType() == typeof(FormatException) => new FormatException(message, inner),
            _ when exception.GetType() == typeof(KeyNotFoundException) => new KeyNotFoundException(message, inner),
            OperationCanceledException e when e.GetType() == typeof(OperationCanceledException) =>
                new OperationCanceledException(message, inner, e.CancellationToken),
            ArgumentNullException e when e.GetType() == typeof(ArgumentNullException) => inner is null
                ? new ArgumentNullException(ParamName(e, text), text(Own(e, new ArgumentNullException(e.ParamName, string.Empty))))
                : new ArgumentNullException(message, inner),
            ArgumentOutOfRangeException e when e.GetType() == typeof(ArgumentOutOfRangeException) => inner is null
                ? new ArgumentOutOfRangeException(
                    ParamName(e, text),
                    Shown(e.ActualValue, text),
                    text(Own(e, new ArgumentOutOfRangeException(e.ParamName, e.ActualValue, string.Empty))))
                : new ArgumentOutOfRangeException(message, inner),
            ArgumentException e when e.GetType() == typeof(ArgumentException) =>
                new ArgumentException(text(Own(e, new ArgumentException(string.Empty, e.ParamName))), ParamName(e, text), inner),
            System.Net.Http.HttpRequestException e when e.GetType() == typeof(System.Net.Http.HttpRequestException) =>
                new System.Net.Http.HttpRequestException(e.HttpRequestError, message, inner, e.StatusCode),
            System.Text.Json.JsonException e when e.GetType() == typeof(System.Text.Json.JsonException) =>
                new System.Text.Json.JsonException(message, e.Path is null ? null : text(e.Path), e.LineNumber, e.BytePositionInLine, inner),
            // Its only constructor with a message takes the SocketError first, so no copy by message could make it: it was a
            // stand-in derived from Exception, which catch [SocketException] missed and whose SocketErrorCode was gone (redact18).
            System.Net.Sockets.SocketException e when e.GetType() == typeof(System.Net.Sockets.SocketException) && inner is null =>
                new System.Net.Sockets.SocketException((int)e.SocketErrorCode, message),
            // Its (string) constructors read the thread's last P/Invoke error as the code (attack on redact17).
            System.ComponentModel.Win32Exception e when e.GetType() == typeof(System.ComponentModel.Win32Exception) && inner is null =>
                new System.ComponentModel.Win32Exception(e.NativeErrorCode, message),
            _ => ByMessageConstructor(exception, message, inner, text),
        };
    }

    /// <summary>
    /// A new exception of exactly <paramref name="exception"/>'s type made by its public (string, Exception) constructor, or
    /// its (string) one when there is no inner exception (a kind of OperationCanceledException by its (string, Exception,
    /// CancellationToken) one first, to keep its token), so that a script's <c>catch [ThatType]</c> (a NullReferenceException,
    /// an IndexOutOfRangeException, PowerShell's RuntimeException family, an SDK's own) still matches. Null, for a stand-in,
    /// when there is no such constructor, it fails, or what it makes does not read <paramref name="message"/> as its Message
    /// (the string meant something else: an object name, a parameter). What the type holds beyond its message and inner
    /// exception is not known here and is lost, but for a Win32Exception's NativeErrorCode and a public Status and ErrorCode
    /// (Azure's RequestFailedException), kept or the copy refused; HResult and Data are copied.
    /// </summary>
    private static Exception? ByMessageConstructor(Exception exception, string message, Exception? inner, Func<string, string> text)
    {
        var type = exception.GetType();
        if (type.IsAbstract)
        {
            return null;
        }

        try
        {
            var carried = StatusAndCode(exception);
            object? copy = carried is { } facts
                && type.GetConstructor([typeof(int), typeof(string), typeof(string), typeof(Exception)]) is { } coded
                ? coded.Invoke([facts.Status, message, facts.ErrorCode is null ? null : text(facts.ErrorCode), inner])
                : exception is OperationCanceledException canceled
                && type.GetConstructor([typeof(string), typeof(Exception), typeof(CancellationToken)]) is { } withToken
                ? withToken.Invoke([message, inner, canceled.CancellationToken])
                : type.GetConstructor([typeof(string), typeof(Exception)]) is { } withInner
                    ? withInner.Invoke([message, inner])
                    : inner is null && type.GetConstructor([typeof(string)]) is { } messageOnly
                        ? messageOnly.Invoke([message])
                        : null;
            return copy is Exception made && made.GetType() == type && made.Message == message
                && !(made is System.ComponentModel.Win32Exception w && w.NativeErrorCode != ((System.ComponentModel.Win32Exception)exception).NativeErrorCode)
                && (carried is not { } kept || StatusAndCode(made) == (kept.Status, kept.ErrorCode is null ? null : text(kept.ErrorCode)))
                ? made
                : null;
        }
        catch (Exception e) when (e is System.Reflection.TargetInvocationException or System.Reflection.AmbiguousMatchException or MemberAccessException or ArgumentException)
        {
            // A constructor that refuses these arguments cannot make the copy; the stand-in can.
            return null;
        }
    }

    /// <summary>
    /// The status and error code of an exception that carries them as public <c>int Status</c> and <c>string ErrorCode</c>
    /// (Azure's RequestFailedException, which this assembly cannot name), or null. A copy made by its (string, Exception)
    /// constructor had Status 0 and no ErrorCode, so a script's check of <c>$_.Exception.Status</c> took the wrong branch
    /// (attack on redact17): such a type is rebuilt by its (int, string, string, Exception) constructor, or not at all.
    /// </summary>
    private static (int Status, string? ErrorCode)? StatusAndCode(Exception exception)
    {
        var type = exception.GetType();
        return type.GetProperty("Status", typeof(int)) is { CanRead: true } status
            && type.GetProperty("ErrorCode", typeof(string)) is { CanRead: true } code
            && status.GetValue(exception) is int value
            ? (value, code.GetValue(exception) as string)
            : null;
    }

    private static string? ParamName(ArgumentException e, Func<string, string> text) => e.ParamName is null ? null : text(e.ParamName);

    /// <summary>
    /// <paramref name="e"/>'s message without what its type appends to it, found as the message of the same type with
    /// the same facts and an empty message (so it is right in every language the runtime speaks).
    /// </summary>
    private static string Own(ArgumentException e, ArgumentException emptyProbe)
    {
        var appended = emptyProbe.Message;
        return appended.Length > 0 && e.Message.EndsWith(appended, StringComparison.Ordinal) ? e.Message[..^appended.Length] : e.Message;
    }
}
