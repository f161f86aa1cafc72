using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DataraxCkpt.Format;

/// <summary>
/// The <c>planes</c> filter (docs/format.md §2.2): a chunk is byte-shuffled as by <c>shuffle</c>, then each
/// byte plane is kept as it is or, when it holds few distinct values (the sign/exponent byte of floats), stored
/// as 4-bit ranks into a table of its 15 most frequent values, with the rarer bytes listed aside as escapes.
/// LZ4 finds many short matches in such a plane and runs slowly over it; over the packed plane it finds none
/// and skips fast, and the plane is half the size. A chunk whose planes all stay as they are is stored as its
/// plain shuffled bytes (the content is then exactly as long as the chunk).
/// <para>Layout of a packed chunk's content, plane by plane (element size s, n = ⌊len/s⌋ elements), then the
/// <c>len mod s</c> trailing bytes: mode byte 0 followed by the n bytes of the plane; or mode byte 1, a table of
/// 15 bytes, the escape count e (uint32), ⌈n/2⌉ bytes of ranks (element 2i in the low nibble, 2i+1 in the high
/// nibble, a last unused high nibble 0), and the e escaped bytes in element order (rank 15 means "the next
/// escape").</para>
/// </summary>
internal static class PlanePacking
{
    /// <summary>The tensor's <c>filter</c> value.</summary>
    public const string Filter = "planes";

    /// <summary>The feature a step using the filter requires (docs/format.md §4).</summary>
    public const string Feature = "planes-filter";

    /// <summary>Plane kept as it is.</summary>
    public const byte ModeRaw = 0;

    /// <summary>Plane stored as 4-bit ranks with escapes.</summary>
    public const byte ModeNibbles = 1;

    /// <summary>Mode byte, table and escape count of a packed plane.</summary>
    public const int NibbleHeaderLength = 1 + 15 + 4;

    /// <summary>Rank that stands for "the next escaped byte".</summary>
    private const byte Escape = 15;

    /// <summary>Planes shorter than this stay as they are: the header would eat most of the gain.</summary>
    private const int MinPlaneLength = 256;

    /// <summary>Bytes of a plane sampled to choose its mode and table.</summary>
    private const int SampleLength = 4096;

    /// <summary>
    /// False makes packing and unpacking use the scalar loops only; tests flip it to prove both paths give the
    /// same bytes. Not for production use.
    /// </summary>
    internal static bool UseVectors { get; set; } = true;

    /// <summary>
    /// Packs the shuffled chunk <paramref name="shuffled"/> into <paramref name="content"/> (at least as long).
    /// Returns the content's length, or 0 when no plane pays for packing (the chunk is then stored as its shuffled
    /// bytes). A returned length is always below <c>shuffled.Length</c>.
    /// </summary>
    public static int Pack(ReadOnlySpan<byte> shuffled, Span<byte> content, int elementSize)
    {
        if (!ByteShuffle.Supports(elementSize) || content.Length < shuffled.Length)
        {
            throw new ArgumentException("Packing needs an element size of 2, 4 or 8 and room for the shuffled bytes.");
        }

        var n = shuffled.Length / elementSize;
        if (n < MinPlaneLength)
        {
            return 0;
        }

        Span<byte> tables = stackalloc byte[15 * 8];
        Span<bool> packs = stackalloc bool[8];
        var any = false;
        for (var j = 0; j < elementSize; j++)
        {
            packs[j] = ChooseTable(shuffled.Slice(j * n, n), tables.Slice(15 * j, 15));
            any |= packs[j];
        }

        if (!any)
        {
            return 0;
        }

        var pos = 0;
        var escapeLimit = n / 4;
        var escapes = ArrayPool<byte>.Shared.Rent(escapeLimit);
        try
        {
            for (var j = 0; j < elementSize; j++)
            {
                var plane = shuffled.Slice(j * n, n);
                if (packs[j])
                {
                    var table = tables.Slice(15 * j, 15);
                    var packedLength = (n + 1) / 2;
                    var nibbles = content.Slice(pos + NibbleHeaderLength, packedLength);
                    var count = PackPlane(plane, table, nibbles, escapes.AsSpan(0, escapeLimit));
                    if (count >= 0)
                    {
                        content[pos] = ModeNibbles;
                        table.CopyTo(content.Slice(pos + 1, 15));
                        BinaryPrimitives.WriteUInt32LittleEndian(content.Slice(pos + 16, 4), (uint)count);
                        pos += NibbleHeaderLength + packedLength;
                        escapes.AsSpan(0, count).CopyTo(content.Slice(pos, count));
                        pos += count;
                        continue;
                    }
                }

                // Too many escapes after all (the sample missed them): the plane stays as it is, unless the
                // content would then be no shorter than the shuffled bytes.
                if (pos + 1 + n > content.Length)
                {
                    return 0;
                }

                content[pos] = ModeRaw;
                plane.CopyTo(content.Slice(pos + 1, n));
                pos += 1 + n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(escapes);
        }

        var trailing = shuffled[(n * elementSize)..];
        if (pos + trailing.Length >= shuffled.Length)
        {
            return 0;
        }

        trailing.CopyTo(content[pos..]);
        return pos + trailing.Length;
    }

    /// <summary>
    /// Picks a plane's table from a sample: the 15 most frequent sampled values, most frequent first. True when
    /// the plane should be packed: the escapes the sample predicts stay under 1/16 of the plane (so the packed
    /// plane is well under its length), and no single value fills nearly the whole sample (a run LZ4 already
    /// passes at full speed gains nothing from packing and costs a pass on save and on restore).
    /// </summary>
    private static bool ChooseTable(ReadOnlySpan<byte> plane, Span<byte> table)
    {
        Span<int> counts = stackalloc int[256];
        counts.Clear();
        var stride = Math.Max(1, plane.Length / SampleLength);
        var sampled = 0;
        for (var i = 0; i < plane.Length; i += stride)
        {
            counts[plane[i]]++;
            sampled++;
        }

        // The last byte too: a plane's end is where an unlucky stride misses most.
        counts[plane[^1]]++;
        sampled++;
        var covered = 0;
        var top = 0;
        for (var k = 0; k < 15; k++)
        {
            var best = 0;
            for (var v = 1; v < 256; v++)
            {
                if (counts[v] > counts[best])
                {
                    best = v;
                }
            }

            if (k == 0)
            {
                top = counts[best];
            }

            covered += counts[best];
            table[k] = (byte)best;
            // Taken: a value at count -1 is never picked again, and an unused slot repeats no earlier value
            // with a count that could win (ties among zeros pick the lowest unpicked value).
            counts[best] = -1;
        }

        var escaped = sampled - covered;
        return escaped * 16L < sampled && top * 64L < sampled * 63L;
    }

    /// <summary>
    /// Writes the ranks of <paramref name="plane"/> to <paramref name="nibbles"/> (⌈n/2⌉ bytes) and its escaped
    /// bytes to <paramref name="escapes"/>; returns the escape count, or -1 when more than
    /// <paramref name="escapes"/> holds.
    /// </summary>
    internal static unsafe int PackPlane(ReadOnlySpan<byte> plane, ReadOnlySpan<byte> table, Span<byte> nibbles, Span<byte> escapes)
    {
        var n = plane.Length;
        var count = 0;
        var done = 0;
        fixed (byte* src = plane)
        fixed (byte* dst = nibbles)
        fixed (byte* esc = escapes)
        {
            if (UseVectors && Vector256.IsHardwareAccelerated)
            {
                done = PackVector256(src, dst, n, table, esc, escapes.Length, ref count);
            }
            else if (UseVectors && Vector128.IsHardwareAccelerated)
            {
                done = PackVector128(src, dst, n, table, esc, escapes.Length, ref count);
            }

            if (done < 0)
            {
                return -1;
            }

            Span<byte> rank = stackalloc byte[256];
            rank.Fill(Escape);
            for (var k = 14; k >= 0; k--)
            {
                rank[table[k]] = (byte)k;
            }

            for (var i = done; i < n; i += 2)
            {
                var lo = Rank(src[i], rank, esc, escapes.Length, ref count);
                var hi = i + 1 < n ? Rank(src[i + 1], rank, esc, escapes.Length, ref count) : 0;
                if (count < 0)
                {
                    return -1;
                }

                dst[i / 2] = (byte)(lo | (hi << 4));
            }
        }

        return count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe int Rank(byte value, ReadOnlySpan<byte> rank, byte* escapes, int capacity, ref int count)
    {
        var r = rank[value];
        if (r == Escape && count >= 0)
        {
            if (count == capacity)
            {
                count = -1;
            }
            else
            {
                escapes[count++] = value;
            }
        }

        return r;
    }

    /// <summary>Packs whole groups of 64 bytes; returns how many bytes it did, or -1 when the escapes overflow.</summary>
    private static unsafe int PackVector256(byte* src, byte* dst, int n, ReadOnlySpan<byte> table, byte* esc, int capacity, ref int count)
    {
        var t = stackalloc Vector256<byte>[15];
        var r = stackalloc Vector256<byte>[15];
        for (var k = 0; k < 15; k++)
        {
            t[k] = Vector256.Create(table[k]);
            // acc |= (x == t[k]) & (k ^ 15), then rank = acc ^ 15: 15 where no value matched.
            r[k] = Vector256.Create((byte)(k ^ Escape));
        }

        // A value that is in the table twice (an unused slot) must match once only: the first slot wins.
        var unique = stackalloc bool[15];
        for (var k = 0; k < 15; k++)
        {
            unique[k] = table[..k].IndexOf(table[k]) < 0;
        }

        var fifteen = Vector256.Create(Escape);
        var lowNibble = Vector256.Create((ushort)0x000F);
        var highNibble = Vector256.Create((ushort)0x00F0);
        var groups = n / 64;
        for (var g = 0; g < groups; g++)
        {
            var x0 = Vector256.Load(src);
            var x1 = Vector256.Load(src + 32);
            var a0 = Vector256<byte>.Zero;
            var a1 = Vector256<byte>.Zero;
            for (var k = 0; k < 15; k++)
            {
                if (unique[k])
                {
                    a0 |= Vector256.Equals(x0, t[k]) & r[k];
                    a1 |= Vector256.Equals(x1, t[k]) & r[k];
                }
            }

            a0 ^= fifteen;
            a1 ^= fifteen;
            var m0 = Vector256.Equals(a0, fifteen).ExtractMostSignificantBits();
            var m1 = Vector256.Equals(a1, fifteen).ExtractMostSignificantBits();
            if ((m0 | m1) != 0)
            {
                if (!TakeEscapes(src, m0, esc, capacity, ref count) || !TakeEscapes(src + 32, m1, esc, capacity, ref count))
                {
                    return -1;
                }
            }

            var w0 = a0.AsUInt16();
            var w1 = a1.AsUInt16();
            var p0 = (w0 & lowNibble) | (Vector256.ShiftRightLogical(w0, 4) & highNibble);
            var p1 = (w1 & lowNibble) | (Vector256.ShiftRightLogical(w1, 4) & highNibble);
            Vector256.Narrow(p0, p1).Store(dst);
            src += 64;
            dst += 32;
        }

        return groups * 64;
    }

    /// <summary>As <see cref="PackVector256"/>, 32 bytes at a time.</summary>
    private static unsafe int PackVector128(byte* src, byte* dst, int n, ReadOnlySpan<byte> table, byte* esc, int capacity, ref int count)
    {
        var t = stackalloc Vector128<byte>[15];
        var r = stackalloc Vector128<byte>[15];
        var unique = stackalloc bool[15];
        for (var k = 0; k < 15; k++)
        {
            t[k] = Vector128.Create(table[k]);
            r[k] = Vector128.Create((byte)(k ^ Escape));
            unique[k] = table[..k].IndexOf(table[k]) < 0;
        }

        var fifteen = Vector128.Create(Escape);
        var lowNibble = Vector128.Create((ushort)0x000F);
        var highNibble = Vector128.Create((ushort)0x00F0);
        var groups = n / 32;
        for (var g = 0; g < groups; g++)
        {
            var x0 = Vector128.Load(src);
            var x1 = Vector128.Load(src + 16);
            var a0 = Vector128<byte>.Zero;
            var a1 = Vector128<byte>.Zero;
            for (var k = 0; k < 15; k++)
            {
                if (unique[k])
                {
                    a0 |= Vector128.Equals(x0, t[k]) & r[k];
                    a1 |= Vector128.Equals(x1, t[k]) & r[k];
                }
            }

            a0 ^= fifteen;
            a1 ^= fifteen;
            var m0 = Vector128.Equals(a0, fifteen).ExtractMostSignificantBits();
            var m1 = Vector128.Equals(a1, fifteen).ExtractMostSignificantBits();
            if ((m0 | m1) != 0)
            {
                if (!TakeEscapes(src, m0, esc, capacity, ref count) || !TakeEscapes(src + 16, m1, esc, capacity, ref count))
                {
                    return -1;
                }
            }

            var w0 = a0.AsUInt16();
            var w1 = a1.AsUInt16();
            var p0 = (w0 & lowNibble) | (Vector128.ShiftRightLogical(w0, 4) & highNibble);
            var p1 = (w1 & lowNibble) | (Vector128.ShiftRightLogical(w1, 4) & highNibble);
            Vector128.Narrow(p0, p1).Store(dst);
            src += 32;
            dst += 16;
        }

        return groups * 32;
    }

    private static unsafe bool TakeEscapes(byte* src, uint mask, byte* esc, int capacity, ref int count)
    {
        while (mask != 0)
        {
            if (count == capacity)
            {
                return false;
            }

            esc[count++] = src[BitOperations.TrailingZeroCount(mask)];
            mask &= mask - 1;
        }

        return true;
    }

    /// <summary>
    /// Reverses <see cref="Pack"/>: <paramref name="content"/> (shorter than <paramref name="shuffled"/>) back into
    /// the shuffled bytes. Every length, mode and count is checked before it is used.
    /// </summary>
    /// <exception cref="InvalidDataException">The content is not a well-formed packed chunk of this length.</exception>
    public static void Unpack(ReadOnlySpan<byte> content, Span<byte> shuffled, int elementSize)
    {
        if (!ByteShuffle.Supports(elementSize))
        {
            throw new InvalidDataException($"the {Filter} filter is not defined for elements of {elementSize} bytes");
        }

        if (content.Length >= shuffled.Length)
        {
            throw new InvalidDataException($"packed planes of {content.Length} bytes for a chunk of {shuffled.Length} bytes (they must be shorter)");
        }

        var n = shuffled.Length / elementSize;
        var pos = 0;
        for (var j = 0; j < elementSize; j++)
        {
            var plane = shuffled.Slice(j * n, n);
            if (pos >= content.Length)
            {
                throw new InvalidDataException($"packed planes end before plane {j}");
            }

            var mode = content[pos];
            if (mode == ModeRaw)
            {
                if (content.Length - pos - 1 < n)
                {
                    throw new InvalidDataException($"plane {j} is truncated ({content.Length - pos - 1} of {n} bytes)");
                }

                content.Slice(pos + 1, n).CopyTo(plane);
                pos += 1 + n;
            }
            else if (mode == ModeNibbles)
            {
                var packedLength = (n + 1) / 2;
                if (content.Length - pos < NibbleHeaderLength + packedLength)
                {
                    throw new InvalidDataException($"plane {j} is truncated (its table, escape count or ranks)");
                }

                var table = content.Slice(pos + 1, 15);
                var count = BinaryPrimitives.ReadUInt32LittleEndian(content.Slice(pos + 16, 4));
                var nibbles = content.Slice(pos + NibbleHeaderLength, packedLength);
                pos += NibbleHeaderLength + packedLength;
                if (count > (uint)n || count > (uint)(content.Length - pos))
                {
                    throw new InvalidDataException($"plane {j} declares {count} escaped bytes; {Math.Min(n, content.Length - pos)} can follow");
                }

                var escapes = content.Slice(pos, (int)count);
                pos += (int)count;
                UnpackPlane(nibbles, table, escapes, plane, j);
            }
            else
            {
                throw new InvalidDataException($"plane {j} has unknown mode {mode}");
            }
        }

        var trailing = shuffled.Length - (n * elementSize);
        if (content.Length - pos != trailing)
        {
            throw new InvalidDataException($"packed planes leave {content.Length - pos} bytes where the chunk has {trailing} trailing bytes");
        }

        content[pos..].CopyTo(shuffled[(n * elementSize)..]);
    }

    /// <summary>Ranks back into bytes; the escapes are consumed in order and must be used up exactly.</summary>
    internal static unsafe void UnpackPlane(ReadOnlySpan<byte> nibbles, ReadOnlySpan<byte> table, ReadOnlySpan<byte> escapes, Span<byte> plane, int planeIndex)
    {
        var n = plane.Length;
        Span<byte> lookup = stackalloc byte[16];
        table.CopyTo(lookup);
        lookup[Escape] = 0;
        var used = 0;
        var done = 0;
        fixed (byte* src = nibbles)
        fixed (byte* dst = plane)
        fixed (byte* esc = escapes)
        fixed (byte* map = lookup)
        {
            if (UseVectors && Ssse3.IsSupported)
            {
                done = UnpackSsse3(src, dst, n, map, esc, escapes.Length, ref used);
            }

            for (var i = done; i < n; i++)
            {
                var b = src[i / 2];
                var r = (i & 1) == 0 ? b & 0x0F : b >> 4;
                if (r == Escape)
                {
                    if (used == escapes.Length)
                    {
                        used = -1;
                        break;
                    }

                    dst[i] = esc[used++];
                }
                else
                {
                    dst[i] = map[r];
                }
            }
        }

        if (used != escapes.Length)
        {
            throw new InvalidDataException($"plane {planeIndex}: the ranks call for {(used < 0 ? "more" : used.ToString(System.Globalization.CultureInfo.InvariantCulture))} escaped bytes; {escapes.Length} are stored");
        }

        if ((n & 1) == 1 && (nibbles[^1] >> 4) != 0)
        {
            throw new InvalidDataException($"plane {planeIndex}: the unused last nibble is not 0");
        }
    }

    /// <summary>Unpacks whole groups of 32 elements; escapes overflowing the list stop it (used = -1).</summary>
    private static unsafe int UnpackSsse3(byte* src, byte* dst, int n, byte* map, byte* esc, int capacity, ref int used)
    {
        var lookup = Sse2.LoadVector128(map);
        var low = Vector128.Create((byte)0x0F);
        var fifteen = Vector128.Create(Escape);
        var groups = n / 32;
        for (var g = 0; g < groups; g++)
        {
            var p = Sse2.LoadVector128(src);
            var lo = p & low;
            var hi = Sse2.ShiftRightLogical(p.AsUInt16(), 4).AsByte() & low;
            var r0 = Sse2.UnpackLow(lo, hi);
            var r1 = Sse2.UnpackHigh(lo, hi);
            Sse2.Store(dst, Ssse3.Shuffle(lookup, r0));
            Sse2.Store(dst + 16, Ssse3.Shuffle(lookup, r1));
            var m = (uint)Sse2.MoveMask(Sse2.CompareEqual(r0, fifteen)) | ((uint)Sse2.MoveMask(Sse2.CompareEqual(r1, fifteen)) << 16);
            while (m != 0)
            {
                if (used == capacity)
                {
                    used = -1;
                    return n;
                }

                dst[BitOperations.TrailingZeroCount(m)] = esc[used++];
                m &= m - 1;
            }

            src += 16;
            dst += 32;
        }

        return groups * 32;
    }
}
