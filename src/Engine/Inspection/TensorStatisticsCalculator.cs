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
    /// <summary>Chunk buffers one worker may hold at once: its unit, and the reader's frame and shuffle scratch.</summary>
    private const long BytesPerWorker = 3L * Lz4Frame.BlockSize;

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

        var merged = Summarise(tensors.Values.ToList(), cancellationToken);
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
        return decoder.ItemsByUsableName(reader.Manifest.State, reader.Manifest.Items)
            .Where(i => i.Kind == "tensor" && i.TensorIndex >= 0 && (patterns is null || patterns.Any(p => ItemNames.Matches(i.Name, p))))
            .ToList();
    }

    private static Dictionary<int, ChunkStatistics> Summarise(List<ChunkedTensor> tensors, CancellationToken cancellationToken)
    {
        var work = tensors.SelectMany((t, ti) => t.Units.Select(u => (Tensor: ti, Unit: u))).ToArray();
        var partial = new ChunkStatistics[work.Length];
        ChunkWork.Run(work.Length, BytesPerWorker, k =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            partial[k] = OfUnit(tensors[work[k].Tensor], work[k].Unit.Start, work[k].Unit.Length);
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

    private static ChunkStatistics OfUnit(ChunkedTensor tensor, long start, int length)
    {
        var result = default(ChunkStatistics);
        if (length == 0)
        {
            return result;
        }

        var bytes = ChunkedTensor.Buffers.Rent(length);
        var values = ArrayPool<double>.Shared.Rent(ElementWidening.BlockLength);
        var scratch = ArrayPool<double>.Shared.Rent(ElementWidening.BlockLength);
        try
        {
            var raw = bytes.AsSpan(0, length);
            tensor.Read(start, raw);
            var size = tensor.Widening.ElementSize;
            var elements = length / size;
            for (var first = 0; first < elements; first += ElementWidening.BlockLength)
            {
                var n = Math.Min(ElementWidening.BlockLength, elements - first);
                var block = values.AsSpan(0, n);
                tensor.Widening.Widen(raw.Slice(first * size, n * size), block);
                result.AddBlock(block, scratch);
            }

            return result;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(scratch);
            ArrayPool<double>.Shared.Return(values);
            ChunkedTensor.Buffers.Return(bytes);
        }
    }
}
