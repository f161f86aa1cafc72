namespace DataraxCkpt;

/// <summary>
/// Base of every failure the engine reports. <see cref="ErrorId"/> is stable across versions so that
/// scripts and the PowerShell module can branch on it; the message says what, where and what to do.
/// </summary>
public abstract class CheckpointException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected CheckpointException(string errorId, string message, string? directory, long? step, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Directory = directory;
        Step = step;
    }

    /// <summary>Stable identifier of the failure kind, e.g. <c>StepNotFound</c>.</summary>
    public string ErrorId { get; }

    /// <summary>The checkpoint directory concerned, when there is one.</summary>
    public string? Directory { get; }

    /// <summary>The step concerned, when there is one.</summary>
    public long? Step { get; }

    /// <summary>
    /// This exception as it may be shown to a user when a location must not be shown whole (a SAS URL's signature, a
    /// local folder whose name holds one): a copy of the same type and error id, built again on
    /// <paramref name="showLocation"/>(<see cref="Directory"/>), with every other text it carries (a problem, an item,
    /// the inner exceptions' messages) passed through <paramref name="scrubText"/>, and the original stack trace kept.
    /// An inner exception is shown by the same rule as the module shows any engine failure: rebuilt as its own type when
    /// it is a common .NET type, otherwise replaced by a stand-in that names its type.
    /// Returns this exception itself when nothing it holds would change.
    /// </summary>
    /// <param name="showLocation">Turns a whole location into the form that may be shown.</param>
    /// <param name="scrubText">Turns a text that may quote a location anywhere into the form that may be shown.</param>
    public CheckpointException Redacted(Func<string, string> showLocation, Func<string, string> scrubText)
    {
        ArgumentNullException.ThrowIfNull(showLocation);
        ArgumentNullException.ThrowIfNull(scrubText);
        var raw = Directory;
        var shown = raw is null ? null : showLocation(raw);

        // A text may quote the directory with characters scrubText cannot tell from the end of a query (a space).
        string Text(string text) => scrubText(raw is null || shown == raw ? text : text.Replace(raw, shown, StringComparison.Ordinal));

        var inner = InnerException is { } i ? ExceptionRedaction.Redacted(i, showLocation, Text) : null;
        var copy = RebuiltOn(shown, Text, inner)
            ?? new RedactedCheckpointException(GetType().FullName ?? GetType().Name, ErrorId, Step, shown, Text(Message), inner);
        if (copy.Message == Message && copy.Directory == Directory && ReferenceEquals(inner, InnerException) && !ExceptionRedaction.ExtrasChange(this, Text))
        {
            return this;
        }

        copy.HResult = HResult;
        ExceptionRedaction.CopyExtras(this, copy, Text);

        return StackTrace is { } trace ? (CheckpointException)System.Runtime.ExceptionServices.ExceptionDispatchInfo.SetRemoteStackTrace(copy, trace) : copy;
    }

    /// <summary>
    /// A new exception of this exception's type carrying the same facts, with <paramref name="directory"/> as its
    /// directory, every other text passed through <paramref name="text"/>, and <paramref name="inner"/> as its inner
    /// exception. Each subtype builds itself again with its own constructor, so the message follows from its facts.
    /// Null for a subtype defined outside this library (it cannot override this): it is then shown as a stand-in of
    /// the same error id, directory shown, step and redacted message.
    /// </summary>
    private protected virtual CheckpointException? RebuiltOn(string? directory, Func<string, string> text, Exception? inner) => null;
}

/// <summary>
/// Stands in for a checkpoint exception of a type defined outside this library whose texts quoted a location that may
/// not be shown (see <see cref="CheckpointException.Redacted"/>): the same error id and step, the shown directory and
/// the redacted message; <see cref="ToString"/> names the original type, and so does a stand-in built from this one.
/// </summary>
internal sealed class RedactedCheckpointException : CheckpointException, IRedactedStandIn
{
    public RedactedCheckpointException(string originalType, string errorId, long? step, string? directory, string message, Exception? inner)
        : base(errorId, message, directory, step, inner)
    {
        OriginalType = originalType;
    }

    /// <summary>The full name of the exception this one stands in for.</summary>
    public string OriginalType { get; }

    /// <inheritdoc />
    public override string ToString() => StandInText.Of(this, base.ToString(), OriginalType);

    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner) =>
        new RedactedCheckpointException(OriginalType, ErrorId, Step, directory, text(Message), inner);
}

/// <summary>The checkpoint directory does not exist.</summary>
public sealed class CheckpointDirectoryNotFoundException : CheckpointException
{
    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner) =>
        new CheckpointDirectoryNotFoundException(directory!);

    /// <summary>Creates the exception for <paramref name="directory"/>.</summary>
    public CheckpointDirectoryNotFoundException(string directory)
        : base("DirectoryNotFound",
            $"Checkpoint directory '{directory}' does not exist. Check the path, or save a checkpoint there first.",
            directory, null)
    {
    }
}

/// <summary>The directory exists but holds no committed checkpoint.</summary>
public sealed class NoCheckpointsException : CheckpointException
{
    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner) =>
        new NoCheckpointsException(directory!);

    /// <summary>Creates the exception for <paramref name="directory"/>.</summary>
    public NoCheckpointsException(string directory)
        : base("NoCheckpoints",
            $"Checkpoint directory '{directory}' holds no checkpoints. Save one first, or check the path.",
            directory, null)
    {
    }
}

/// <summary>The requested step is not committed in the directory.</summary>
public sealed class StepNotFoundException : CheckpointException
{
    private readonly IReadOnlyList<long>? _available;

    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner) =>
        new StepNotFoundException(directory!, Step!.Value, _available);

    /// <summary>Creates the exception.</summary>
    public StepNotFoundException(string directory, long step, IReadOnlyList<long>? available = null)
        : base("StepNotFound",
            $"Step {step} does not exist in checkpoint directory '{directory}'." + Available(available),
            directory, step)
    {
        _available = available;
    }

    private static string Available(IReadOnlyList<long>? steps)
    {
        if (steps is null || steps.Count == 0)
        {
            return " The directory holds no checkpoints.";
        }

        var shown = steps.Count <= 10 ? string.Join(", ", steps) : string.Join(", ", steps.Take(5)) + ", …, " + string.Join(", ", steps.Skip(steps.Count - 5));
        return $" Available steps: {shown}.";
    }
}

/// <summary>A save targeted a step that is already committed and overwrite was not asked for.</summary>
public sealed class StepExistsException : CheckpointException
{
    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner) =>
        new StepExistsException(directory!, Step!.Value);

    /// <summary>Creates the exception.</summary>
    public StepExistsException(string directory, long step)
        : base("StepExists",
            $"Step {step} already exists in checkpoint directory '{directory}'. Pass overwrite (-Overwrite) to replace it, or choose another step.",
            directory, step)
    {
    }
}

/// <summary>Stored bytes failed a check: checksum, length, structure or index agreement.</summary>
public sealed class CorruptCheckpointException : CheckpointException
{
    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner) =>
        new CorruptCheckpointException(directory!, Step, Item is null ? null : text(Item), text(Problem), inner);

    /// <summary>Creates the exception.</summary>
    public CorruptCheckpointException(string directory, long? step, string? item, string problem, Exception? inner = null)
        : base("CorruptCheckpoint", step is null
            // No step: the store itself (its index) failed; "step ?" and "restore another step" would send the reader astray.
            ? $"The checkpoint directory '{directory}' is damaged" + (item is null ? string.Empty : $" (its '{item}')")
                + $": {problem}. Run Repair-CheckpointIndex on '{directory}' to rebuild its index from the step folders."
            : $"Checkpoint step {step.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)} in '{directory}' is corrupt"
                + (item is null ? string.Empty : $" (item '{item}')")
                + $": {problem}. Restore another step, or run Repair-CheckpointIndex / Test-Checkpoint to inspect the store.",
            directory, step, inner)
    {
        Item = item;
        Problem = problem;
    }

    /// <summary>The stored item that failed, or null when the step as a whole failed.</summary>
    public string? Item { get; }

    /// <summary>What check failed, without the surrounding advice.</summary>
    public string Problem { get; }
}

/// <summary>A value in the state cannot be stored. Raised before anything is written.</summary>
public sealed class UnsupportedValueException : CheckpointException
{
    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner) =>
        new UnsupportedValueException(text(ValuePath), text(Problem));

    /// <summary>Creates the exception.</summary>
    public UnsupportedValueException(string valuePath, string problem)
        : base("UnsupportedValue",
            $"The value at '{valuePath}' cannot be checkpointed: {problem}. Store plain data (dictionaries, lists, numbers, strings, arrays, tensors, PRNG keys) instead.",
            null, null)
    {
        ValuePath = valuePath;
        Problem = problem;
    }

    /// <summary>Path of the offending value, such as <c>state.model.act_fn</c>.</summary>
    public string ValuePath { get; }

    /// <summary>Why the value was refused.</summary>
    public string Problem { get; }
}

/// <summary>A restored state does not fit the object it is restored into.</summary>
public sealed class IncompatibleStateException : CheckpointException
{
    private readonly string? _what;
    private readonly string? _detail;

    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner) =>
        _what is null
            ? new IncompatibleStateException(text(Item!), text(Expected!), text(Found!))
            : new IncompatibleStateException(text(_what), DifferingFields.Select(text).ToList(), text(_detail!));

    /// <summary>Creates the exception.</summary>
    public IncompatibleStateException(string what, IReadOnlyList<string> differingFields, string detail)
        : base("IncompatibleState",
            $"The checkpoint does not fit this {what}: {detail}. Differing fields: {string.Join(", ", differingFields)}. Restore into a {what} built with the same configuration.",
            null, null)
    {
        DifferingFields = differingFields;
        _what = what;
        _detail = detail;
    }

    /// <summary>
    /// Creates the exception for a restore into an existing state (<c>RestoreInto</c>, <c>Restore-Checkpoint -Into</c>):
    /// the stored item <paramref name="item"/> is <paramref name="expected"/> but the target holds <paramref name="found"/>
    /// there. Raised before anything is written.
    /// </summary>
    public IncompatibleStateException(string item, string expected, string found)
        : base("IncompatibleState",
            $"The checkpoint does not fit the target state at item '{item}': the checkpoint holds {expected}, the target holds {found}. Nothing was restored. "
            + "Restore into a state built with the same shapes and element types, or restore without a target to get new arrays.",
            null, null)
    {
        DifferingFields = [item];
        Item = item;
        Expected = expected;
        Found = found;
    }

    /// <summary>Names of the fields that differ between the checkpoint and the target.</summary>
    public IReadOnlyList<string> DifferingFields { get; }

    /// <summary>The stored item that does not fit, for a restore into an existing state; otherwise null.</summary>
    public string? Item { get; }

    /// <summary>What the checkpoint holds at <see cref="Item"/> (element type and shape), or null.</summary>
    public string? Expected { get; }

    /// <summary>What the target holds at <see cref="Item"/>, or null.</summary>
    public string? Found { get; }
}

/// <summary>A pinned step was asked to be removed without force.</summary>
public sealed class StepPinnedException : CheckpointException
{
    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner) =>
        new StepPinnedException(directory!, Step!.Value);

    /// <summary>Creates the exception.</summary>
    public StepPinnedException(string directory, long step)
        : base("StepPinned",
            $"Step {step} in checkpoint directory '{directory}' is pinned and was not removed. Unpin it (Unlock-Checkpoint) or pass force (-Force) to remove it anyway.",
            directory, step)
    {
    }
}

/// <summary>
/// A step was written by a newer format version, or requires a format feature this engine does not
/// know. The step is not corrupt: it is listed, and retention and repair leave it alone; a newer
/// DataraxCkpt restores it.
/// </summary>
public sealed class UnsupportedFormatVersionException : CheckpointException
{
    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner) =>
        Step is long step
            ? new UnsupportedFormatVersionException(directory!, step, StepVersion, SupportedVersion, UnknownFeatures.Select(text).ToList())
            : new UnsupportedFormatVersionException(directory!, StepVersion, SupportedVersion);

    /// <summary>Creates the exception.</summary>
    public UnsupportedFormatVersionException(string directory, long step, int stepVersion, int supportedVersion, IReadOnlyList<string> unknownFeatures)
        : base("UnsupportedFormatVersion",
            $"Checkpoint step {step} in '{directory}' was written by format version {stepVersion}"
            + (unknownFeatures.Count == 0 ? string.Empty : $" with features this engine does not know ({FeatureText(unknownFeatures)})")
            + $"; this DataraxCkpt reads format version {supportedVersion}. Upgrade DataraxCkpt to restore it; the step is kept as it is.",
            directory, step)
    {
        StepVersion = stepVersion;
        SupportedVersion = supportedVersion;
        UnknownFeatures = unknownFeatures;
    }

    /// <summary>
    /// Creates the exception for a directory whose index was written by a newer schema version: the
    /// index is not damaged, so it must not be set aside and rebuilt by this engine.
    /// </summary>
    public UnsupportedFormatVersionException(string directory, int indexVersion, int supportedVersion)
        : base("UnsupportedFormatVersion",
            $"The index of checkpoint directory '{directory}' was written with index schema version {indexVersion}; this DataraxCkpt reads "
            + $"index schema version {supportedVersion}. Upgrade DataraxCkpt to use this directory; the index and every step are kept as they are.",
            directory, null)
    {
        StepVersion = indexVersion;
        SupportedVersion = supportedVersion;
        UnknownFeatures = [];
    }

    /// <summary>The format version the step's manifest declares (for an index, its schema version).</summary>
    public int StepVersion { get; }

    /// <summary>The highest format version this engine reads.</summary>
    public int SupportedVersion { get; }

    /// <summary>Required features the step lists that this engine does not know; empty when only the version is newer.</summary>
    public IReadOnlyList<string> UnknownFeatures { get; }

    /// <summary>
    /// The features for a message: a manifest may list any number of any length, so the message names
    /// the first few, each cut short, and counts the rest.
    /// </summary>
    internal static string FeatureText(IReadOnlyList<string> features)
    {
        const int Shown = 5;
        const int Longest = 64;
        var names = features.Take(Shown).Select(f => f.Length <= Longest ? f : f[..Longest] + "…");
        return string.Join(", ", names) + (features.Count > Shown ? $" and {features.Count - Shown} more" : string.Empty);
    }
}

/// <summary>
/// A save was committed (the step is durable, listed and restorable) but the retention that runs after
/// it failed. <see cref="Checkpoint"/> is the committed record; <see cref="Exception.InnerException"/>
/// is why retention failed. Callers treat the save as done and the retention as not run.
/// </summary>
public sealed class RetentionFailedException : CheckpointException
{
    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner)
    {
        var c = Checkpoint;
        var shown = new CheckpointInfo(c.Step, text(c.Path), directory!, c.CreatedUtc, c.Size, c.StoredSize, c.ItemCount, () => c.Metadata, c.Pinned);
        return new RetentionFailedException(shown, Keep, inner!);
    }

    /// <summary>Creates the exception for a committed <paramref name="checkpoint"/>.</summary>
    public RetentionFailedException(CheckpointInfo checkpoint, int keep, Exception failure)
        : base("RetentionFailed",
            $"Step {checkpoint?.Step} was saved and committed in '{checkpoint?.Directory}', but retention (keep {keep}) failed afterwards: "
            + $"{failure?.Message.TrimEnd('.')}. The step is safe; no step was removed that is still listed. Fix the cause and prune again (Remove-Checkpoint -Keep {keep}).",
            checkpoint?.Directory, checkpoint?.Step, failure)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(failure);
        Checkpoint = checkpoint;
        Keep = keep;
    }

    /// <summary>The committed step's record, as stored.</summary>
    public CheckpointInfo Checkpoint { get; }

    /// <summary>The number of steps the failed retention was to keep.</summary>
    public int Keep { get; }
}

/// <summary>
/// The checkpoint directory is on a file system the engine cannot keep its guarantees on (a network file
/// system: NFS, SMB, CIFS), and <see cref="CheckpointOptions.AllowNetworkFileSystem"/> is not set.
/// </summary>
public sealed class UnsupportedFileSystemException : CheckpointException
{
    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner) =>
        new UnsupportedFileSystemException(directory!, FileSystem);

    /// <summary>Creates the exception for <paramref name="directory"/> on <paramref name="fileSystem"/>.</summary>
    public UnsupportedFileSystemException(string directory, string fileSystem)
        : base("UnsupportedFileSystem",
            $"Checkpoint directory '{directory}' is on a network file system ({fileSystem}). Its directory lock does not exclude other hosts and SQLite's write-ahead log is not supported there, so concurrent use could lose steps. "
            + "Use a local directory (copy checkpoints to the share afterwards), or, if only one process on one host uses it at a time, set CheckpointOptions.AllowNetworkFileSystem (or the environment variable DATARAXCKPT_ALLOW_NETWORK_FS=1).",
            directory, null)
    {
        FileSystem = fileSystem;
    }

    /// <summary>The file system found, e.g. <c>NFS</c>.</summary>
    public string FileSystem { get; }
}

/// <summary>
/// This process's .NET runtime takes no file locks (the environment variable <c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c> or
/// the AppContext switch <c>System.IO.DisableFileLocking</c>), so a local checkpoint directory is not opened for writing:
/// its directory lock and each save's staging lock would exclude no one. Refused unless
/// <see cref="CheckpointOptions.AllowNetworkFileSystem"/> promises a single writer. Error id <c>FileLockingDisabled</c>.
/// </summary>
public sealed class FileLockingDisabledException : CheckpointException
{
    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner) =>
        new FileLockingDisabledException(directory!);

    /// <summary>Creates the exception for <paramref name="directory"/>.</summary>
    public FileLockingDisabledException(string directory)
        : base("FileLockingDisabled",
            $"Checkpoint directory '{directory}' cannot be written by this process: its .NET runtime's file locking is turned off (environment variable DOTNET_SYSTEM_IO_DISABLEFILELOCKING or AppContext switch System.IO.DisableFileLocking). "
            + "The directory's lock keeps writers apart, and each save's staging lock tells a save in progress from a killed one's leftovers that recovery removes; with locking off neither excludes anyone, so two writers could lose steps and one process's recovery would delete another's save while it is written. "
            + "Unset DOTNET_SYSTEM_IO_DISABLEFILELOCKING (or set the switch to false) for processes that save, prune, pin or repair (a repair's -WhatIf too: it takes the same lock). Listing, restoring and verifying still work, except a restore that must first finish another process's interrupted work, which is refused as well. "
            + "If only one process ever uses the directory at a time, set CheckpointOptions.AllowNetworkFileSystem (or the environment variable DATARAXCKPT_ALLOW_NETWORK_FS=1) to write anyway.",
            directory, null)
    {
    }
}

/// <summary>
/// A remote store refused a request for lack of rights (HTTP 403): a SAS without the right the operation needs, an
/// identity without a data role, or credentials the store did not accept. The message names the location, what
/// was refused and which SAS right or Azure role to grant. Error id <c>AccessDenied</c>, as for a local directory
/// the process may not write.
/// </summary>
public sealed class StoreAccessDeniedException : CheckpointException
{
    private readonly string _cause;
    private readonly string _remedy;

    private protected override CheckpointException RebuiltOn(string? directory, Func<string, string> text, Exception? inner) =>
        new StoreAccessDeniedException(directory!, Operation, Item is null ? null : text(Item), text(_cause), text(_remedy), inner);

    /// <summary>Creates the exception.</summary>
    /// <param name="location">The location as shown to users (never with a SAS).</param>
    /// <param name="operation"><c>list</c>, <c>read</c>, <c>write</c> or <c>delete</c>.</param>
    /// <param name="item">The refused blob under the location (e.g. <c>commits/…</c>), or null for a listing.</param>
    /// <param name="cause">The store's answer, e.g. <c>403 AuthorizationPermissionMismatch</c>.</param>
    /// <param name="remedy">What to grant or fix.</param>
    /// <param name="inner">The store's error.</param>
    public StoreAccessDeniedException(string location, string operation, string? item, string cause, string remedy, Exception? inner = null)
        : base("AccessDenied",
            $"Access denied to checkpoint location '{location}': the store refused to {Verb(operation)}"
            + (item is null ? string.Empty : $" '{item}'") + $" ({cause}). {remedy}",
            location, null, inner)
    {
        Operation = operation;
        Item = item;
        _cause = cause;
        _remedy = remedy;
    }

    /// <summary>What was refused: <c>list</c>, <c>read</c>, <c>write</c> or <c>delete</c> (named as a SAS's rights are).</summary>
    public string Operation { get; }

    /// <summary>The refused blob under the location, or null for a listing.</summary>
    public string? Item { get; }

    private static string Verb(string operation) => operation switch
    {
        "list" => "list its blobs",
        _ => operation,
    };
}
