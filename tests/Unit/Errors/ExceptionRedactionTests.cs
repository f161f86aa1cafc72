using System.Reflection;
using DataraxCkpt;
using Xunit;

namespace DataraxCkpt.Tests.Errors;

/// <summary>
/// <see cref="ExceptionRedaction.Redacted"/>, the one rule by which the cmdlets show an engine failure and
/// <see cref="CheckpointException.Redacted"/> shows its inner exceptions: a common .NET type stays the type a script
/// catches, any other becomes a stand-in naming it (also when it is redacted again), and no text keeps the secret.
/// </summary>
public sealed class ExceptionRedactionTests
{
    private const string Secret = "SECRETSIG";
    private const string Raw = "/runs/a?sv=1&sig=" + Secret;
    private const string Shown = "/runs/a?<redacted>";

    private static string ShowLocation(string location) => location == Raw ? Shown : location;

    private static string Scrub(string text) => text.Replace("?sv=1&sig=" + Secret, "?<redacted>", StringComparison.Ordinal);

    public static TheoryData<Exception> Rebuildable() =>
    [
        new ArgumentException($"cannot use '{Raw}'", "path"),
        new ArgumentException($"cannot use '{Raw}'", "path", new IOException($"at '{Raw}/1'")),
        new ArgumentException($"cannot use '{Raw}'"),
        new ArgumentNullException($"p{Raw}", $"nothing at '{Raw}'"),
        new ArgumentNullException($"nothing at '{Raw}'", new IOException($"at '{Raw}'")),
        new ArgumentOutOfRangeException("step", $"'{Raw}'", $"out of range at '{Raw}'"),
        new ArgumentOutOfRangeException("step", 7L, $"out of range at '{Raw}'"),
        new InvalidOperationException($"Step 9 exists in '{Raw}'"),
        new UnauthorizedAccessException($"Access to the path '{Raw}/7' is denied."),
        new IOException($"Cannot create '{Raw}/7'", new UnauthorizedAccessException($"denied '{Raw}'")),
        new FileNotFoundException($"no '{Raw}/i'", $"{Raw}/i"),
        new DirectoryNotFoundException($"no '{Raw}'"),
        new TimeoutException($"lock on '{Raw}'"),
        new NotSupportedException($"not on '{Raw}'"),
        new OperationCanceledException($"stopped at '{Raw}'"),
        new AggregateException($"two failed in '{Raw}'", new IOException($"at '{Raw}/1'"), new ArgumentException($"bad '{Raw}'", "x")),

        // Every type the rule says it rebuilds, each once: without a line of its own, one would become a stand-in and
        // nothing here would notice (found by removing the plain-Exception and FormatException lines).
        new Exception($"failed at '{Raw}'"),
        new FormatException($"bad number in '{Raw}'"),
        new KeyNotFoundException($"no key in '{Raw}'"),
        new InvalidDataException($"bad data in '{Raw}'"),
        new NotImplementedException($"not yet for '{Raw}'"),
        new PathTooLongException($"too long: '{Raw}'"),
        new EndOfStreamException($"short read of '{Raw}/1'"),
        new IOException($"two failed in '{Raw}'", new AggregateException(new FormatException($"bad '{Raw}'"), new Exception($"at '{Raw}'"))),
    ];

    [Theory]
    [MemberData(nameof(Rebuildable))]
    public void A_common_dotnet_type_is_rebuilt_as_the_same_type_with_the_same_parameter_and_no_secret(Exception original)
    {
        var shown = RebuiltAsItself(original);
        if (original is ArgumentException argument && (original.InnerException is null || original.GetType() == typeof(ArgumentException)))
        {
            Assert.Equal(argument.ParamName?.Replace(Raw, Shown, StringComparison.Ordinal), ((ArgumentException)shown).ParamName);
        }

        if (original is ArgumentOutOfRangeException { ActualValue: long value })
        {
            Assert.Equal(value, ((ArgumentOutOfRangeException)shown).ActualValue);
        }

        Assert.Contains(nameof(RedactedAfterThrow), shown.ToString(), StringComparison.Ordinal);
        for (var (o, s) = (original.InnerException, shown.InnerException); o is not null; (o, s) = (o.InnerException, s?.InnerException))
        {
            Assert.Equal(o.GetType(), s?.GetType());
        }

        AssertNoSecret(shown);
    }

    [Fact]
    public void An_inner_and_an_outer_IOException_follow_one_rule()
    {
        // Session 14 kept an outer IOException an IOException (the cmdlets' walker) but made an inner one a stand-in
        // (CheckpointException's walker); a script testing $_.Exception.InnerException -is [IO.IOException] broke.
        var io = new IOException($"cannot read '{Raw}/2/tensors.lz4'");
        var outer = ExceptionRedaction.Redacted(io, ShowLocation, Scrub);
        var corrupt = new CorruptCheckpointException(Raw, 2, null, "short", new IOException($"cannot read '{Raw}/2/tensors.lz4'"));
        var inner = corrupt.Redacted(ShowLocation, Scrub).InnerException;
        Assert.IsType<IOException>(outer);
        Assert.IsType<IOException>(inner);
        Assert.Equal(outer.Message, inner!.Message);
        AssertNoSecret(inner);
    }

    [Fact]
    public void A_type_that_cannot_be_rebuilt_becomes_a_stand_in_naming_it_and_stays_so_named_when_redacted_again()
    {
        var original = new ProgramFailure($"failed at '{Raw}' and 'SECOND'", 17);
        var once = ExceptionRedaction.Redacted(original, ShowLocation, Scrub);
        Assert.StartsWith(typeof(ProgramFailure).FullName + " (redacted): failed at '" + Shown + "'", once.ToString(), StringComparison.Ordinal);
        AssertNoSecret(once);

        // A second rule (another location's) finds more to redact in the stand-in: the original type is still named.
        var twice = ExceptionRedaction.Redacted(once, ShowLocation, t => t.Replace("SECOND", "<other>", StringComparison.Ordinal));
        Assert.NotSame(once, twice);
        Assert.StartsWith(typeof(ProgramFailure).FullName + " (redacted): failed at '" + Shown + "' and '<other>'", twice.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("RedactedException", twice.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A kind of a caught base type whose type has no constructor the rule can call for a message (its constructors give
    /// their arguments meanings of their own) became a plain Exception stand-in, so catch [IOException],
    /// [InvalidOperationException] or [OperationCanceledException] stopped matching it (final review); its stand-in now
    /// derives from that base.
    /// </summary>
    [Fact]
    public void A_kind_of_a_caught_base_type_without_a_message_constructor_becomes_a_stand_in_of_that_base_naming_the_kind()
    {
        using var source = new CancellationTokenSource();
        source.Cancel();
        var cases = new (Exception Original, Type Base)[]
        {
            (new CodedIOException(5, $"cannot load '{Raw}/x.dll'"), typeof(IOException)),
            (new CodedInvalidOperationException(6, $"used after disposal at '{Raw}'"), typeof(InvalidOperationException)),
            (new CodedCanceledException(7, $"stopped at '{Raw}'", source.Token), typeof(OperationCanceledException)),
        };
        foreach (var (original, expectedBase) in cases)
        {
            var shown = ExceptionRedaction.Redacted(original, ShowLocation, Scrub);
            Assert.IsAssignableFrom(expectedBase, shown);
            Assert.StartsWith(original.GetType().FullName + " (redacted)", shown.ToString(), StringComparison.Ordinal);
            Assert.Equal(original.HResult, shown.HResult);
            AssertNoSecret(shown);
            var twice = ExceptionRedaction.Redacted(shown, ShowLocation, t => t.Replace("a", "<a>", StringComparison.Ordinal));
            Assert.IsAssignableFrom(expectedBase, twice);
            Assert.StartsWith(original.GetType().FullName + " (redacted)", twice.ToString(), StringComparison.Ordinal);
        }

        var canceled = Assert.IsAssignableFrom<OperationCanceledException>(ExceptionRedaction.Redacted(cases[2].Original, ShowLocation, Scrub));
        Assert.Equal(source.Token, canceled.CancellationToken);
    }

    public static TheoryData<Exception> KeptByMessageConstructor() =>
    [
        new NullReferenceException($"reading '{Raw}'", new IOException($"at '{Raw}'")),
        new NullReferenceException($"reading '{Raw}'"),
        new IndexOutOfRangeException($"index in '{Raw}'"),
        new FileLoadException($"cannot load '{Raw}/x.dll'"),
        new ObjectDisposedException($"used after disposal at '{Raw}'", new IOException($"at '{Raw}'")),
        new TaskCanceledException($"stopped at '{Raw}'"),
        new System.Net.Http.HttpRequestException($"GET '{Raw}' failed", null, System.Net.HttpStatusCode.Forbidden),
        new System.Text.Json.JsonException($"bad JSON in '{Raw}'", "$.token", 3, 7, new FormatException($"at '{Raw}'")),
        new MessageOnlyFailure($"failed at '{Raw}'"),
        new MessageAndInnerFailure($"failed at '{Raw}'", new Exception($"inner '{Raw}'")),
    ];

    /// <summary>
    /// Found by the attack on redact16: a NullReferenceException, IndexOutOfRangeException, HttpRequestException or
    /// JsonException that quoted a secret became a stand-in derived from Exception, so a script's
    /// <c>catch [System.NullReferenceException]</c> stopped matching. Any type with a public (string, Exception) or (string)
    /// constructor is now rebuilt as itself.
    /// </summary>
    [Theory]
    [MemberData(nameof(KeptByMessageConstructor))]
    public void A_type_with_a_public_message_constructor_keeps_its_type_its_inner_type_and_its_facts(Exception original)
    {
        var shown = RebuiltAsItself(original);
        Assert.Equal(original.InnerException?.GetType(), shown.InnerException?.GetType());
        Assert.Contains(nameof(RedactedAfterThrow), shown.ToString(), StringComparison.Ordinal);
        if (original is System.Net.Http.HttpRequestException http)
        {
            Assert.Equal(http.StatusCode, ((System.Net.Http.HttpRequestException)shown).StatusCode);
        }

        if (original is System.Text.Json.JsonException json)
        {
            var shownJson = (System.Text.Json.JsonException)shown;
            Assert.Equal((json.Path, json.LineNumber, json.BytePositionInLine), (shownJson.Path, shownJson.LineNumber, shownJson.BytePositionInLine));
        }

        AssertNoSecret(shown);
    }

    /// <summary>
    /// Attack on redact17: a type rebuilt by its (string, Exception) or (string) constructor keeps its type but loses what
    /// else it holds, silently. Azure's RequestFailedException (the SDK's exception every Blob failure is) came back with
    /// Status 0 and no ErrorCode, so a script's <c>catch [Azure.RequestFailedException] { if ($_.Exception.Status -eq 404) }</c>
    /// takes the wrong branch; a Win32Exception's (string) constructor reads the thread's last P/Invoke error, so its
    /// NativeErrorCode became whatever call failed last.
    /// </summary>
    [Fact]
    public void A_rebuilt_exception_keeps_the_status_and_codes_its_type_carries()
    {
        var failed = RedactedAfterThrow(new Azure.RequestFailedException(403, $"Server failed to authenticate '{Raw}'", "AuthenticationFailed", null));
        var azure = Assert.IsType<Azure.RequestFailedException>(failed);
        Assert.Equal((403, "AuthenticationFailed"), (azure.Status, azure.ErrorCode));
        AssertNoSecret(azure);

        System.Runtime.InteropServices.Marshal.SetLastPInvokeError(0);
        var win32 = RedactedAfterThrow(new System.ComponentModel.Win32Exception(5, $"Access to '{Raw}' is denied"));
        Assert.Equal(5, Assert.IsType<System.ComponentModel.Win32Exception>(win32).NativeErrorCode);
        AssertNoSecret(win32);
    }

    /// <summary>
    /// redact18: a SocketException has no (string) or (string, Exception) constructor, so it became a stand-in derived from
    /// Exception: <c>catch [System.Net.Sockets.SocketException]</c> missed it, and its SocketErrorCode and ErrorCode, which
    /// a script branches on (refused or timed out), were gone. One made from a code, and one a refused connection threw
    /// (its native error is the platform's own), are rebuilt as themselves with both kept.
    /// </summary>
    [Fact]
    public void A_SocketException_is_rebuilt_as_itself_with_its_socket_error_code_and_error_code()
    {
        var made = new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused, $"Connection to '{Raw}' refused");
        System.Net.Sockets.SocketException refused;
        using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            // Port 1 on the loopback: nothing listens there, and the refusal comes at once.
            refused = Assert.Throws<System.Net.Sockets.SocketException>(() => socket.Connect(System.Net.IPAddress.Loopback, 1));
        }

        refused.Data["Uri"] = Raw;
        foreach (var original in new[] { made, refused })
        {
            var shown = Assert.IsType<System.Net.Sockets.SocketException>(RedactedAfterThrow(original));
            Assert.NotSame(original, shown);
            Assert.Equal(original.SocketErrorCode, shown.SocketErrorCode);
            Assert.Equal(original.ErrorCode, shown.ErrorCode);
            Assert.Equal(original.NativeErrorCode, shown.NativeErrorCode);
            Assert.Equal(original.Message.Replace(Raw, Shown, StringComparison.Ordinal), shown.Message);
            AssertNoSecret(shown);
        }
    }

    /// <summary>
    /// Attack on redact17: the rule that a constructor's copy is kept only when it reads the message as its Message, and
    /// that a constructor which throws leaves the stand-in, had no test (removing either check failed none). A type whose
    /// (string) constructor takes a name, or refuses the redacted text, becomes a stand-in with the redacted message.
    /// </summary>
    [Fact]
    public void A_type_whose_message_constructor_means_something_else_or_throws_becomes_a_stand_in()
    {
        foreach (var original in new Exception[] { new NameOnlyFailure($"store at '{Raw}'"), new RefusingFailure($"failed at '{Raw}'") })
        {
            var shown = RedactedAfterThrow(original);
            Assert.NotEqual(original.GetType(), shown.GetType());
            Assert.Equal(ExceptionRedaction.OriginalTypeOf(original), ExceptionRedaction.OriginalTypeOf(shown));
            Assert.Equal(original.Message.Replace(Raw, Shown, StringComparison.Ordinal), shown.Message);
            AssertNoSecret(shown);
        }
    }

    [Fact]
    public void A_database_exception_becomes_a_stand_in_that_is_still_a_DbException_with_its_error_code()
    {
        var original = new ProviderFailure($"unable to open database file '{Raw}/index.sqlite'", 14);
        var shown = ExceptionRedaction.Redacted(original, ShowLocation, Scrub);
        var database = Assert.IsAssignableFrom<System.Data.Common.DbException>(shown);
        Assert.Equal(14, database.ErrorCode);
        Assert.Equal($"unable to open database file '{Shown}/index.sqlite'", shown.Message);
        Assert.StartsWith(typeof(ProviderFailure).FullName + " (redacted)", shown.ToString(), StringComparison.Ordinal);
        AssertNoSecret(shown);
        var twice = ExceptionRedaction.Redacted(shown, ShowLocation, t => t.Replace("index", "<other>", StringComparison.Ordinal));
        Assert.StartsWith(typeof(ProviderFailure).FullName + " (redacted)", twice.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_stand_in_redacted_again_names_the_original_type()
    {
        var original = new ProgramDefinedException(Raw, "SECOND");
        var once = original.Redacted(ShowLocation, Scrub);
        Assert.StartsWith(typeof(ProgramDefinedException).FullName + " (redacted)", once.ToString(), StringComparison.Ordinal);
        var twice = once.Redacted(ShowLocation, t => t.Replace("SECOND", "<other>", StringComparison.Ordinal));
        Assert.NotSame(once, twice);
        Assert.Equal("ProgramDefined", twice.ErrorId);
        Assert.Equal(5, twice.Step);
        Assert.Contains("<other>", twice.Message, StringComparison.Ordinal);
        Assert.StartsWith(typeof(ProgramDefinedException).FullName + " (redacted)", twice.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("RedactedCheckpointException", twice.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_checkpoint_exception_of_the_library_rebuilds_itself()
    {
        // A subtype without its own RebuiltOn would silently be shown as a stand-in, so `catch [ItsType]` would stop
        // matching once a SAS path is redacted from it.
        var subtypes = typeof(CheckpointException).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(CheckpointException)) && !t.IsAbstract)
            .ToList();
        Assert.True(subtypes.Count >= 13, $"only {subtypes.Count} subtypes found");
        var missing = subtypes
            .Where(t => t.GetMethod("RebuiltOn", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.DeclaredOnly) is null)
            .Select(t => t.FullName)
            .ToList();
        Assert.True(missing.Count == 0, "no RebuiltOn override: " + string.Join(", ", missing));
    }

    [Fact]
    public void An_actual_value_that_is_not_a_string_but_quotes_the_secret_is_not_shown_again()
    {
        // The message is rebuilt from the facts: an ActualValue kept as it was (a Uri) appends its text once more.
        var original = new ArgumentOutOfRangeException("location", new Uri("https://acct.blob.core.windows.net/c" + Raw.Replace("/runs/a", string.Empty, StringComparison.Ordinal)), "no such location");
        Assert.Contains(Secret, original.Message, StringComparison.Ordinal);
        var shown = ExceptionRedaction.Redacted(original, ShowLocation, Scrub);
        var argument = Assert.IsType<ArgumentOutOfRangeException>(shown);
        Assert.Equal("location", argument.ParamName);
        Assert.DoesNotContain(Secret, argument.ActualValue?.ToString() ?? string.Empty, StringComparison.Ordinal);
        AssertNoSecret(shown);
    }

    [Fact]
    public void A_secret_only_in_Data_or_the_help_link_is_redacted_too()
    {
        // Get-Error prints Data (keys and values) and HelpLink; a clean message is no reason to show them whole.
        var io = new IOException("cannot read the step");
        io.Data["location"] = Raw;
        io.Data[Raw] = 1L;
        io.HelpLink = "https://help.example/x" + Raw.Replace("/runs/a", string.Empty, StringComparison.Ordinal);
        var shown = ExceptionRedaction.Redacted(io, ShowLocation, Scrub);
        Assert.IsType<IOException>(shown);
        AssertNoSecretInData(shown);
        Assert.DoesNotContain(Secret, shown.HelpLink ?? string.Empty, StringComparison.Ordinal);

        var corrupt = new CorruptCheckpointException("/runs/b", 2, null, "short", null);
        corrupt.Data["location"] = Raw;
        corrupt.Data[Raw] = 1L;
        AssertNoSecretInData(corrupt.Redacted(ShowLocation, Scrub));

        // As the inner exception of a checkpoint exception too.
        var outer = new CorruptCheckpointException("/runs/b", 2, null, "short", io);
        AssertNoSecretInData(outer.Redacted(ShowLocation, Scrub).InnerException!);
    }

    private static void AssertNoSecretInData(Exception exception)
    {
        foreach (System.Collections.DictionaryEntry entry in exception.Data)
        {
            Assert.DoesNotContain(Secret, entry.Key.ToString() ?? string.Empty, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, entry.Value?.ToString() ?? string.Empty, StringComparison.Ordinal);
        }
    }

    // Redacted after a throw (so it has a stack trace): a new exception of the same type, message redacted, same HResult.
    private static Exception RebuiltAsItself(Exception original)
    {
        Assert.Contains(Secret, original.ToString(), StringComparison.Ordinal);
        var shown = RedactedAfterThrow(original);
        Assert.NotSame(original, shown);
        Assert.Equal(original.GetType(), shown.GetType());
        Assert.Equal(original.Message.Replace(Raw, Shown, StringComparison.Ordinal), shown.Message);
        Assert.Equal(original.HResult, shown.HResult);
        return shown;
    }

    private static Exception RedactedAfterThrow(Exception original)
    {
        try
        {
            throw original;
        }
        catch (Exception thrown)
        {
            return ExceptionRedaction.Redacted(thrown, ShowLocation, Scrub);
        }
    }

    private static void AssertNoSecret(Exception exception)
    {
        Assert.DoesNotContain(Secret, exception.ToString(), StringComparison.Ordinal);
        var pending = new Stack<Exception>([exception]);
        while (pending.TryPop(out var e))
        {
            foreach (var property in e.GetType().GetProperties().Where(p => p.GetIndexParameters().Length == 0))
            {
                // Any property, by its text (an ActualValue that is a Uri, a HelpLink), not only the string ones.
                if (property.GetValue(e) is { } value and not Exception)
                {
                    Assert.DoesNotContain(Secret, value.ToString() ?? string.Empty, StringComparison.Ordinal);
                }
            }

            AssertNoSecretInData(e);

            if (e.InnerException is { } inner)
            {
                pending.Push(inner);
            }

            if (e is AggregateException aggregate)
            {
                foreach (var part in aggregate.InnerExceptions)
                {
                    pending.Push(part);
                }
            }
        }
    }

    /// <summary>An exception type with no public (string) or (string, Exception) constructor: the redaction cannot know its constructors.</summary>
    private sealed class ProgramFailure : Exception
    {
        public ProgramFailure(string message, int code)
            : base(message) => HResult = code;
    }

    /// <summary>A program's exception whose public (string) constructor takes a name, not the message.</summary>
    private sealed class NameOnlyFailure(string name) : Exception($"'{name}' could not be used");

    /// <summary>A program's exception whose public (string) constructor refuses a redacted text.</summary>
    private sealed class RefusingFailure : Exception
    {
        public RefusingFailure(string message)
            : base(message.Contains("redacted", StringComparison.Ordinal) ? throw new ArgumentException("no copies", nameof(message)) : message)
        {
        }
    }

    /// <summary>A program's exception with a public (string) constructor.</summary>
    private sealed class MessageOnlyFailure(string message) : Exception(message);

    /// <summary>A program's exception with a public (string, Exception) constructor.</summary>
    private sealed class MessageAndInnerFailure(string message, Exception inner) : Exception(message, inner);

    /// <summary>An IOException whose only constructor takes a code first.</summary>
    private sealed class CodedIOException(int code, string message) : IOException(message, code);

    /// <summary>An InvalidOperationException whose only constructor takes a code first.</summary>
    private sealed class CodedInvalidOperationException(int code, string message) : InvalidOperationException(message)
    {
        public int Code { get; } = code;
    }

    /// <summary>An OperationCanceledException whose only constructor takes a code first.</summary>
    private sealed class CodedCanceledException(int code, string message, CancellationToken token) : OperationCanceledException(message, token)
    {
        public int Code { get; } = code;
    }

    /// <summary>A database provider's exception (as SqliteException is), whose constructors the redaction cannot know.</summary>
    private sealed class ProviderFailure : System.Data.Common.DbException
    {
        public ProviderFailure(string message, int errorCode)
            : base(message, errorCode)
        {
        }
    }

    /// <summary>A checkpoint exception a program defines for itself.</summary>
    private sealed class ProgramDefinedException : CheckpointException
    {
        public ProgramDefinedException(string directory, string extra)
            : base("ProgramDefined", $"could not finish '{directory}' ({extra})", directory, 5)
        {
        }
    }
}
