namespace DataraxCkpt;

/// <summary>
/// A stand-in exception (<see cref="ExceptionRedaction.Redacted"/>): it shows an exception whose texts quoted a location
/// that may not be shown, redacted, under a type a script still catches, and names the type it stands in for.
/// </summary>
internal interface IRedactedStandIn
{
    /// <summary>The full name of the exception this one stands in for.</summary>
    string OriginalType { get; }
}

/// <summary>The text of a stand-in exception, with the original type's name where its own would stand.</summary>
internal static class StandInText
{
    public static string Of(Exception standIn, string text, string originalType)
    {
        var own = standIn.GetType().FullName!;
        return text.StartsWith(own, StringComparison.Ordinal) ? originalType + " (redacted)" + text[own.Length..] : text;
    }
}

/// <summary>Stands in for an exception of a type with no nearer base a script catches than <see cref="Exception"/>.</summary>
internal sealed class RedactedException : Exception, IRedactedStandIn
{
    public RedactedException(string originalType, string message, Exception? inner)
        : base(message, inner) => OriginalType = originalType;

    /// <inheritdoc />
    public string OriginalType { get; }

    /// <inheritdoc />
    public override string ToString() => StandInText.Of(this, base.ToString(), OriginalType);
}

/// <summary>Stands in for a database exception (a SqliteException): a <see cref="System.Data.Common.DbException"/> still.</summary>
internal sealed class RedactedDbException : System.Data.Common.DbException, IRedactedStandIn
{
    public RedactedDbException(string originalType, string message, Exception? inner)
        : base(message, inner) => OriginalType = originalType;

    /// <inheritdoc />
    public string OriginalType { get; }

    /// <inheritdoc />
    public override string ToString() => StandInText.Of(this, base.ToString(), OriginalType);
}

/// <summary>Stands in for an <see cref="IOException"/> of a kind not rebuilt as itself (a FileLoadException, …).</summary>
internal sealed class RedactedIOException : IOException, IRedactedStandIn
{
    public RedactedIOException(string originalType, string message, Exception? inner)
        : base(message, inner) => OriginalType = originalType;

    /// <inheritdoc />
    public string OriginalType { get; }

    /// <inheritdoc />
    public override string ToString() => StandInText.Of(this, base.ToString(), OriginalType);
}

/// <summary>Stands in for an <see cref="InvalidOperationException"/> of a kind not rebuilt as itself (an ObjectDisposedException, …).</summary>
internal sealed class RedactedInvalidOperationException : InvalidOperationException, IRedactedStandIn
{
    public RedactedInvalidOperationException(string originalType, string message, Exception? inner)
        : base(message, inner) => OriginalType = originalType;

    /// <inheritdoc />
    public string OriginalType { get; }

    /// <inheritdoc />
    public override string ToString() => StandInText.Of(this, base.ToString(), OriginalType);
}

/// <summary>Stands in for an <see cref="OperationCanceledException"/> of a kind not rebuilt as itself (a TaskCanceledException, …), with its token.</summary>
internal sealed class RedactedOperationCanceledException : OperationCanceledException, IRedactedStandIn
{
    public RedactedOperationCanceledException(string originalType, string message, Exception? inner, CancellationToken token)
        : base(message, inner, token) => OriginalType = originalType;

    /// <inheritdoc />
    public string OriginalType { get; }

    /// <inheritdoc />
    public override string ToString() => StandInText.Of(this, base.ToString(), OriginalType);
}
