using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DataraxCkpt.Inspection;

/// <summary>
/// The 512-bit float32 kernel of <see cref="ChunkStatistics"/>: the same quantities, rules and bounds as
/// the 256-bit one (<see cref="TryAddFiniteSingles"/>), sixteen elements per step in 17 instructions
/// where the 256-bit kernel needs 36 (the machine this was measured on runs 512-bit work on two ports, 256-bit on
/// three, so that is about 1.4× less time, not 2×).
/// </summary>
internal partial struct ChunkStatistics
{
    /// <summary>
    /// One pass over a block of float32 (at most <see cref="ElementWidening.BlockLength"/> values). Min, max
    /// and the least magnitude in sixteen float32 lanes (zeros are counted only in a block where it is 0); Σx, Σx², Σd, Σd² (d = x − x₀, exact for the floats of a block
    /// whose exponents lie within 29 of x₀'s, else rounded once as on every other path) in sixteen double
    /// lanes, low and high halves, so each lane adds at most 128 values plainly: an in-block error below
    /// 128·2⁻⁵³ = 2⁻⁴⁶ of Σ|x| (the 256-bit kernel's bound is 2⁻⁴⁵). The two halves are added lane by lane
    /// (each lane then holds ≤ 256 values' sum, one more rounding, still within 2⁻⁴⁵) and the eight lane
    /// sums of Σx enter the compensated total one by one, as in the 256-bit kernel. Squares by FMA; a
    /// float32 square is exact in double, so each square is rounded only by its addition. False, adding
    /// nothing, when a sum is not finite.
    /// </summary>
    /// <summary>vrangeps control: imm[1:0] = 10 selects the operand of least magnitude, imm[3:2] = 10 clears the sign.</summary>
    private const byte LeastMagnitudeSignCleared = 0b1010;

    private bool TryAddFiniteSingles512(ReadOnlySpan<float> singles)
    {
        var n = singles.Length;
        if (n < Vector512<float>.Count)
        {
            return TryAddFiniteSingles(singles);
        }

        double shift = singles[0];
        var vk = Vector512.Create(shift);
        var sumLow = Vector512<double>.Zero;
        var sumHigh = Vector512<double>.Zero;
        var squaresLow = Vector512<double>.Zero;
        var squaresHigh = Vector512<double>.Zero;
        var shiftedLow = Vector512<double>.Zero;
        var shiftedHigh = Vector512<double>.Zero;
        var shiftedSquaresLow = Vector512<double>.Zero;
        var shiftedSquaresHigh = Vector512<double>.Zero;
        var vmin = Vector512.Create(float.PositiveInfinity);
        var vmax = Vector512.Create(float.NegativeInfinity);
        var vminAbs = Vector512.Create(float.PositiveInfinity);
        ref var first = ref MemoryMarshal.GetReference(singles);
        var i = 0;
        for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
        {
            var f = Vector512.LoadUnsafe(ref first, (nuint)i);
            // vminps/vmaxps: NaN handling differs from IEEE min, but a NaN fails the sum check anyway.
            vmin = Avx512F.Min(vmin, f);
            vmax = Avx512F.Max(vmax, f);
            // The least magnitude, sign cleared (vrangeps, one instruction): zero exactly when the block
            // holds a ±0.0, which only then are counted, in a second pass. Counting in this loop took three
            // instructions (compare to a mask, mask to vector, subtract) of the ~19 the loop had.
            vminAbs = Avx512DQ.Range(vminAbs, f, LeastMagnitudeSignCleared);
            // Each half widened straight from memory (vcvtps2pd with a memory operand): no shuffle.
            var low = Avx512F.ConvertToVector512Double(Vector256.LoadUnsafe(ref first, (nuint)i));
            var high = Avx512F.ConvertToVector512Double(Vector256.LoadUnsafe(ref first, (nuint)i + 8));
            sumLow += low;
            sumHigh += high;
            squaresLow = Avx512F.FusedMultiplyAdd(low, low, squaresLow);
            squaresHigh = Avx512F.FusedMultiplyAdd(high, high, squaresHigh);
            var dLow = low - vk;
            var dHigh = high - vk;
            shiftedLow += dLow;
            shiftedHigh += dHigh;
            shiftedSquaresLow = Avx512F.FusedMultiplyAdd(dLow, dLow, shiftedSquaresLow);
            shiftedSquaresHigh = Avx512F.FusedMultiplyAdd(dHigh, dHigh, shiftedSquaresHigh);
        }

        var lanes = sumLow + sumHigh;
        var total = default(CompensatedSum);
        AddLanes(ref total, lanes.GetLower());
        AddLanes(ref total, lanes.GetUpper());
        var sum = Vector512.Sum(lanes);
        var squares = Vector512.Sum(squaresLow + squaresHigh);
        var shifted = Vector512.Sum(shiftedLow + shiftedHigh);
        var shiftedSquares = Vector512.Sum(shiftedSquaresLow + shiftedSquaresHigh);
        var min8 = Avx.Min(vmin.GetLower(), vmin.GetUpper());
        var max8 = Avx.Max(vmax.GetLower(), vmax.GetUpper());
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        for (var lane = 0; lane < Vector256<float>.Count; lane++)
        {
            min = Math.Min(min, min8.GetElement(lane));
            max = Math.Max(max, max8.GetElement(lane));
        }

        // After the vectors are reduced: vectors live across a call are spilled at every write in the loop.
        // A NaN makes vminAbs NaN, not zero; that block fails the sum check and is counted elsewhere.
        var zeros = Vector512.EqualsAny(vminAbs, Vector512<float>.Zero) ? CountZeros512(singles[..i]) : 0L;
        return TryMergeSinglesBlock(singles[i..], n, shift, sum, total, squares, shifted, shiftedSquares, min, max, zeros);
    }

    /// <summary>The ±0.0 among whole vectors of float32 (a block's length rounded down to 16).</summary>
    private static long CountZeros512(ReadOnlySpan<float> singles)
    {
        long zeros = 0;
        ref var first = ref MemoryMarshal.GetReference(singles);
        for (var i = 0; i <= singles.Length - Vector512<float>.Count; i += Vector512<float>.Count)
        {
            zeros += BitOperations.PopCount(Vector512.Equals(Vector512.LoadUnsafe(ref first, (nuint)i), Vector512<float>.Zero).ExtractMostSignificantBits());
        }

        return zeros;
    }
}
