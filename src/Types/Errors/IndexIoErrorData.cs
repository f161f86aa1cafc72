namespace DataraxCkpt;

/// <summary>
/// The keys under which an <see cref="System.IO.IOException"/> on the checkpoint index, or of a read of a step's files, carries what it was, in its
/// <see cref="Exception.Data"/>. The engine writes them and the cmdlets read them: one definition, so that renaming a key
/// cannot leave a reader looking for the old name (a read would then show as a WriteError again).
/// </summary>
public static class IndexIoErrorData
{
    /// <summary>
    /// The errno the system gave for an I/O error on the index or a failed read of a step's files (an <see cref="int"/>, e.g. 5 for EIO; absent when none
    /// was given): <c>e.Data[IndexIoErrorData.SystemErrno]</c>, in PowerShell
    /// <c>$_.Exception.Data['DataraxCkpt.SystemErrno']</c> (docs/cmdlets.md, IOError).
    /// </summary>
    public const string SystemErrno = "DataraxCkpt.SystemErrno";

    /// <summary><see langword="true"/> when the error is a read of the index the disk failed (the cmdlets' ReadError).</summary>
    internal const string IndexRead = "DataraxCkpt.IndexRead";

    /// <summary>
    /// <see langword="true"/> when the error is a read of a step's files (manifest, data file) that failed (the cmdlets'
    /// ReadError); such an error carries <see cref="SystemErrno"/> too when the system gave one.
    /// </summary>
    internal const string StepRead = "DataraxCkpt.StepRead";
}
