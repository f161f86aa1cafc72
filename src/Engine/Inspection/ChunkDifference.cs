using System.Numerics.Tensors;

namespace DataraxCkpt.Inspection;

/// <summary>
/// Element-wise differences of a run of elements of two tensors, merged in element order like
/// <see cref="ChunkStatistics"/>. The NaN and infinity rules are those of <see cref="TensorDifference"/>.
/// </summary>
internal struct ChunkDifference
{
    public long Count;
    public long DifferentCount;
    public double MaxAbsoluteDifference;
    public CompensatedSum SumOfAbsoluteDifferences;
    public CompensatedSum SumOfSquaredDifferences;
    public CompensatedSum SumOfSquaresBefore;

    /// <summary>Adds a block of widened pairs.</summary>
    /// <param name="before">Values at the earlier step.</param>
    /// <param name="after">Values at the later step, as many.</param>
    /// <param name="scratch">At least as long as the blocks.</param>
    public void AddBlock(ReadOnlySpan<double> before, ReadOnlySpan<double> after, Span<double> scratch)
    {
        var n = before.Length;
        Count += n;
        if (double.IsFinite(TensorPrimitives.Sum(before)) && double.IsFinite(TensorPrimitives.Sum(after)))
        {
            // Neither block holds NaN or ±∞: a ≠ b exactly when a − b ≠ 0 (gradual underflow), −0.0 = +0.0.
            SumOfSquaresBefore.Add(TensorPrimitives.SumOfSquares(before));
            var d = scratch[..n];
            TensorPrimitives.Subtract(before, after, d);
            var same = ChunkStatistics.CountZeros(d);
            if (same == n)
            {
                return;
            }

            DifferentCount += n - same;
            MaxAbsoluteDifference = Math.Max(MaxAbsoluteDifference, Math.Abs(TensorPrimitives.MaxMagnitude(d)));
            SumOfAbsoluteDifferences.Add(TensorPrimitives.SumOfMagnitudes(d));
            SumOfSquaredDifferences.Add(TensorPrimitives.SumOfSquares(d));
            return;
        }

        for (var i = 0; i < n; i++)
        {
            double a = before[i], b = after[i];
            if (double.IsNaN(a) && double.IsNaN(b))
            {
                continue;
            }

            SumOfSquaresBefore.Add(a * a);
            if (a == b)
            {
                continue;
            }

            // NaN on one side only: the difference is NaN, and Math.Max passes NaN on.
            var d = Math.Abs(a - b);
            DifferentCount++;
            MaxAbsoluteDifference = Math.Max(MaxAbsoluteDifference, d);
            SumOfAbsoluteDifferences.Add(d);
            SumOfSquaredDifferences.Add(d * d);
        }
    }

    /// <summary>Appends <paramref name="other"/>, which covers the elements right after these.</summary>
    public void Merge(in ChunkDifference other)
    {
        Count += other.Count;
        DifferentCount += other.DifferentCount;
        MaxAbsoluteDifference = Math.Max(MaxAbsoluteDifference, other.MaxAbsoluteDifference);
        SumOfAbsoluteDifferences.Add(other.SumOfAbsoluteDifferences);
        SumOfSquaredDifferences.Add(other.SumOfSquaredDifferences);
        SumOfSquaresBefore.Add(other.SumOfSquaresBefore);
    }

    public readonly TensorDifference ToResult(long stepBefore, long stepAfter, string item, string dtype, long[] shape)
    {
        var mean = Count == 0 ? 0 : SumOfAbsoluteDifferences.Value / Count;
        var change = Math.Sqrt(SumOfSquaredDifferences.Value);
        var norm = Math.Sqrt(SumOfSquaresBefore.Value);
        var relative = double.IsNaN(change) || double.IsNaN(norm) ? double.NaN
            : norm == 0 ? (DifferentCount == 0 ? 0 : double.PositiveInfinity)
            : change / norm;
        return new TensorDifference(stepBefore, stepAfter, item, dtype, shape, Count, DifferentCount, MaxAbsoluteDifference, mean, relative);
    }
}
