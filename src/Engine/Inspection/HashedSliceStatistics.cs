using System.Buffers;
using DataraxCkpt.Format;

namespace DataraxCkpt.Inspection;

/// <summary>
/// The statistics of a group of stored chunks, taken slice by slice as
/// <see cref="StepReader.ReadStoredGroup"/> hashes them, while
/// each slice is still in L2: over chunks read into buffers four at a time (16 MiB), a pass after the hash
/// read every byte back from L3 or memory. A slice is a whole number of blocks
/// (<see cref="ElementWidening.BlockLength"/> elements of any dtype), so each chunk is cut into the same blocks,
/// summed and merged in the same order as over the whole chunk: the results are the same bit for bit.
/// They are only valid once <c>ReadStoredGroup</c> has returned (the checksums are checked after the slices
/// are seen).
/// </summary>
internal sealed class HashedSliceStatistics : IStoredSliceObserver, IDisposable
{
    /// <summary>
    /// Four slices (one per chunk of a full group) and the kernel's two double blocks stay within a core's
    /// L2 (2 MiB here); a multiple of every dtype's block bytes (2,048 elements of at most 8 bytes).
    /// </summary>
    public const int SliceBytes = 64 * 1024;

    private readonly ElementWidening[] _widenings;
    private readonly ChunkStatistics[] _results;
    private readonly double[] _values = ArrayPool<double>.Shared.Rent(ElementWidening.BlockLength);
    private readonly double[] _scratch = ArrayPool<double>.Shared.Rent(ElementWidening.BlockLength);

    /// <param name="widenings">The dtype of each chunk of the group, in group order.</param>
    public HashedSliceStatistics(ElementWidening[] widenings)
    {
        _widenings = widenings;
        _results = new ChunkStatistics[widenings.Length];
    }

    public int SliceLength => SliceBytes;

    /// <summary>The statistics of chunk <paramref name="chunk"/> of the group, once every slice of it was seen.</summary>
    public ChunkStatistics Result(int chunk) => _results[chunk];

    public void Observe(int chunk, int offset, ReadOnlySpan<byte> slice) =>
        _results[chunk].AddBytes(_widenings[chunk], slice, _values, _scratch);

    public void Dispose()
    {
        ArrayPool<double>.Shared.Return(_scratch);
        ArrayPool<double>.Shared.Return(_values);
    }
}
