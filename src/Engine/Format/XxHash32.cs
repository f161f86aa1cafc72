using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DataraxCkpt.Format;

/// <summary>
/// xxHash32 (seed 0 unless given), the content and header checksum of an LZ4 frame, as the xxHash
/// specification defines it. Its own implementation because restore verifies every byte it returns, so
/// this hash sits on the hot path: four independent accumulators over 16-byte stripes, unrolled to 64
/// bytes a step, read unaligned straight from the span (no bounds checks, no per-lane calls).
/// <see cref="Append"/> continues a hash over pieces, so a chunk can be hashed piece by piece while
/// each piece is still in cache right after it was read. A default value is not a started hash: start
/// one with the constructor.
/// </summary>
internal struct XxHash32
{
    private const uint Prime1 = 2654435761U;
    private const uint Prime2 = 2246822519U;
    private const uint Prime3 = 3266489917U;
    private const uint Prime4 = 668265263U;
    private const uint Prime5 = 374761393U;

    private uint _v1, _v2, _v3, _v4;
    private long _total;

    // Bytes of a stripe not yet consumed (fewer than 16), kept until the next append or the digest.
    private Stripe _pending;
    private int _pendingLength;
    private readonly uint _seed;

    [InlineArray(16)]
    private struct Stripe
    {
        private byte _element;
    }

    /// <summary>Starts a hash with <paramref name="seed"/>.</summary>
    public XxHash32(uint seed)
    {
        _seed = seed;
        _v1 = unchecked(seed + Prime1 + Prime2);
        _v2 = unchecked(seed + Prime2);
        _v3 = seed;
        _v4 = unchecked(seed - Prime1);
        _total = 0;
        _pendingLength = 0;
    }

    /// <summary>The xxHash32 (seed 0) of <paramref name="data"/>.</summary>
    public static uint DigestOf(ReadOnlySpan<byte> data)
    {
        var hash = new XxHash32(0);
        hash.Append(data);
        return hash.Digest();
    }

    /// <summary>Adds <paramref name="data"/> to the bytes hashed so far.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        _total += data.Length;
        if (_pendingLength > 0)
        {
            var take = Math.Min(16 - _pendingLength, data.Length);
            data[..take].CopyTo(((Span<byte>)_pending)[_pendingLength..]);
            _pendingLength += take;
            data = data[take..];
            if (_pendingLength < 16)
            {
                return;
            }

            Stripes((ReadOnlySpan<byte>)_pending);
            _pendingLength = 0;
        }

        var whole = data.Length & ~15;
        if (whole > 0)
        {
            Stripes(data[..whole]);
        }

        data[whole..].CopyTo(_pending);
        _pendingLength = data.Length - whole;
    }

    /// <summary>The hash of every byte appended so far (the state is left as it was).</summary>
    public readonly uint Digest()
    {
        uint h = _total >= 16
            ? BitOperations.RotateLeft(_v1, 1) + BitOperations.RotateLeft(_v2, 7) + BitOperations.RotateLeft(_v3, 12) + BitOperations.RotateLeft(_v4, 18)
            : unchecked(_seed + Prime5);
        h = unchecked(h + (uint)_total);
        ReadOnlySpan<byte> tail = _pending;
        tail = tail[.._pendingLength];
        while (tail.Length >= 4)
        {
            h = unchecked(BitOperations.RotateLeft(h + BinaryPrimitives.ReadUInt32LittleEndian(tail) * Prime3, 17) * Prime4);
            tail = tail[4..];
        }

        foreach (var b in tail)
        {
            h = unchecked(BitOperations.RotateLeft(h + b * Prime5, 11) * Prime1);
        }

        h ^= h >> 15;
        h = unchecked(h * Prime2);
        h ^= h >> 13;
        h = unchecked(h * Prime3);
        h ^= h >> 16;
        return h;
    }

    // Consumes data.Length (a multiple of 16) bytes. The four lanes are independent dependency chains,
    // so the core runs their multiplies side by side; the 64-byte step lets it schedule across stripes.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Stripes(ReadOnlySpan<byte> data)
    {
        uint v1 = _v1, v2 = _v2, v3 = _v3, v4 = _v4;
        ref var p = ref MemoryMarshal.GetReference(data);
        nint length = data.Length;
        nint i = 0;
        for (; i + 64 <= length; i += 64)
        {
            v1 = Round(v1, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i)));
            v2 = Round(v2, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 4)));
            v3 = Round(v3, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 8)));
            v4 = Round(v4, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 12)));
            v1 = Round(v1, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 16)));
            v2 = Round(v2, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 20)));
            v3 = Round(v3, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 24)));
            v4 = Round(v4, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 28)));
            v1 = Round(v1, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 32)));
            v2 = Round(v2, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 36)));
            v3 = Round(v3, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 40)));
            v4 = Round(v4, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 44)));
            v1 = Round(v1, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 48)));
            v2 = Round(v2, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 52)));
            v3 = Round(v3, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 56)));
            v4 = Round(v4, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 60)));
        }

        for (; i < length; i += 16)
        {
            v1 = Round(v1, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i)));
            v2 = Round(v2, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 4)));
            v3 = Round(v3, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 8)));
            v4 = Round(v4, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i + 12)));
        }

        _v1 = v1;
        _v2 = v2;
        _v3 = v3;
        _v4 = v4;
    }

    /// <summary>
    /// Adds one span to each of four hashes at once. One xxHash32 is a chain of dependent multiplies
    /// (about 2 bytes a cycle however it is written); four hashes of different data are independent, so
    /// their stripes go through the vector unit side by side, each hash's four lanes in one Vector128,
    /// and the core overlaps the four chains. Each span may have its own length: the stripes the non-empty
    /// spans share are hashed together, then those the longer ones still share, as long as two or more
    /// have stripes left; a hash whose span is used up (less than a stripe left) sits out, and a single span left is
    /// finished on its own (the scalar loop is faster for one hash: about 12 ms against 18 ms per 64 MiB
    /// here, while the vector step costs the same for two, three or four). The results equal four
    /// <see cref="Append"/> calls.
    /// </summary>
    public static void AppendFour(ref XxHash32 a, ref XxHash32 b, ref XxHash32 c, ref XxHash32 d,
        ReadOnlySpan<byte> da, ReadOnlySpan<byte> db, ReadOnlySpan<byte> dc, ReadOnlySpan<byte> dd)
    {
        while (Vector128.IsHardwareAccelerated)
        {
            var common = int.MaxValue;
            var aligned = true;
            var live = 0;
            ReadOnlySpan<byte> some = default;
            Consider(ref common, ref aligned, ref live, ref some, in a, da);
            Consider(ref common, ref aligned, ref live, ref some, in b, db);
            Consider(ref common, ref aligned, ref live, ref some, in c, dc);
            Consider(ref common, ref aligned, ref live, ref some, in d, dd);
            common &= ~15;
            if (!aligned || live < 2)
            {
                break;
            }

            // A hash that sits out takes another's bytes into a state that is then dropped: the vector
            // step costs the same with two live hashes as with four.
            var idle = new XxHash32(0);
            ref var ra = ref SitsOut(da) ? ref idle : ref a;
            ref var rb = ref SitsOut(db) ? ref idle : ref b;
            ref var rc = ref SitsOut(dc) ? ref idle : ref c;
            ref var rd = ref SitsOut(dd) ? ref idle : ref d;
            StripesFour(ref ra, ref rb, ref rc, ref rd,
                SitsOut(da) ? some : da, SitsOut(db) ? some : db, SitsOut(dc) ? some : dc, SitsOut(dd) ? some : dd, common);
            Consumed(ref a, ref da, common);
            Consumed(ref b, ref db, common);
            Consumed(ref c, ref dc, common);
            Consumed(ref d, ref dd, common);
        }

        a.Append(da);
        b.Append(db);
        c.Append(dc);
        d.Append(dd);
    }

    // A span shorter than a stripe sits out of the side-by-side steps; Append takes its bytes at the end.
    private static bool SitsOut(ReadOnlySpan<byte> data) => data.Length < 16;

    // A span with a stripe or more bounds the stripes hashed side by side, and its hash must have no
    // partial stripe pending.
    private static void Consider(ref int common, ref bool aligned, ref int live, ref ReadOnlySpan<byte> some, in XxHash32 hash, ReadOnlySpan<byte> data)
    {
        if (SitsOut(data))
        {
            return;
        }

        common = Math.Min(common, data.Length);
        aligned &= hash._pendingLength == 0;
        live++;
        some = data;
    }

    private static void Consumed(ref XxHash32 hash, ref ReadOnlySpan<byte> data, int common)
    {
        if (!SitsOut(data))
        {
            hash._total += common;
            data = data[common..];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StripesFour(ref XxHash32 a, ref XxHash32 b, ref XxHash32 c, ref XxHash32 d,
        ReadOnlySpan<byte> da, ReadOnlySpan<byte> db, ReadOnlySpan<byte> dc, ReadOnlySpan<byte> dd, int length)
    {
        var sa = Vector128.Create(a._v1, a._v2, a._v3, a._v4);
        var sb = Vector128.Create(b._v1, b._v2, b._v3, b._v4);
        var sc = Vector128.Create(c._v1, c._v2, c._v3, c._v4);
        var sd = Vector128.Create(d._v1, d._v2, d._v3, d._v4);
        ref var pa = ref MemoryMarshal.GetReference(da);
        ref var pb = ref MemoryMarshal.GetReference(db);
        ref var pc = ref MemoryMarshal.GetReference(dc);
        ref var pd = ref MemoryMarshal.GetReference(dd);
        for (nuint i = 0; i < (nuint)length; i += 16)
        {
            sa = VectorRound(sa, Vector128.LoadUnsafe(ref pa, i).AsUInt32());
            sb = VectorRound(sb, Vector128.LoadUnsafe(ref pb, i).AsUInt32());
            sc = VectorRound(sc, Vector128.LoadUnsafe(ref pc, i).AsUInt32());
            sd = VectorRound(sd, Vector128.LoadUnsafe(ref pd, i).AsUInt32());
        }

        (a._v1, a._v2, a._v3, a._v4) = (sa.GetElement(0), sa.GetElement(1), sa.GetElement(2), sa.GetElement(3));
        (b._v1, b._v2, b._v3, b._v4) = (sb.GetElement(0), sb.GetElement(1), sb.GetElement(2), sb.GetElement(3));
        (c._v1, c._v2, c._v3, c._v4) = (sc.GetElement(0), sc.GetElement(1), sc.GetElement(2), sc.GetElement(3));
        (d._v1, d._v2, d._v3, d._v4) = (sd.GetElement(0), sd.GetElement(1), sd.GetElement(2), sd.GetElement(3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> VectorRound(Vector128<uint> acc, Vector128<uint> input)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("xxHash32 lanes are read little-endian");
        }

        var x = acc + input * Vector128.Create(Prime2);
        x = Avx512F.VL.IsSupported ? Avx512F.VL.RotateLeft(x, 13) : (x << 13) | (x >> 19);
        return x * Vector128.Create(Prime1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Round(uint acc, uint input) =>
        unchecked(BitOperations.RotateLeft(acc + (BitConverter.IsLittleEndian ? input : BinaryPrimitives.ReverseEndianness(input)) * Prime2, 13) * Prime1);
}
