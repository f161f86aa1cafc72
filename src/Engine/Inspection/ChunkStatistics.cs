using System.Numerics;
using System.Numerics.Tensors;

namespace DataraxCkpt.Inspection;

/// <summary>
/// Statistics of a run of elements (a block, a chunk, a whole tensor). Partial results are merged in
/// element order, so a tensor's result is the same however many cores computed it: counts add, sums are
/// compensated, and the variance is merged with Chan's formula from each part's mean and sum of squared
/// deviations (each block's computed in two passes), which stays accurate where <c>Σx² − (Σx)²/n</c> cancels.
/// Minimum and maximum are kept over the finite elements; the infinity counts supply ±∞ at the end.
/// </summary>
internal struct ChunkStatistics
{
    public long Count;
    public long NaNCount;
    public long PositiveInfinityCount;
    public long NegativeInfinityCount;
    public long ZeroCount;

    /// <summary>Finite elements: the ones in the sums, the mean and the variance.</summary>
    public long FiniteCount;
    public CompensatedSum Sum;
    public CompensatedSum SumOfSquares;
    public double Mean;
    public double SquaredDeviations;
    public double FiniteMin;
    public double FiniteMax;

    /// <summary>
    /// Adds a block of widened values that may hold NaN or ±∞: a finite sum proves there is none (any
    /// NaN or infinity makes the sum NaN or infinite), so the common case costs one pass more than the
    /// statistics themselves; otherwise the non-finite values are counted and the finite ones compacted.
    /// </summary>
    /// <param name="values">The values; overwritten.</param>
    /// <param name="scratch">At least as long as <paramref name="values"/>.</param>
    public void AddBlock(Span<double> values, Span<double> scratch)
    {
        if (double.IsFinite(TensorPrimitives.Sum(values)))
        {
            AddFinite(values, scratch);
            return;
        }

        var nonFinite = default(ChunkStatistics);
        var finite = 0;
        foreach (var v in values)
        {
            if (double.IsNaN(v))
            {
                nonFinite.NaNCount++;
            }
            else if (double.IsPositiveInfinity(v))
            {
                nonFinite.PositiveInfinityCount++;
            }
            else if (double.IsNegativeInfinity(v))
            {
                nonFinite.NegativeInfinityCount++;
            }
            else
            {
                scratch[finite++] = v;
            }
        }

        nonFinite.Count = values.Length - finite;
        AddFinite(scratch[..finite], values);
        Merge(nonFinite);
    }

    /// <summary>Adds a block of finite values (in element order after everything added so far).</summary>
    /// <param name="values">The values, all finite.</param>
    /// <param name="scratch">At least as long as <paramref name="values"/>.</param>
    public void AddFinite(ReadOnlySpan<double> values, Span<double> scratch)
    {
        if (values.IsEmpty)
        {
            return;
        }

        var block = default(ChunkStatistics);
        var n = values.Length;
        var sum = TensorPrimitives.Sum(values);
        var mean = sum / n;
        var deviations = scratch[..n];
        TensorPrimitives.Subtract(values, mean, deviations);
        block.Count = n;
        block.FiniteCount = n;
        block.Sum.Add(sum);
        block.SumOfSquares.Add(TensorPrimitives.SumOfSquares(values));
        block.Mean = mean;
        block.SquaredDeviations = TensorPrimitives.SumOfSquares(deviations);
        block.FiniteMin = TensorPrimitives.Min(values);
        block.FiniteMax = TensorPrimitives.Max(values);
        block.ZeroCount = CountZeros(values);
        Merge(block);
    }

    /// <summary>Appends <paramref name="other"/>, which covers the elements right after these.</summary>
    public void Merge(in ChunkStatistics other)
    {
        if (other.FiniteCount > 0)
        {
            if (FiniteCount == 0)
            {
                Mean = other.Mean;
                SquaredDeviations = other.SquaredDeviations;
                FiniteMin = other.FiniteMin;
                FiniteMax = other.FiniteMax;
            }
            else
            {
                // Chan, Golub and LeVeque's pairwise update.
                double na = FiniteCount, nb = other.FiniteCount, n = na + nb;
                var delta = other.Mean - Mean;
                Mean += delta * (nb / n);
                SquaredDeviations += other.SquaredDeviations + delta * delta * (na * nb / n);
                FiniteMin = Math.Min(FiniteMin, other.FiniteMin);
                FiniteMax = Math.Max(FiniteMax, other.FiniteMax);
            }

            Sum.Add(other.Sum);
            SumOfSquares.Add(other.SumOfSquares);
            FiniteCount += other.FiniteCount;
        }

        Count += other.Count;
        NaNCount += other.NaNCount;
        PositiveInfinityCount += other.PositiveInfinityCount;
        NegativeInfinityCount += other.NegativeInfinityCount;
        ZeroCount += other.ZeroCount;
    }

    public readonly TensorStatistics ToResult(long step, string item, string dtype, long[] shape)
    {
        var hasFinite = FiniteCount > 0;
        double? min = NegativeInfinityCount > 0 ? double.NegativeInfinity : hasFinite ? FiniteMin : PositiveInfinityCount > 0 ? double.PositiveInfinity : null;
        double? max = PositiveInfinityCount > 0 ? double.PositiveInfinity : hasFinite ? FiniteMax : NegativeInfinityCount > 0 ? double.NegativeInfinity : null;
        double? mean = hasFinite ? Sum.Value / FiniteCount : null;
        double? deviation = hasFinite ? Math.Sqrt(Math.Max(0, SquaredDeviations) / FiniteCount) : null;
        return new TensorStatistics(step, item, dtype, shape, Count, NaNCount, PositiveInfinityCount, NegativeInfinityCount, ZeroCount,
            min, max, mean, deviation, Math.Sqrt(SumOfSquares.Value));
    }

    internal static long CountZeros(ReadOnlySpan<double> values)
    {
        long count = 0;
        var i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<double>.Count)
        {
            var lanes = Vector<long>.Zero;
            for (; i <= values.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                // Equal lanes are all ones (−1): subtracting counts them; −0.0 == 0.0 here.
                lanes -= Vector.Equals(new Vector<double>(values[i..]), Vector<double>.Zero);
            }

            count = Vector.Sum(lanes);
        }

        for (; i < values.Length; i++)
        {
            if (values[i] == 0)
            {
                count++;
            }
        }

        return count;
    }
}
