using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DataraxCkpt.Inspection;

/// <summary>
/// The float32 kernel of <see cref="ChunkStatistics"/>: about 17 vector operations per eight elements
/// where widening every element and running the double kernel on it took about 40.
/// </summary>
internal partial struct ChunkStatistics
{
    /// <summary>The float32 kernel needs 256-bit float and integer vectors and fused multiply-add.</summary>
    private static bool SinglesKernelSupported => SimdPaths.Use256;

    /// <summary>
    /// One pass over a block of float32 (at most <see cref="ElementWidening.BlockLength"/> values, so each
    /// double lane adds at most 256 of them). Min, max and zeros stay in float32 lanes: widening is exact and
    /// monotonic, so the min of the floats widened is the min of the widened floats. Σx, Σx², Σd and Σd²
    /// (d = x − x₀) are plain double-lane sums, eight independent lanes split low/high so no addition waits
    /// on the one before; the block's lane sums of Σx then enter the compensated total one by one: a
    /// pairwise sum by blocks instead of a TwoSum per element. Each lane adds ≤ 256 float32 values in
    /// double, an error below 2⁻⁴⁵·Σ|x|, far under float32's own 2⁻²⁴, and integers (a tensor of 1.0) add
    /// exactly. Squares use FMA (one rounding). False, adding nothing, when a sum is not finite (a NaN or ±∞
    /// is in the block: float32 squares cannot overflow a double).
    /// </summary>
    private bool TryAddFiniteSingles(ReadOnlySpan<float> singles)
    {
        var n = singles.Length;
        if (n < Vector256<float>.Count)
        {
            return TryAddFinite(default, singles);
        }

        double shift = singles[0];
        var vk = Vector256.Create(shift);
        var sumLow = Vector256<double>.Zero;
        var sumHigh = Vector256<double>.Zero;
        var squaresLow = Vector256<double>.Zero;
        var squaresHigh = Vector256<double>.Zero;
        var shiftedLow = Vector256<double>.Zero;
        var shiftedHigh = Vector256<double>.Zero;
        var shiftedSquaresLow = Vector256<double>.Zero;
        var shiftedSquaresHigh = Vector256<double>.Zero;
        var vmin = Vector256.Create(float.PositiveInfinity);
        var vmax = Vector256.Create(float.NegativeInfinity);
        var vz = Vector256<int>.Zero;
        ref var first = ref MemoryMarshal.GetReference(singles);
        var i = 0;
        for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var f = Vector256.LoadUnsafe(ref first, (nuint)i);
            // vminps/vmaxps: NaN handling differs from IEEE min, but a NaN fails the sum check anyway.
            vmin = Avx.Min(vmin, f);
            vmax = Avx.Max(vmax, f);
            // Equal lanes are all ones (−1): subtracting counts them; −0.0 == 0.0 here.
            vz -= Vector256.Equals(f, Vector256<float>.Zero).AsInt32();
            var low = Avx.ConvertToVector256Double(f.GetLower());
            var high = Avx.ConvertToVector256Double(f.GetUpper());
            sumLow += low;
            sumHigh += high;
            squaresLow = Fma.MultiplyAdd(low, low, squaresLow);
            squaresHigh = Fma.MultiplyAdd(high, high, squaresHigh);
            var dLow = low - vk;
            var dHigh = high - vk;
            shiftedLow += dLow;
            shiftedHigh += dHigh;
            shiftedSquaresLow = Fma.MultiplyAdd(dLow, dLow, shiftedSquaresLow);
            shiftedSquaresHigh = Fma.MultiplyAdd(dHigh, dHigh, shiftedSquaresHigh);
        }

        var total = default(CompensatedSum);
        AddLanes(ref total, sumLow);
        AddLanes(ref total, sumHigh);
        var sum = Vector256.Sum(sumLow + sumHigh);
        var squares = Vector256.Sum(squaresLow + squaresHigh);
        var shifted = Vector256.Sum(shiftedLow + shiftedHigh);
        var shiftedSquares = Vector256.Sum(shiftedSquaresLow + shiftedSquaresHigh);
        long zeros = Vector256.Sum(vz);
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        for (var lane = 0; lane < Vector256<float>.Count; lane++)
        {
            min = Math.Min(min, vmin.GetElement(lane));
            max = Math.Max(max, vmax.GetElement(lane));
        }

        return TryMergeSinglesBlock(singles[i..], n, shift, sum, total, squares, shifted, shiftedSquares, min, max, zeros);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddLanes(ref CompensatedSum total, Vector256<double> lanes)
    {
        for (var lane = 0; lane < Vector256<double>.Count; lane++)
        {
            total.Add(lanes.GetElement(lane));
        }
    }
}
