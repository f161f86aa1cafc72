using System.Buffers;
using System.Runtime.InteropServices;
using DataraxCkpt.Format;

namespace DataraxCkpt.Inspection;

/// <summary>
/// Element-wise differences of the tensor leaves two steps share (same name, dtype and shape), streamed
/// chunk by chunk from both steps at once; chunks on several cores, partial results merged in chunk order.
/// </summary>
internal static class NumericDiff
{
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
        var work = distinct.SelectMany((p, pi) => p.Item1.Units.Select((_, u) => (Pair: pi, Unit: u))).ToArray();
        var partial = new ChunkDifference[work.Length];
        // Pairs of stored chunks go in groups, both steps' chunks read straight into pooled buffers and all
        // hashed side by side (two pairs fill the four lanes), as restore reads them.
        var perGroup = ChunkWork.GroupSize(Math.Max(1, Math.Min(before.StoredChunksPerRead, after.StoredChunksPerRead) / 2), 2, 2);
        var groups = ChunkWork.Groups(work.Length, perGroup, k => IsStoredPair(distinct[work[k].Pair], work[k].Unit));
        ChunkWork.Run(groups.Count, (2L * perGroup + 2) * Lz4Frame.BlockSize, g =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (first, count, stored) = groups[g];
            if (stored)
            {
                OfStoredGroup(distinct, work, first, count, partial);
            }
            else
            {
                var (a, b) = distinct[work[first].Pair];
                var (start, length) = a.Units[work[first].Unit];
                partial[first] = OfUnit(a, b, start, length);
            }
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

    // Both steps hold the unit as exactly one stored chunk over the same bytes.
    private static bool IsStoredPair((ChunkedTensor A, ChunkedTensor B) pair, int unit) =>
        pair.A.IsStoredUnit(unit) && unit < pair.B.Units.Length && pair.B.Units[unit] == pair.A.Units[unit] && pair.B.IsStoredUnit(unit);

    private static void OfStoredGroup(List<(ChunkedTensor A, ChunkedTensor B)> pairs, (int Pair, int Unit)[] work, int first, int count, ChunkDifference[] partial)
    {
        var buffers = new byte[2 * count][];
        try
        {
            var group = default(StoredChunkGroup);
            for (var k = 0; k < count; k++)
            {
                var (a, b) = pairs[work[first + k].Pair];
                var unit = work[first + k].Unit;
                var length = a.Units[unit].Length;
                buffers[2 * k] = ChunkedTensor.Buffers.Rent(length);
                buffers[(2 * k) + 1] = ChunkedTensor.Buffers.Rent(length);
                a.AddTo(ref group, unit, buffers[2 * k].AsSpan(0, length));
                b.AddTo(ref group, unit, buffers[(2 * k) + 1].AsSpan(0, length));
            }

            StepReader.ReadStoredGroup(ref group);
            for (var k = 0; k < count; k++)
            {
                var (a, b) = pairs[work[first + k].Pair];
                var length = a.Units[work[first + k].Unit].Length;
                partial[first + k] = OfBytes(a.Widening, b.Widening, buffers[2 * k].AsSpan(0, length), buffers[(2 * k) + 1].AsSpan(0, length));
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

    private static ChunkDifference OfUnit(ChunkedTensor before, ChunkedTensor after, long start, int length)
    {
        if (length == 0)
        {
            return default;
        }

        var bytesA = ChunkedTensor.Buffers.Rent(length);
        var bytesB = ChunkedTensor.Buffers.Rent(length);
        try
        {
            var rawA = bytesA.AsSpan(0, length);
            var rawB = bytesB.AsSpan(0, length);
            before.Read(start, rawA);
            after.Read(start, rawB);
            return OfBytes(before.Widening, after.Widening, rawA, rawB);
        }
        finally
        {
            ChunkedTensor.Buffers.Return(bytesB);
            ChunkedTensor.Buffers.Return(bytesA);
        }
    }

    /// <summary>The differences of two runs of whole elements' bytes (as long), a block at a time: float32 pairs by the float32 kernels, other dtypes widened.</summary>
    private static ChunkDifference OfBytes(ElementWidening before, ElementWidening after, ReadOnlySpan<byte> rawA, ReadOnlySpan<byte> rawB)
    {
        var result = default(ChunkDifference);
        var a = ArrayPool<double>.Shared.Rent(ElementWidening.BlockLength);
        var b = ArrayPool<double>.Shared.Rent(ElementWidening.BlockLength);
        try
        {
            var size = before.ElementSize;
            var elements = rawA.Length / size;
            for (var first = 0; first < elements; first += ElementWidening.BlockLength)
            {
                var n = Math.Min(ElementWidening.BlockLength, elements - first);
                if (before.IsSingle)
                {
                    // Pairs share dtype and shape (Compare skips the others), so both sides are float32 here.
                    result.AddSingles(MemoryMarshal.Cast<byte, float>(rawA.Slice(first * size, n * size)),
                        MemoryMarshal.Cast<byte, float>(rawB.Slice(first * size, n * size)), a, b);
                    continue;
                }

                before.Widen(rawA.Slice(first * size, n * size), a.AsSpan(0, n));
                after.Widen(rawB.Slice(first * size, n * size), b.AsSpan(0, n));
                result.AddBlock(a.AsSpan(0, n), b.AsSpan(0, n));
            }

            return result;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(b);
            ArrayPool<double>.Shared.Return(a);
        }
    }
}
