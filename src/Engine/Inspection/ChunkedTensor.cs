using System.Buffers;
using DataraxCkpt.Format;

namespace DataraxCkpt.Inspection;

/// <summary>
/// One stored tensor seen as a sequence of element-aligned byte ranges ("units"), one per stored chunk,
/// read a unit at a time so no more than a chunk of it is ever in memory. The writer cuts chunks at
/// multiples of 4 MiB, so a unit is exactly its chunk and decodes in place; the format also allows chunks
/// of any length, and then a unit (the elements that start in its chunk) is assembled from the chunks it
/// overlaps.
/// </summary>
internal sealed class ChunkedTensor
{
    /// <summary>Bytes of chunk buffers: a chunk is at most 4 MiB, a misaligned unit a few bytes more.</summary>
    internal static readonly ArrayPool<byte> Buffers = ArrayPool<byte>.Create(2 * Lz4Frame.BlockSize, 16);

    private readonly StepReader _reader;
    private readonly long[] _chunkStarts;

    public ChunkedTensor(StepReader reader, int tensorIndex, string itemName)
    {
        _reader = reader;
        TensorIndex = tensorIndex;
        ItemName = itemName;
        Layout = reader.Manifest.Tensors[tensorIndex];
        Widening = new ElementWidening(Layout.DType);
        var size = Widening.ElementSize;
        _chunkStarts = new long[Layout.Chunks.Length + 1];
        for (var i = 0; i < Layout.Chunks.Length; i++)
        {
            _chunkStarts[i + 1] = _chunkStarts[i] + Layout.Chunks[i].RawLength;
        }

        Units = new (long, int)[Layout.Chunks.Length];
        for (var i = 0; i < Units.Length; i++)
        {
            var start = RoundUp(_chunkStarts[i], size);
            var end = RoundUp(_chunkStarts[i + 1], size);
            Units[i] = (start, (int)(end - start));
        }
    }

    public int TensorIndex { get; }

    public string ItemName { get; }

    public TensorLayout Layout { get; }

    public ElementWidening Widening { get; }

    public long ByteLength => _chunkStarts[^1];

    /// <summary>Byte ranges of whole elements, in order, covering the tensor.</summary>
    public (long Start, int Length)[] Units { get; }

    /// <summary>
    /// True when unit <paramref name="unit"/> is exactly its chunk and that chunk is one stored (incompressible,
    /// unshuffled) block: such units are read in groups, straight into their buffers, checksums side by side.
    /// </summary>
    public bool IsStoredUnit(int unit) =>
        Units[unit].Start == _chunkStarts[unit] && Units[unit].Length == Layout.Chunks[unit].RawLength
        && StepReader.IsStoredCandidate(Layout.Chunks[unit], Layout.Filter == "none" ? 0 : Widening.ElementSize);

    /// <summary>Adds stored unit <paramref name="unit"/> (see <see cref="IsStoredUnit"/>) to a group read into <paramref name="target"/>.</summary>
    public void AddTo(ref StoredChunkGroup group, int unit, Span<byte> target) =>
        group.Add(_reader, Layout.Chunks[unit], target, ItemName);

    /// <summary>Reads bytes <c>[start, start + destination.Length)</c> of the tensor.</summary>
    /// <exception cref="InvalidDataException">A chunk fails a check; the message names the item.</exception>
    public void Read(long start, Span<byte> destination)
    {
        try
        {
            ReadRange(start, destination);
        }
        catch (InvalidDataException e)
        {
            throw StepOfFailure.Create(_reader.Manifest.Step, $"item '{ItemName}': {e.Message}", e);
        }
    }

    private void ReadRange(long start, Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return;
        }

        var end = start + destination.Length;
        var chunk = Array.BinarySearch(_chunkStarts, start);
        chunk = chunk >= 0 ? chunk : ~chunk - 1;
        if (_chunkStarts[chunk] == start && _chunkStarts[chunk + 1] == end)
        {
            _reader.DecodeChunkInto(TensorIndex, chunk, destination);
            return;
        }

        var scratch = Buffers.Rent(Lz4Frame.BlockSize);
        try
        {
            for (; chunk < Layout.Chunks.Length && _chunkStarts[chunk] < end; chunk++)
            {
                var raw = scratch.AsSpan(0, Layout.Chunks[chunk].RawLength);
                _reader.DecodeChunkInto(TensorIndex, chunk, raw);
                var from = Math.Max(start, _chunkStarts[chunk]);
                var to = Math.Min(end, _chunkStarts[chunk + 1]);
                raw.Slice((int)(from - _chunkStarts[chunk]), (int)(to - from)).CopyTo(destination.Slice((int)(from - start)));
            }
        }
        finally
        {
            Buffers.Return(scratch);
        }
    }

    private static long RoundUp(long value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
