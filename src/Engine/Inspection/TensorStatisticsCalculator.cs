using System.Buffers;
using DataraxCkpt.Format;
using DataraxCkpt.Values;

namespace DataraxCkpt.Inspection;

/// <summary>
/// Statistics of a step's tensor leaves, streamed: each stored chunk is decoded into a pooled buffer,
/// widened a block at a time and summarised, chunks on several cores; the partial results are merged in
/// chunk order. No tensor is ever materialised (see <see cref="ChunkWork.MemoryBudget"/>).
/// </summary>
internal static class TensorStatisticsCalculator
{
    /// <summary>The statistics of every tensor leaf matching <paramref name="patterns"/> (all when null), in item order.</summary>
    public static List<TensorStatistics> Compute(StepReader reader, long step, IReadOnlyCollection<string>? patterns, CancellationToken cancellationToken)
    {
        var items = TensorItems(reader, patterns);
        var tensors = new Dictionary<int, ChunkedTensor>();
        foreach (var item in items)
        {
            if (!tensors.ContainsKey(item.TensorIndex))
            {
                tensors[item.TensorIndex] = new ChunkedTensor(reader, item.TensorIndex, item.Name);
            }
        }

        var merged = Summarise(tensors.Values.ToList(), reader.StoredChunksPerRead, cancellationToken);
        return items.Select(item =>
        {
            var layout = reader.Manifest.Tensors[item.TensorIndex];
            return merged[item.TensorIndex].ToResult(step, item.Name, layout.DType, (long[])layout.Shape.Clone());
        }).ToList();
    }

    /// <summary>True when no floating-point tensor of the step holds NaN or ±∞.</summary>
    public static bool IsFinite(StepReader reader, CancellationToken cancellationToken) =>
        Compute(reader, reader.Manifest.Step, null, cancellationToken).All(s => s.IsFinite);

    /// <summary>The step's tensor leaves selected by <paramref name="patterns"/>, under the names GetItems lists.</summary>
    internal static List<StoredItem> TensorItems(StepReader reader, IReadOnlyCollection<string>? patterns)
    {
        var decoder = new StateDecoder((_, _, item) => throw new InvalidOperationException($"item '{item}': no tensor is loaded while listing items"));
        IReadOnlyList<StoredItem> items;
        try
        {
            items = decoder.ItemsByUsableName(reader.Manifest.State, reader.Manifest.Items);
        }
        catch (Exception e) when ((e is InvalidDataException or FormatException or OverflowException or InvalidOperationException or KeyNotFoundException
                                       or IndexOutOfRangeException) && StepOfFailure.StepOf(e) is null)
        {
            // A numeric diff lists the earlier step's items inside the later step's read: the failure names its own step.
            throw StepOfFailure.Create(reader.Manifest.Step, e.Message, e);
        }

        return items
            .Where(i => i.Kind == "tensor" && i.TensorIndex >= 0 && (patterns is null || patterns.Any(p => ItemNames.Matches(i.Name, p))))
            .ToList();
    }

    private static Dictionary<int, ChunkStatistics> Summarise(List<ChunkedTensor> tensors, int storedPerRead, CancellationToken cancellationToken)
    {
        var work = tensors.SelectMany((t, ti) => t.Units.Select((_, u) => (Tensor: ti, Unit: u))).ToArray();
        var partial = new ChunkStatistics[work.Length];
        // Stored chunks go in groups, read straight into pooled buffers and hashed side by side, as restore
        // reads them; each worker holds a group's buffers and, for a chunk that needs decoding, its frame
        // and shuffle scratch.
        var perGroup = ChunkWork.GroupSize(storedPerRead, 1, 2);
        var groups = ChunkWork.Groups(work.Length, perGroup, k => tensors[work[k].Tensor].IsStoredUnit(work[k].Unit));
        ChunkWork.Run(groups.Count, (perGroup + 2L) * Lz4Frame.BlockSize, g =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (first, count, stored) = groups[g];
            if (stored)
            {
                OfStoredGroup(tensors, work, first, count, partial);
            }
            else
            {
                var tensor = tensors[work[first].Tensor];
                var (start, length) = tensor.Units[work[first].Unit];
                partial[first] = OfUnit(tensor, start, length);
            }
        }, cancellationToken);

        var merged = tensors.ToDictionary(t => t.TensorIndex, _ => default(ChunkStatistics));
        for (var k = 0; k < work.Length; k++)
        {
            var index = tensors[work[k].Tensor].TensorIndex;
            var total = merged[index];
            total.Merge(partial[k]);
            merged[index] = total;
        }

        return merged;
    }

    private static void OfStoredGroup(List<ChunkedTensor> tensors, (int Tensor, int Unit)[] work, int first, int count, ChunkStatistics[] partial)
    {
        var buffers = new byte[count][];
        var widenings = new ElementWidening[count];
        try
        {
            var group = default(StoredChunkGroup);
            for (var k = 0; k < count; k++)
            {
                var tensor = tensors[work[first + k].Tensor];
                widenings[k] = tensor.Widening;
                var length = tensor.Units[work[first + k].Unit].Length;
                buffers[k] = ChunkedTensor.Buffers.Rent(length);
                tensor.AddTo(ref group, work[first + k].Unit, buffers[k].AsSpan(0, length));
            }

            // The kernel runs on each slice as it is hashed (in cache); its sums are kept only once every
            // checksum of the group has been checked, which ReadStoredGroup does before it returns.
            using var statistics = new HashedSliceStatistics(widenings);
            StepReader.ReadStoredGroup(ref group, statistics);
            for (var k = 0; k < count; k++)
            {
                partial[first + k] = statistics.Result(k);
            }
        }
        finally
        {
            foreach (var buffer in buffers)
            {
                if (buffer is not null)
                {
                    ChunkedTensor.Buffers.Return(buffer);
                }
            }
        }
    }

    private static ChunkStatistics OfUnit(ChunkedTensor tensor, long start, int length)
    {
        if (length == 0)
        {
            return default;
        }

        var bytes = ChunkedTensor.Buffers.Rent(length);
        try
        {
            var raw = bytes.AsSpan(0, length);
            tensor.Read(start, raw);
            return OfBytes(tensor.Widening, raw);
        }
        finally
        {
            ChunkedTensor.Buffers.Return(bytes);
        }
    }

    /// <summary>The statistics of a run of whole elements' bytes, widened a block at a time.</summary>
    internal static ChunkStatistics OfBytes(ElementWidening widening, ReadOnlySpan<byte> raw)
    {
        var result = default(ChunkStatistics);
        var values = ArrayPool<double>.Shared.Rent(ElementWidening.BlockLength);
        var scratch = ArrayPool<double>.Shared.Rent(ElementWidening.BlockLength);
        try
        {
            result.AddBytes(widening, raw, values, scratch);
            return result;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(scratch);
            ArrayPool<double>.Shared.Return(values);
        }
    }
}
