namespace DataraxCkpt.Storage;

/// <summary>
/// Marks an I/O error of a read of a step's files (<c>manifest.json.lz4</c>, <c>tensors.lz4</c>) as a read, with the
/// errno the system gave, as <see cref="IndexIoFailure"/> marks a failed read of the index: the cmdlets report it as
/// ReadError (not the WriteError of every other I/O error) and scripts read the errno from
/// <see cref="IndexIoErrorData.SystemErrno"/>. A read the disk failed (EIO and its kin) gets a message saying so and
/// that it is not damage to the step, so nobody deletes or rebuilds a step on a disk that fails.
/// </summary>
internal static class StepReadFailure
{
    /// <summary>
    /// The exception to raise for <paramref name="e"/>, raised by a read of <paramref name="file"/>: for a failed read of
    /// the disk a new <see cref="IOException"/> wrapping it, otherwise <paramref name="e"/> itself (its type kept, so a
    /// caller's catch of a <see cref="FileNotFoundException"/> still matches); marked as a read either way.
    /// </summary>
    public static IOException Marked(IOException e, string file)
    {
        if (e.Data[IndexIoErrorData.StepRead] is true)
        {
            return e;
        }

        var errno = PathLook.Errno(e);
        var marked = errno is { } n && FailedReadErrno.Is(n)
            ? new IOException(
                $"I/O error reading '{file}': the disk failed the read ({e.Message.TrimEnd('.')}; errno {n}{(n == 5 ? ", EIO" : string.Empty)}). "
                + "This is not damage to the step: check the disk (the system log, e.g. dmesg) and retry; do not delete the step or rebuild the index on a disk that fails.",
                e) { HResult = n }
            : e;
        marked.Data[IndexIoErrorData.StepRead] = true;
        if (errno is { } value)
        {
            marked.Data[IndexIoErrorData.SystemErrno] = value;
        }

        return marked;
    }
}
