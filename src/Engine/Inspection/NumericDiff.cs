using System.Buffers;
using DataraxCkpt.Format;

namespace DataraxCkpt.Inspection;

/// <summary>
/// Element-wise differences of the tensor leaves two steps share (same name, dtype and shape), streamed
/// chunk by chunk from both steps at once; chunks on several cores, partial results merged in chunk order.
/// </summary>
internal static class NumericDiff
{
    /// <summary>Per worker: a unit of each step, and each reader's frame and shuffle scratch.</summary>
    private const long BytesPerWorker = 4L * Lz4Frame.BlockSize;

    /// <summary>The differences, ordered by item name (ordinal), as the structural comparison orders them.</summary>
    public static List<TensorDifference> Compare(StepReader before, long stepBefore, StepReader after, long stepAfter,
        IReadOnlyCollection<string>? patterns, CancellationToken cancellationToken)
    {
        var later = TensorStatisticsCalculator.TensorItems(after, null).ToDictionary(i => i.Name, StringComparer.Ordinal);
        var pairs = new List<(string Item, ChunkedTensor A, ChunkedTensor B)>();
        var opened = new Dictionary<(int, int), (ChunkedTensor, ChunkedTensor)>();
        foreach (var item in TensorStatisticsCalculator.TensorItems(before, patterns))
        {
            if (!later.TryGetValue(item.Name, out var other))
            {
                continue;
            }

            var a = before.Manifest.Tensors[item.TensorIndex];
            var b = after.Manifest.Tensors[other.TensorIndex];
            if (a.DType != b.DType || !a.Shape.AsSpan().SequenceEqual(b.Shape))
            {
                continue;
            }

            if (!opened.TryGetValue((item.TensorIndex, other.TensorIndex), out var pair))
            {
                pair = (new ChunkedTensor(before, item.TensorIndex, item.Name), new ChunkedTensor(after, other.TensorIndex, other.Name));
                opened[(item.TensorIndex, other.TensorIndex)] = pair;
            }

            pairs.Add((item.Name, pair.Item1, pair.Item2));
        }

        var distinct = opened.Values.ToList();
        var work = distinct.SelectMany((p, pi) => p.Item1.Units.Select(u => (Pair: pi, Unit: u))).ToArray();
        var partial = new ChunkDifference[work.Length];
        ChunkWork.Run(work.Length, BytesPerWorker, k =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (a, b) = distinct[work[k].Pair];
            partial[k] = OfUnit(a, b, work[k].Unit.Start, work[k].Unit.Length);
        }, cancellationToken);

        var merged = new ChunkDifference[distinct.Count];
        for (var k = 0; k < work.Length; k++)
        {
            merged[work[k].Pair].Merge(partial[k]);
        }

        var slot = distinct.Select((p, i) => (p.Item1, i)).ToDictionary(x => x.Item1, x => x.i);
        return pairs
            .Select(p => merged[slot[p.A]].ToResult(stepBefore, stepAfter, p.Item, p.A.Layout.DType, (long[])p.A.Layout.Shape.Clone()))
            .OrderBy(d => d.Item, StringComparer.Ordinal)
            .ToList();
    }

    private static ChunkDifference OfUnit(ChunkedTensor before, ChunkedTensor after, long start, int length)
    {
        var result = default(ChunkDifference);
        if (length == 0)
        {
            return result;
        }

        var bytesA = ChunkedTensor.Buffers.Rent(length);
        var bytesB = ChunkedTensor.Buffers.Rent(length);
        var a = ArrayPool<double>.Shared.Rent(ElementWidening.BlockLength);
        var b = ArrayPool<double>.Shared.Rent(ElementWidening.BlockLength);
        try
        {
            var rawA = bytesA.AsSpan(0, length);
            var rawB = bytesB.AsSpan(0, length);
            before.Read(start, rawA);
            after.Read(start, rawB);
            var size = before.Widening.ElementSize;
            var elements = length / size;
            for (var first = 0; first < elements; first += ElementWidening.BlockLength)
            {
                var n = Math.Min(ElementWidening.BlockLength, elements - first);
                before.Widening.Widen(rawA.Slice(first * size, n * size), a.AsSpan(0, n));
                after.Widening.Widen(rawB.Slice(first * size, n * size), b.AsSpan(0, n));
                result.AddBlock(a.AsSpan(0, n), b.AsSpan(0, n));
            }

            return result;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(b);
            ArrayPool<double>.Shared.Return(a);
            ChunkedTensor.Buffers.Return(bytesB);
            ChunkedTensor.Buffers.Return(bytesA);
        }
    }
}
