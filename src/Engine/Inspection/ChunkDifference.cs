using System.Numerics;
using System.Runtime.InteropServices;

namespace DataraxCkpt.Inspection;

/// <summary>
/// Element-wise differences of a run of elements of two tensors, merged in element order like
/// <see cref="ChunkStatistics"/>. The NaN and infinity rules are those of <see cref="TensorDifference"/>.
/// </summary>
internal partial struct ChunkDifference
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
    public void AddBlock(ReadOnlySpan<double> before, ReadOnlySpan<double> after)
    {
        var n = before.Length;
        if (after.Length != n)
        {
            throw new ArgumentException($"{n} values before, {after.Length} after", nameof(after));
        }

        Count += n;
        if (TryAddFinite(before, after))
        {
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

    /// <summary>
    /// One fused SIMD pass over a block: when neither side holds NaN or ±∞ (their sums are finite), a ≠ b
    /// exactly when a − b ≠ 0 (gradual underflow) and −0.0 equals +0.0, so every figure comes from a − b.
    /// False, adding nothing, otherwise.
    /// </summary>
    private bool TryAddFinite(ReadOnlySpan<double> before, ReadOnlySpan<double> after)
    {
        var n = before.Length;
        double sumA = 0, sumB = 0, squaresA = 0, absolute = 0, squares = 0, max = 0;
        long same = 0;
        var i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<double>.Count)
        {
            var va = Vector<double>.Zero;
            var vb = Vector<double>.Zero;
            var vqa = Vector<double>.Zero;
            var vabs = Vector<double>.Zero;
            var vq = Vector<double>.Zero;
            var vmax = Vector<double>.Zero;
            var vsame = Vector<long>.Zero;
            // Loads off the spans' starts (no slice and bounds check per vector), as ChunkStatistics does.
            ref var startA = ref MemoryMarshal.GetReference(before);
            ref var startB = ref MemoryMarshal.GetReference(after);
            for (; i <= n - Vector<double>.Count; i += Vector<double>.Count)
            {
                var a = Vector.LoadUnsafe(ref startA, (nuint)i);
                var b = Vector.LoadUnsafe(ref startB, (nuint)i);
                var d = a - b;
                var abs = Vector.Abs(d);
                va += a;
                vb += b;
                vqa += a * a;
                vabs += abs;
                vq += d * d;
                vmax = Vector.ConditionalSelect(Vector.GreaterThan(abs, vmax), abs, vmax);
                vsame -= Vector.Equals(d, Vector<double>.Zero);
            }

            sumA = Vector.Sum(va);
            sumB = Vector.Sum(vb);
            squaresA = Vector.Sum(vqa);
            absolute = Vector.Sum(vabs);
            squares = Vector.Sum(vq);
            same = Vector.Sum(vsame);
            for (var lane = 0; lane < Vector<double>.Count; lane++)
            {
                max = Math.Max(max, vmax[lane]);
            }
        }

        for (; i < n; i++)
        {
            double a = before[i], b = after[i], d = a - b;
            sumA += a;
            sumB += b;
            squaresA += a * a;
            absolute += Math.Abs(d);
            squares += d * d;
            max = Math.Max(max, Math.Abs(d));
            same += d == 0 ? 1 : 0;
        }

        if (!double.IsFinite(sumA) || !double.IsFinite(sumB))
        {
            return false;
        }

        DifferentCount += n - same;
        MaxAbsoluteDifference = Math.Max(MaxAbsoluteDifference, max);
        SumOfAbsoluteDifferences.Add(absolute);
        SumOfSquaredDifferences.Add(squares);
        SumOfSquaresBefore.Add(squaresA);
        return true;
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
        // Where IEEE arithmetic leaves the ratio undefined (an element NaN in one step, ∞/∞) the change is
        // reported as +∞, not NaN: .NET (and so Sort-Object) orders NaN below every number, which would put
        // the tensor that broke last in the documented "Sort-Object RelativeChange -Descending".
        var relative = norm == 0 && !double.IsNaN(change) ? (DifferentCount == 0 ? 0 : double.PositiveInfinity)
            : change / norm;
        relative = double.IsNaN(relative) ? double.PositiveInfinity : relative;
        return new TensorDifference(stepBefore, stepAfter, item, dtype, shape, Count, DifferentCount, MaxAbsoluteDifference, mean, relative);
    }
}
