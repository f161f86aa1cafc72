using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DataraxCkpt.Inspection;

/// <summary>
/// Statistics of a run of elements (a block, a chunk, a whole tensor). Partial results are merged in
/// element order, so a tensor's result is the same however many cores computed it: counts add, sums are
/// compensated, and the variance is merged with Chan's formula from each part's mean and sum of squared
/// deviations (each block's computed in two passes), which stays accurate where <c>Σx² − (Σx)²/n</c> cancels.
/// Minimum and maximum are kept over the finite elements; the infinity counts supply ±∞ at the end.
/// </summary>
internal partial struct ChunkStatistics
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
    /// Adds a block of widened values that may hold NaN or ±∞. One fused SIMD pass gathers every sum; a
    /// finite total proves the block holds no NaN or infinity (either makes the sum NaN or infinite), so
    /// only a block that does is passed over again, counting them and compacting the finite values.
    /// </summary>
    /// <param name="values">The values; overwritten.</param>
    /// <param name="scratch">At least as long as <paramref name="values"/>.</param>
    public void AddBlock(Span<double> values, Span<double> scratch)
    {
        if (!TryAddFinite(values, default))
        {
            AddNonFinite(values, scratch);
        }
    }

    /// <summary>
    /// Adds a block of float32 values: on x86 with AVX-512 by the 512-bit float32 lane kernel
    /// (<see cref="TryAddFiniteSingles512"/>), with AVX2 and FMA by the 256-bit one
    /// (<see cref="TryAddFiniteSingles"/>), elsewhere as <see cref="AddBlock"/> adds them widened; a block
    /// holding NaN or ±∞ is widened into <paramref name="values"/> and passed over again.
    /// </summary>
    /// <param name="singles">The values.</param>
    /// <param name="values">As long as <paramref name="singles"/>; overwritten.</param>
    /// <param name="scratch">At least as long as <paramref name="singles"/>.</param>
    public void AddSingles(ReadOnlySpan<float> singles, Span<double> values, Span<double> scratch)
    {
        if (!(SimdPaths.Use512 ? TryAddFiniteSingles512(singles) : SinglesKernelSupported ? TryAddFiniteSingles(singles) : TryAddFinite(default, singles)))
        {
            for (var i = 0; i < singles.Length; i++)
            {
                values[i] = singles[i];
            }

            AddNonFinite(values[..singles.Length], scratch);
        }
    }

    /// <summary>
    /// Adds a run of whole elements' raw bytes, a block of <see cref="ElementWidening.BlockLength"/> elements at
    /// a time from its start. A run that is a whole number of blocks ends where the next begins, so adding a
    /// chunk's bytes in such runs adds the same blocks in the same order as adding them at once.
    /// </summary>
    /// <param name="widening">The elements' dtype.</param>
    /// <param name="raw">The bytes: a whole number of elements.</param>
    /// <param name="values">At least <see cref="ElementWidening.BlockLength"/> long; overwritten.</param>
    /// <param name="scratch">At least <see cref="ElementWidening.BlockLength"/> long; overwritten.</param>
    public void AddBytes(ElementWidening widening, ReadOnlySpan<byte> raw, Span<double> values, Span<double> scratch)
    {
        var size = widening.ElementSize;
        var elements = raw.Length / size;
        for (var first = 0; first < elements; first += ElementWidening.BlockLength)
        {
            var n = Math.Min(ElementWidening.BlockLength, elements - first);
            var block = values[..n];
            if (widening.IsSingle)
            {
                AddSingles(MemoryMarshal.Cast<byte, float>(raw.Slice(first * size, n * size)), block, scratch);
            }
            else
            {
                widening.Widen(raw.Slice(first * size, n * size), block);
                AddBlock(block, scratch);
            }
        }
    }

    private void AddNonFinite(Span<double> values, Span<double> scratch)
    {
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
        if (finite > 0 && !TryAddFinite(scratch[..finite], default))
        {
            // Finite values whose sum overflows (f64 near its limit): the sums are what they are.
            AddFinite(scratch[..finite], values);
        }

        Merge(nonFinite);
    }

    /// <summary>
    /// One pass over a block: Σx, Σx², min, max, zeros, and Σd, Σd² of d = x − x₀ (the block's first
    /// value), from which the block's squared deviations follow as Σd² − (Σd)²/n. Shifting by a value of
    /// the block keeps that difference from cancelling (a constant block gives exactly 0). False, adding
    /// nothing, when the sum is not finite.
    /// </summary>
    /// <param name="values">The values, or empty when <paramref name="singles"/> holds them.</param>
    /// <param name="singles">float32 values widened here, or empty.</param>
    private bool TryAddFinite(ReadOnlySpan<double> values, ReadOnlySpan<float> singles)
    {
        var fromSingles = !singles.IsEmpty;
        var n = fromSingles ? singles.Length : values.Length;
        if (n == 0)
        {
            return true;
        }

        var shift = fromSingles ? singles[0] : values[0];
        // Σx is compensated inside the block too (Neumaier, per lane): with a plain block sum the mean
        // would depend on where chunks and blocks end ([−2⁶³, −1, 0, 2⁶³] as one block sums to 0, as
        // four chunks to −1), and the docs promise it does not.
        var total = default(CompensatedSum);
        double sum = 0, squares = 0, shifted = 0, shiftedSquares = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        long zeros = 0;
        var i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<double>.Count)
        {
            var vs = Vector<double>.Zero;
            var vc = Vector<double>.Zero;
            var vq = Vector<double>.Zero;
            var vd = Vector<double>.Zero;
            var vdq = Vector<double>.Zero;
            var vmin = new Vector<double>(double.PositiveInfinity);
            var vmax = new Vector<double>(double.NegativeInfinity);
            var vz = Vector<long>.Zero;
            var vk = new Vector<double>(shift);
            // Loads off the span's start, not `new Vector(values[i..])`: slicing every vector costs a bounds
            // check and a span, and made this loop several times slower than its arithmetic.
            ref var start = ref MemoryMarshal.GetReference(values);
            if (fromSingles)
            {
                // Eight floats widen to two vectors of doubles, taken in element order: the same
                // additions as over the widened block.
                ref var first = ref MemoryMarshal.GetReference(singles);
                for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                {
                    Vector.Widen(Vector.LoadUnsafe(ref first, (nuint)i), out var low, out var high);
                    Step(low, vk, ref vs, ref vc, ref vq, ref vd, ref vdq, ref vmin, ref vmax, ref vz);
                    Step(high, vk, ref vs, ref vc, ref vq, ref vd, ref vdq, ref vmin, ref vmax, ref vz);
                }

                // A last half vector goes through the lanes too, as it does over the widened block.
                Span<double> half = stackalloc double[Vector<double>.Count];
                for (; i <= n - Vector<double>.Count; i += Vector<double>.Count)
                {
                    for (var lane = 0; lane < half.Length; lane++)
                    {
                        half[lane] = singles[i + lane];
                    }

                    Step(new Vector<double>(half), vk, ref vs, ref vc, ref vq, ref vd, ref vdq, ref vmin, ref vmax, ref vz);
                }
            }
            else
            {
                for (; i <= n - Vector<double>.Count; i += Vector<double>.Count)
                {
                    Step(Vector.LoadUnsafe(ref start, (nuint)i), vk, ref vs, ref vc, ref vq, ref vd, ref vdq, ref vmin, ref vmax, ref vz);
                }
            }

            sum = Vector.Sum(vs);
            for (var lane = 0; lane < Vector<double>.Count; lane++)
            {
                total.Add(vs[lane]);
            }

            for (var lane = 0; lane < Vector<double>.Count; lane++)
            {
                total.Add(vc[lane]);
            }

            squares = Vector.Sum(vq);
            shifted = Vector.Sum(vd);
            shiftedSquares = Vector.Sum(vdq);
            zeros = Vector.Sum(vz);
            for (var lane = 0; lane < Vector<double>.Count; lane++)
            {
                min = Math.Min(min, vmin[lane]);
                max = Math.Max(max, vmax[lane]);
            }
        }

        for (; i < n; i++)
        {
            var v = fromSingles ? singles[i] : values[i];
            var d = v - shift;
            sum += v;
            total.Add(v);
            squares += v * v;
            shifted += d;
            shiftedSquares += d * d;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            zeros += v == 0 ? 1 : 0;
        }

        return TryMergeFiniteBlock(n, shift, sum, total, squares, shifted, shiftedSquares, min, max, zeros);
    }

    /// <summary>
    /// The float32 kernels' end of a block: adds the elements past the last whole vector to the sums one by
    /// one, then merges the block (<see cref="TryMergeFiniteBlock"/>).
    /// </summary>
    private bool TryMergeSinglesBlock(ReadOnlySpan<float> tail, int n, double shift, double sum, CompensatedSum total,
        double squares, double shifted, double shiftedSquares, double min, double max, long zeros)
    {
        foreach (double v in tail)
        {
            var d = v - shift;
            sum += v;
            total.Add(v);
            squares += v * v;
            shifted += d;
            shiftedSquares += d * d;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            zeros += v == 0 ? 1 : 0;
        }

        return TryMergeFiniteBlock(n, shift, sum, total, squares, shifted, shiftedSquares, min, max, zeros);
    }

    /// <summary>
    /// Merges one block of finite values from its sums (both kernels end their blocks here); false when a
    /// sum overflowed, so the caller takes the slower path that handles it.
    /// </summary>
    private bool TryMergeFiniteBlock(int n, double shift, double sum, CompensatedSum total, double squares, double shifted,
        double shiftedSquares, double min, double max, long zeros)
    {
        if (!double.IsFinite(sum) || !double.IsFinite(shiftedSquares))
        {
            return false;
        }

        var block = default(ChunkStatistics);
        block.Count = n;
        block.FiniteCount = n;
        block.Sum = total;
        block.SumOfSquares.Add(squares);
        block.Mean = shift + shifted / n;
        block.SquaredDeviations = Math.Max(0, shiftedSquares - shifted * shifted / n);
        block.FiniteMin = min;
        block.FiniteMax = max;
        block.ZeroCount = zeros;
        Merge(block);
        return true;
    }

    /// <summary>One vector of the fused pass (see <see cref="TryAddFinite"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(Vector<double> v, Vector<double> vk, ref Vector<double> vs, ref Vector<double> vc, ref Vector<double> vq,
        ref Vector<double> vd, ref Vector<double> vdq, ref Vector<double> vmin, ref Vector<double> vmax, ref Vector<long> vz)
    {
        var d = v - vk;
        var t = vs + v;
        // Knuth's TwoSum: the exact rounding error of vs + v, as Neumaier's branch gives it
        // (both are exact, so the result is the same bit for bit) in 6 operations instead of 10.
        var vt = t - vs;
        vc += (vs - (t - vt)) + (v - vt);
        vs = t;
        vq += v * v;
        vd += d;
        vdq += d * d;
        // A plain compare and select: Vector.Min/Max carry IEEE NaN and −0 rules, not needed here
        // (a NaN fails the sum check) and several times slower on newer runtimes.
        vmin = Vector.ConditionalSelect(Vector.LessThan(v, vmin), v, vmin);
        vmax = Vector.ConditionalSelect(Vector.GreaterThan(v, vmax), v, vmax);
        vz -= Vector.Equals(v, Vector<double>.Zero);
    }

    /// <summary>Adds a block of finite values in two passes (mean, then squared deviations): the path for sums that overflow.</summary>
    /// <param name="values">The values, all finite.</param>
    /// <param name="scratch">At least as long as <paramref name="values"/>.</param>
    private void AddFinite(ReadOnlySpan<double> values, Span<double> scratch)
    {
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
