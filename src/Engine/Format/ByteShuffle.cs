using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DataraxCkpt.Format;

/// <summary>
/// The <c>shuffle</c> filter (blosc's byte shuffle): for element size <c>s</c> and
/// <c>n = length / s</c> elements, <c>shuffled[j*n + i] = raw[i*s + j]</c>, and the
/// <c>length % s</c> trailing bytes are copied unchanged at the end. Grouping byte <c>j</c> of every
/// element together turns the near-constant exponent and zeroed mantissa bytes of floats into long
/// runs that LZ4 finds. Sizes 2, 4 and 8 run 16 elements at a time with SSE2/SSSE3; anything the
/// vector loop leaves is done by the scalar loop, which is also the reference the tests compare with.
/// </summary>
internal static class ByteShuffle
{
    /// <summary>True for the element sizes the filter is defined for.</summary>
    public static bool Supports(int elementSize) => elementSize is 2 or 4 or 8;

    /// <summary>Shuffles <paramref name="raw"/> into <paramref name="shuffled"/> (same length, no overlap).</summary>
    public static unsafe void Shuffle(ReadOnlySpan<byte> raw, Span<byte> shuffled, int elementSize)
    {
        CheckArguments(raw.Length, shuffled.Length, elementSize);
        var n = raw.Length / elementSize;
        var done = 0;
        fixed (byte* src = raw)
        fixed (byte* dst = shuffled)
        {
            if (Ssse3.IsSupported)
            {
                done = elementSize switch
                {
                    2 => Shuffle2(src, dst, n),
                    4 => Shuffle4(src, dst, n),
                    _ => Shuffle8(src, dst, n),
                };
            }

            ShuffleScalar(src, dst, n, done, elementSize);
        }

        CopyTrailing(raw, shuffled, n * elementSize);
    }

    /// <summary>Reverses <see cref="Shuffle"/>: <paramref name="shuffled"/> back into <paramref name="raw"/>.</summary>
    public static unsafe void Unshuffle(ReadOnlySpan<byte> shuffled, Span<byte> raw, int elementSize)
    {
        CheckArguments(shuffled.Length, raw.Length, elementSize);
        var n = shuffled.Length / elementSize;
        var done = 0;
        fixed (byte* src = shuffled)
        fixed (byte* dst = raw)
        {
            if (Sse2.IsSupported)
            {
                done = elementSize switch
                {
                    2 => Unshuffle2(src, dst, n),
                    4 => Unshuffle4(src, dst, n),
                    _ => Unshuffle8(src, dst, n),
                };
            }

            UnshuffleScalar(src, dst, n, done, elementSize);
        }

        CopyTrailing(shuffled, raw, n * elementSize);
    }

    /// <summary>The definition, one byte at a time: the reference the vector paths must match.</summary>
    internal static void ShuffleReference(ReadOnlySpan<byte> raw, Span<byte> shuffled, int elementSize)
    {
        CheckArguments(raw.Length, shuffled.Length, elementSize);
        var n = raw.Length / elementSize;
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < elementSize; j++)
            {
                shuffled[(j * n) + i] = raw[(i * elementSize) + j];
            }
        }

        CopyTrailing(raw, shuffled, n * elementSize);
    }

    private static void CheckArguments(int sourceLength, int destinationLength, int elementSize)
    {
        if (!Supports(elementSize))
        {
            throw new ArgumentOutOfRangeException(nameof(elementSize), elementSize, "The shuffle filter is defined for element sizes 2, 4 and 8.");
        }

        if (sourceLength != destinationLength)
        {
            throw new ArgumentException($"Shuffle source ({sourceLength} bytes) and destination ({destinationLength} bytes) differ in length.");
        }
    }

    private static void CopyTrailing(ReadOnlySpan<byte> source, Span<byte> destination, int from) =>
        source[from..].CopyTo(destination[from..]);

    /// <summary>
    /// The scalar shuffle reads each element with one load, then scatters its bytes: the save shuffles
    /// straight from the caller's array, and a byte-by-byte read of an element the caller changes
    /// meanwhile could store bytes of the old and the new value together, a value never written.
    /// </summary>
    private static unsafe void ShuffleScalar(byte* src, byte* dst, int n, int from, int s)
    {
        for (var i = from; i < n; i++)
        {
            var element = src + ((nint)i * s);
            var value = s switch
            {
                2 => Unsafe.ReadUnaligned<ushort>(element),
                4 => Unsafe.ReadUnaligned<uint>(element),
                _ => Unsafe.ReadUnaligned<ulong>(element),
            };

            for (var j = 0; j < s; j++)
            {
                // Byte j in memory order, whatever the host's byte order.
                dst[((nint)j * n) + i] = BitConverter.IsLittleEndian ? (byte)(value >> (8 * j)) : (byte)(value >> (8 * (s - 1 - j)));
            }
        }
    }

    private static unsafe void UnshuffleScalar(byte* src, byte* dst, int n, int from, int s)
    {
        for (var i = from; i < n; i++)
        {
            var element = dst + ((nint)i * s);
            for (var j = 0; j < s; j++)
            {
                element[j] = src[((nint)j * n) + i];
            }
        }
    }

    // Each vector routine handles whole groups of 16 elements and returns how many elements it did.

    private static unsafe int Shuffle2(byte* src, byte* dst, int n)
    {
        // Even bytes to the low half, odd bytes to the high half of each 8-element register.
        var split = Vector128.Create((byte)0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
        var groups = n / 16;
        for (var g = 0; g < groups; g++)
        {
            var a = Ssse3.Shuffle(Sse2.LoadVector128(src), split).AsUInt64();
            var b = Ssse3.Shuffle(Sse2.LoadVector128(src + 16), split).AsUInt64();
            Sse2.Store(dst, Sse2.UnpackLow(a, b).AsByte());
            Sse2.Store(dst + n, Sse2.UnpackHigh(a, b).AsByte());
            src += 32;
            dst += 16;
        }

        return groups * 16;
    }

    private static unsafe int Shuffle4(byte* src, byte* dst, int n)
    {
        // Per register of 4 elements: byte j of each element into dword j; then a 4x4 dword transpose.
        var split = Vector128.Create((byte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        var groups = n / 16;
        for (var g = 0; g < groups; g++)
        {
            var r0 = Ssse3.Shuffle(Sse2.LoadVector128(src), split).AsUInt32();
            var r1 = Ssse3.Shuffle(Sse2.LoadVector128(src + 16), split).AsUInt32();
            var r2 = Ssse3.Shuffle(Sse2.LoadVector128(src + 32), split).AsUInt32();
            var r3 = Ssse3.Shuffle(Sse2.LoadVector128(src + 48), split).AsUInt32();
            var t0 = Sse2.UnpackLow(r0, r1).AsUInt64();
            var t1 = Sse2.UnpackLow(r2, r3).AsUInt64();
            var t2 = Sse2.UnpackHigh(r0, r1).AsUInt64();
            var t3 = Sse2.UnpackHigh(r2, r3).AsUInt64();
            Sse2.Store(dst, Sse2.UnpackLow(t0, t1).AsByte());
            Sse2.Store(dst + n, Sse2.UnpackHigh(t0, t1).AsByte());
            Sse2.Store(dst + (2 * (nint)n), Sse2.UnpackLow(t2, t3).AsByte());
            Sse2.Store(dst + (3 * (nint)n), Sse2.UnpackHigh(t2, t3).AsByte());
            src += 64;
            dst += 16;
        }

        return groups * 16;
    }

    private static unsafe int Shuffle8(byte* src, byte* dst, int n)
    {
        // Per register of 2 elements: byte j of both elements into word j; then an 8x8 word transpose.
        var split = Vector128.Create((byte)0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        var groups = n / 16;
        var stride = (nint)n;
        for (var g = 0; g < groups; g++)
        {
            var r0 = Ssse3.Shuffle(Sse2.LoadVector128(src), split).AsUInt16();
            var r1 = Ssse3.Shuffle(Sse2.LoadVector128(src + 16), split).AsUInt16();
            var r2 = Ssse3.Shuffle(Sse2.LoadVector128(src + 32), split).AsUInt16();
            var r3 = Ssse3.Shuffle(Sse2.LoadVector128(src + 48), split).AsUInt16();
            var r4 = Ssse3.Shuffle(Sse2.LoadVector128(src + 64), split).AsUInt16();
            var r5 = Ssse3.Shuffle(Sse2.LoadVector128(src + 80), split).AsUInt16();
            var r6 = Ssse3.Shuffle(Sse2.LoadVector128(src + 96), split).AsUInt16();
            var r7 = Ssse3.Shuffle(Sse2.LoadVector128(src + 112), split).AsUInt16();
            var a0 = Sse2.UnpackLow(r0, r1).AsUInt32();
            var a1 = Sse2.UnpackHigh(r0, r1).AsUInt32();
            var a2 = Sse2.UnpackLow(r2, r3).AsUInt32();
            var a3 = Sse2.UnpackHigh(r2, r3).AsUInt32();
            var a4 = Sse2.UnpackLow(r4, r5).AsUInt32();
            var a5 = Sse2.UnpackHigh(r4, r5).AsUInt32();
            var a6 = Sse2.UnpackLow(r6, r7).AsUInt32();
            var a7 = Sse2.UnpackHigh(r6, r7).AsUInt32();
            var b0 = Sse2.UnpackLow(a0, a2).AsUInt64();
            var b1 = Sse2.UnpackHigh(a0, a2).AsUInt64();
            var b2 = Sse2.UnpackLow(a1, a3).AsUInt64();
            var b3 = Sse2.UnpackHigh(a1, a3).AsUInt64();
            var b4 = Sse2.UnpackLow(a4, a6).AsUInt64();
            var b5 = Sse2.UnpackHigh(a4, a6).AsUInt64();
            var b6 = Sse2.UnpackLow(a5, a7).AsUInt64();
            var b7 = Sse2.UnpackHigh(a5, a7).AsUInt64();
            Sse2.Store(dst, Sse2.UnpackLow(b0, b4).AsByte());
            Sse2.Store(dst + stride, Sse2.UnpackHigh(b0, b4).AsByte());
            Sse2.Store(dst + (2 * stride), Sse2.UnpackLow(b1, b5).AsByte());
            Sse2.Store(dst + (3 * stride), Sse2.UnpackHigh(b1, b5).AsByte());
            Sse2.Store(dst + (4 * stride), Sse2.UnpackLow(b2, b6).AsByte());
            Sse2.Store(dst + (5 * stride), Sse2.UnpackHigh(b2, b6).AsByte());
            Sse2.Store(dst + (6 * stride), Sse2.UnpackLow(b3, b7).AsByte());
            Sse2.Store(dst + (7 * stride), Sse2.UnpackHigh(b3, b7).AsByte());
            src += 128;
            dst += 16;
        }

        return groups * 16;
    }

    private static unsafe int Unshuffle2(byte* src, byte* dst, int n)
    {
        var groups = n / 16;
        for (var g = 0; g < groups; g++)
        {
            var p0 = Sse2.LoadVector128(src);
            var p1 = Sse2.LoadVector128(src + n);
            Sse2.Store(dst, Sse2.UnpackLow(p0, p1));
            Sse2.Store(dst + 16, Sse2.UnpackHigh(p0, p1));
            src += 16;
            dst += 32;
        }

        return groups * 16;
    }

    private static unsafe int Unshuffle4(byte* src, byte* dst, int n)
    {
        var groups = n / 16;
        var stride = (nint)n;
        for (var g = 0; g < groups; g++)
        {
            var p0 = Sse2.LoadVector128(src);
            var p1 = Sse2.LoadVector128(src + stride);
            var p2 = Sse2.LoadVector128(src + (2 * stride));
            var p3 = Sse2.LoadVector128(src + (3 * stride));
            var t0 = Sse2.UnpackLow(p0, p1).AsUInt16();
            var t1 = Sse2.UnpackHigh(p0, p1).AsUInt16();
            var t2 = Sse2.UnpackLow(p2, p3).AsUInt16();
            var t3 = Sse2.UnpackHigh(p2, p3).AsUInt16();
            Sse2.Store(dst, Sse2.UnpackLow(t0, t2).AsByte());
            Sse2.Store(dst + 16, Sse2.UnpackHigh(t0, t2).AsByte());
            Sse2.Store(dst + 32, Sse2.UnpackLow(t1, t3).AsByte());
            Sse2.Store(dst + 48, Sse2.UnpackHigh(t1, t3).AsByte());
            src += 16;
            dst += 64;
        }

        return groups * 16;
    }

    private static unsafe int Unshuffle8(byte* src, byte* dst, int n)
    {
        var groups = n / 16;
        var stride = (nint)n;
        for (var g = 0; g < groups; g++)
        {
            var p0 = Sse2.LoadVector128(src);
            var p1 = Sse2.LoadVector128(src + stride);
            var p2 = Sse2.LoadVector128(src + (2 * stride));
            var p3 = Sse2.LoadVector128(src + (3 * stride));
            var p4 = Sse2.LoadVector128(src + (4 * stride));
            var p5 = Sse2.LoadVector128(src + (5 * stride));
            var p6 = Sse2.LoadVector128(src + (6 * stride));
            var p7 = Sse2.LoadVector128(src + (7 * stride));
            StoreEight(dst, Sse2.UnpackLow(p0, p1), Sse2.UnpackLow(p2, p3), Sse2.UnpackLow(p4, p5), Sse2.UnpackLow(p6, p7));
            StoreEight(dst + 64, Sse2.UnpackHigh(p0, p1), Sse2.UnpackHigh(p2, p3), Sse2.UnpackHigh(p4, p5), Sse2.UnpackHigh(p6, p7));
            src += 16;
            dst += 128;
        }

        return groups * 16;
    }

    /// <summary>Words of bytes 0-1, 2-3, 4-5, 6-7 of eight elements, interleaved back into eight whole elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreEight(byte* dst, Vector128<byte> w01, Vector128<byte> w23, Vector128<byte> w45, Vector128<byte> w67)
    {
        var lo0 = Sse2.UnpackLow(w01.AsUInt16(), w23.AsUInt16()).AsUInt32();
        var lo1 = Sse2.UnpackHigh(w01.AsUInt16(), w23.AsUInt16()).AsUInt32();
        var hi0 = Sse2.UnpackLow(w45.AsUInt16(), w67.AsUInt16()).AsUInt32();
        var hi1 = Sse2.UnpackHigh(w45.AsUInt16(), w67.AsUInt16()).AsUInt32();
        Sse2.Store(dst, Sse2.UnpackLow(lo0, hi0).AsByte());
        Sse2.Store(dst + 16, Sse2.UnpackHigh(lo0, hi0).AsByte());
        Sse2.Store(dst + 32, Sse2.UnpackLow(lo1, hi1).AsByte());
        Sse2.Store(dst + 48, Sse2.UnpackHigh(lo1, hi1).AsByte());
    }
}
