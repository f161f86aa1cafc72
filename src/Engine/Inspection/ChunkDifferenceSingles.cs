using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DataraxCkpt.Inspection;

/// <summary>
/// The float32 kernels of <see cref="ChunkDifference"/>: pairs of float32 widened in registers, where the
/// general path widens both blocks to memory and passes over them again. Every figure is taken from the
/// same per-element values as the general path (d = a − b and a² in double; a float32 square is exact in
/// double), only summed in more lanes: within a block each double lane adds at most 128 (512-bit) or
/// 256 (256-bit) values plainly, as the general path's four lanes add 512, and the block's sums enter the
/// compensated totals as before. The error bounds are therefore the general path's or tighter.
/// </summary>
internal partial struct ChunkDifference
{
    /// <summary>
    /// Adds a block of float32 pairs (at most <see cref="ElementWidening.BlockLength"/>): by a float32 kernel
    /// where the processor has one, else, and for a block holding NaN or ±∞, widened into
    /// <paramref name="a"/> and <paramref name="b"/> and added as <see cref="AddBlock"/> adds them.
    /// </summary>
    public void AddSingles(ReadOnlySpan<float> before, ReadOnlySpan<float> after, Span<double> a, Span<double> b)
    {
        var n = before.Length;
        if (after.Length != n)
        {
            throw new ArgumentException($"{n} values before, {after.Length} after", nameof(after));
        }

        if (SimdPaths.Use512 ? TryAddFiniteSingles512(before, after) : SimdPaths.Use256 && TryAddFiniteSingles256(before, after))
        {
            Count += n;
            return;
        }

        for (var i = 0; i < n; i++)
        {
            a[i] = before[i];
            b[i] = after[i];
        }

        AddBlock(a[..n], b[..n]);
    }

    /// <summary>
    /// Sixteen pairs per step. Equality is compared on the floats (for finite values a == b exactly when
    /// a − b == 0 in double, −0.0 equal to +0.0) and counted by a mask's population count. Σa² and Σd² are
    /// finite exactly when both blocks are: a float32 square cannot overflow a double, and a finite a with
    /// an infinite or NaN b gives an infinite or NaN d. False, adding nothing, otherwise.
    /// </summary>
    private bool TryAddFiniteSingles512(ReadOnlySpan<float> before, ReadOnlySpan<float> after)
    {
        var n = before.Length;
        var absoluteLow = Vector512<double>.Zero;
        var absoluteHigh = Vector512<double>.Zero;
        var squaresLow = Vector512<double>.Zero;
        var squaresHigh = Vector512<double>.Zero;
        var beforeLow = Vector512<double>.Zero;
        var beforeHigh = Vector512<double>.Zero;
        var maxLow = Vector512<double>.Zero;
        var maxHigh = Vector512<double>.Zero;
        long same = 0;
        ref var a0 = ref MemoryMarshal.GetReference(before);
        ref var b0 = ref MemoryMarshal.GetReference(after);
        var i = 0;
        for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
        {
            var equal = Vector512.Equals(Vector512.LoadUnsafe(ref a0, (nuint)i), Vector512.LoadUnsafe(ref b0, (nuint)i));
            same += BitOperations.PopCount(equal.ExtractMostSignificantBits());
            var aLow = Avx512F.ConvertToVector512Double(Vector256.LoadUnsafe(ref a0, (nuint)i));
            var aHigh = Avx512F.ConvertToVector512Double(Vector256.LoadUnsafe(ref a0, (nuint)i + 8));
            var dLow = aLow - Avx512F.ConvertToVector512Double(Vector256.LoadUnsafe(ref b0, (nuint)i));
            var dHigh = aHigh - Avx512F.ConvertToVector512Double(Vector256.LoadUnsafe(ref b0, (nuint)i + 8));
            var absLow = Vector512.Abs(dLow);
            var absHigh = Vector512.Abs(dHigh);
            absoluteLow += absLow;
            absoluteHigh += absHigh;
            // vmaxpd: NaN handling differs from IEEE max, but a NaN fails the sum check anyway.
            maxLow = Avx512F.Max(maxLow, absLow);
            maxHigh = Avx512F.Max(maxHigh, absHigh);
            squaresLow = Avx512F.FusedMultiplyAdd(dLow, dLow, squaresLow);
            squaresHigh = Avx512F.FusedMultiplyAdd(dHigh, dHigh, squaresHigh);
            beforeLow = Avx512F.FusedMultiplyAdd(aLow, aLow, beforeLow);
            beforeHigh = Avx512F.FusedMultiplyAdd(aHigh, aHigh, beforeHigh);
        }

        var max = Avx512F.Max(maxLow, maxHigh);
        return TryMergeSingles(before[i..], after[i..], n - same, Vector512.Sum(absoluteLow + absoluteHigh),
            Vector512.Sum(squaresLow + squaresHigh), Vector512.Sum(beforeLow + beforeHigh),
            MaxOf(Avx.Max(max.GetLower(), max.GetUpper())));
    }

    /// <summary>As <see cref="TryAddFiniteSingles512"/>, eight pairs per step.</summary>
    private bool TryAddFiniteSingles256(ReadOnlySpan<float> before, ReadOnlySpan<float> after)
    {
        var n = before.Length;
        var absoluteLow = Vector256<double>.Zero;
        var absoluteHigh = Vector256<double>.Zero;
        var squaresLow = Vector256<double>.Zero;
        var squaresHigh = Vector256<double>.Zero;
        var beforeLow = Vector256<double>.Zero;
        var beforeHigh = Vector256<double>.Zero;
        var maxLow = Vector256<double>.Zero;
        var maxHigh = Vector256<double>.Zero;
        long same = 0;
        ref var a0 = ref MemoryMarshal.GetReference(before);
        ref var b0 = ref MemoryMarshal.GetReference(after);
        var i = 0;
        for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var equal = Vector256.Equals(Vector256.LoadUnsafe(ref a0, (nuint)i), Vector256.LoadUnsafe(ref b0, (nuint)i));
            same += BitOperations.PopCount(equal.ExtractMostSignificantBits());
            var aLow = Avx.ConvertToVector256Double(Vector128.LoadUnsafe(ref a0, (nuint)i));
            var aHigh = Avx.ConvertToVector256Double(Vector128.LoadUnsafe(ref a0, (nuint)i + 4));
            var dLow = aLow - Avx.ConvertToVector256Double(Vector128.LoadUnsafe(ref b0, (nuint)i));
            var dHigh = aHigh - Avx.ConvertToVector256Double(Vector128.LoadUnsafe(ref b0, (nuint)i + 4));
            var absLow = Vector256.Abs(dLow);
            var absHigh = Vector256.Abs(dHigh);
            absoluteLow += absLow;
            absoluteHigh += absHigh;
            maxLow = Avx.Max(maxLow, absLow);
            maxHigh = Avx.Max(maxHigh, absHigh);
            squaresLow = Fma.MultiplyAdd(dLow, dLow, squaresLow);
            squaresHigh = Fma.MultiplyAdd(dHigh, dHigh, squaresHigh);
            beforeLow = Fma.MultiplyAdd(aLow, aLow, beforeLow);
            beforeHigh = Fma.MultiplyAdd(aHigh, aHigh, beforeHigh);
        }

        return TryMergeSingles(before[i..], after[i..], n - same, Vector256.Sum(absoluteLow + absoluteHigh),
            Vector256.Sum(squaresLow + squaresHigh), Vector256.Sum(beforeLow + beforeHigh), MaxOf(Avx.Max(maxLow, maxHigh)));
    }

    /// <summary>Adds the scalar tail to a kernel's block sums and merges them; false when a sum is not finite.</summary>
    private bool TryMergeSingles(ReadOnlySpan<float> before, ReadOnlySpan<float> after, long different, double absolute,
        double squares, double squaresBefore, double max)
    {
        for (var i = 0; i < before.Length; i++)
        {
            double a = before[i], d = a - after[i];
            absolute += Math.Abs(d);
            squares += d * d;
            squaresBefore += a * a;
            max = Math.Max(max, Math.Abs(d));
            different -= d == 0 ? 1 : 0;
        }

        if (!double.IsFinite(squaresBefore) || !double.IsFinite(squares))
        {
            return false;
        }

        DifferentCount += different;
        MaxAbsoluteDifference = Math.Max(MaxAbsoluteDifference, max);
        SumOfAbsoluteDifferences.Add(absolute);
        SumOfSquaredDifferences.Add(squares);
        SumOfSquaresBefore.Add(squaresBefore);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double MaxOf(Vector256<double> v)
    {
        var m = Sse2.Max(v.GetLower(), v.GetUpper());
        return Math.Max(m.GetElement(0), m.GetElement(1));
    }
}
