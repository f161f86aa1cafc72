namespace DataraxCkpt.Format;

/// <summary>
/// Sees the bytes of a group's stored chunks a slice at a time, each slice right after it is hashed by
/// <see cref="StepReader.ReadStoredGroup"/>, while it is still
/// in cache: a second pass over the bytes (statistics) then reads them from L2 instead of from memory.
/// A slice is seen before its chunk's checksum is checked (the checksum covers the whole chunk, up to
/// 4 MiB, which no cache level near the core holds), so an observer may only accumulate: its caller must
/// use nothing accumulated unless <c>ReadStoredGroup</c> returns, since a failed check throws.
/// </summary>
internal interface IStoredSliceObserver
{
    /// <summary>Bytes per slice: a positive multiple of 16 (a hash stripe), so a chunk's hash is continued exactly.</summary>
    int SliceLength { get; }

    /// <summary>
    /// Bytes <c>[offset, offset + slice.Length)</c> of the group's chunk <paramref name="chunk"/> (its index in
    /// the group). Each chunk's slices come in order, each byte once, every slice but a chunk's last
    /// <see cref="SliceLength"/> long.
    /// </summary>
    void Observe(int chunk, int offset, ReadOnlySpan<byte> slice);
}
