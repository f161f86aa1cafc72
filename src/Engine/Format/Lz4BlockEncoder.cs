using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace DataraxCkpt.Format;

/// <summary>
/// Compresses one LZ4 block into <see cref="Lz4Pieces"/> a sequence at a time, so the block's output is never
/// held whole (a 100,000-leaf manifest compresses to a megabyte that used to sit in a 4 MiB pool array next to
/// its input). The parse is the reference encoder's fast one at acceleration 1 without a dictionary (lz4's
/// <c>LZ4_compress_generic</c>, which K4os's <c>LZ4Codec.Encode</c> at <c>L00_FAST</c> runs on a 64-bit
/// little-endian host): the same hash tables, skip steps and match rules, so the block's bytes are the ones
/// <see cref="Lz4Frame.Encode"/> writes for the same input (the tests hold the two equal), and the format's
/// readers, which take any valid block, read them either way.
/// </summary>
internal static unsafe partial class Lz4BlockEncoder
{
    private const int MinMatch = 4;

    // The last match starts at least 12 bytes before the block's end, and the last 5 bytes are literals
    // (the block format's end rules).
    private const int MatchFindLimit = 12;
    private const int LastLiterals = 5;
    private const int SkipTrigger = 6;
    private const int MaxDistance = 65535;
    private const int HashLog = 12;

    // Below this the reference encoder indexes positions as 16-bit values in a table of twice the entries.
    private const int SmallInputLimit = (64 << 10) + MatchFindLimit - 1;
    private const int TableBytes = 4 << HashLog;

    /// <summary>Whether this host runs the same parse as K4os (its hashes read words in host order).</summary>
    public static bool Supported => BitConverter.IsLittleEndian;

    /// <summary>
    /// Appends the LZ4 block encoding of <paramref name="input"/> (at most one 4 MiB block) to <paramref name="output"/>
    /// and returns its length, or returns -1 as soon as the encoding would be no shorter than the input (the frame then
    /// stores the block raw, as <see cref="Lz4Frame.Encode"/> does): the caller rewinds the output to where the block
    /// began. Nothing longer than the input is ever appended, so the raw block written instead covers it.
    /// </summary>
    public static int Encode(ReadOnlySpan<byte> input, Lz4Pieces output)
    {
        if (input.Length > Lz4Frame.BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(input), input.Length, "An LZ4 block of this format holds at most 4 MiB.");
        }

        var start = output.Position;
        var small = input.Length < SmallInputLimit;
        // 16 KiB, zeroed as the reference's fresh state is: 4,096 32-bit positions, or 8,192 16-bit ones.
        // Cleared explicitly: stackalloc zeroes only while no [SkipLocalsInit] reaches this method, and a table
        // of leftover stack bytes would send match offsets outside the input (an attack on session 19 showed
        // an access violation with it).
        var table = stackalloc byte[TableBytes];
        new Span<byte>(table, TableBytes).Clear();
        fixed (byte* source = input)
        fixed (byte* piece = output.Pinnable)
        {
            var n = input.Length;
            var anchor = source;
            var end = source + n;
            var matchFindEnd = end - MatchFindLimit + 1;
            var matchEnd = end - LastLiterals;
            if (n >= MatchFindLimit + 1)
            {
                var ip = source;
                Put(table, Hash(ip, small), 0, small);
                ip++;
                var forwardHash = Hash(ip, small);
                while (true)
                {
                    byte* match;
                    var forward = ip;
                    var step = 1;
                    var searches = 1 << SkipTrigger;
                    while (true)
                    {
                        var h = forwardHash;
                        var current = (uint)(forward - source);
                        var matchIndex = Get(table, h, small);
                        ip = forward;
                        forward += step;
                        // Positions without matches are searched at growing steps: 1 for the first 64 misses, then 2, ...
                        step = searches++ >> SkipTrigger;
                        if (forward > matchFindEnd)
                        {
                            goto LastRun;
                        }

                        match = source + matchIndex;
                        forwardHash = Hash(forward, small);
                        Put(table, h, current, small);
                        if (!small && matchIndex + MaxDistance < current)
                        {
                            continue;
                        }

                        if (Unsafe.ReadUnaligned<uint>(match) == Unsafe.ReadUnaligned<uint>(ip))
                        {
                            break;
                        }
                    }

                    while (ip > anchor && match > source && ip[-1] == match[-1])
                    {
                        ip--;
                        match--;
                    }

                    var literals = (int)(ip - anchor);
                    while (true)
                    {
                        var matchCode = Count(ip + MinMatch, match + MinMatch, matchEnd);
                        if (!Sequence(output, piece, start, n, anchor, literals, end, (int)(ip - match), matchCode))
                        {
                            return -1;
                        }

                        ip += matchCode + MinMatch;
                        anchor = ip;
                        if (ip >= matchFindEnd)
                        {
                            goto LastRun;
                        }

                        Put(table, Hash(ip - 2, small), (uint)(ip - 2 - source), small);

                        // A match right at the next position starts a sequence without literals.
                        var next = Hash(ip, small);
                        var at = (uint)(ip - source);
                        var index = Get(table, next, small);
                        match = source + index;
                        Put(table, next, at, small);
                        if ((small || index + MaxDistance >= at) && Unsafe.ReadUnaligned<uint>(match) == Unsafe.ReadUnaligned<uint>(ip))
                        {
                            literals = 0;
                            continue;
                        }

                        break;
                    }

                    forwardHash = Hash(++ip, small);
                }
            }

        LastRun:
            var run = (int)(end - anchor);
            var runBytes = LengthBytes(run);
            if (output.Position - start + 1 + runBytes + run >= n)
            {
                return -1;
            }

            var head = output.Take(1 + runBytes);
            head[0] = (byte)(Math.Min(run, 15) << 4);
            WriteLength(head[1..], run);
            output.Write(new ReadOnlySpan<byte>(anchor, run));
            return (int)(output.Position - start);
        }
    }

    /// <summary>
    /// Appends one sequence (the <paramref name="literalLength"/> literals at <paramref name="literalStart"/>, then a
    /// match at <paramref name="offset"/> of <paramref name="matchCode"/> + 4 bytes); false, having appended nothing,
    /// when the block's output would then reach <paramref name="limit"/>. <paramref name="piece"/> is the pinned
    /// buffer of <paramref name="output"/>: a sequence that fits it is written there through a pointer, as the
    /// reference encoder writes its output (a span and a call per field made the block about twice K4os's time,
    /// round 50 of docs/performance-notes.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Sequence(Lz4Pieces output, byte* piece, long start, int limit, byte* literalStart, int literalLength, byte* inputEnd, int offset, int matchCode)
    {
        var length = 1 + LengthBytes(literalLength) + literalLength + 2 + LengthBytes(matchCode);
        if (output.Position - start + length >= limit)
        {
            return false;
        }

        if (length > Lz4Pieces.PieceSize - Lz4Pieces.Slack)
        {
            return LongSequence(output, new ReadOnlySpan<byte>(literalStart, literalLength), offset, matchCode);
        }

        var op = piece + output.Reserve(length);
        var token = op++;
        if (literalLength < 15)
        {
            *token = (byte)(literalLength << 4);
        }
        else
        {
            *token = 0xF0;
            op = WriteLength(op, literalLength - 15);
        }

        if (literalLength <= Lz4Pieces.Slack && literalStart + Lz4Pieces.Slack <= inputEnd)
        {
            // Short literals are copied as 16 bytes whatever their length, as the reference's wild copy does: the
            // bytes past them land under the next field, written next, or in the room Reserve keeps for them.
            Unsafe.WriteUnaligned(op, Unsafe.ReadUnaligned<ulong>(literalStart));
            Unsafe.WriteUnaligned(op + 8, Unsafe.ReadUnaligned<ulong>(literalStart + 8));
        }
        else
        {
            Buffer.MemoryCopy(literalStart, op, literalLength, literalLength);
        }

        op += literalLength;
        Unsafe.WriteUnaligned(op, (ushort)offset);
        op += 2;
        if (matchCode < 15)
        {
            *token |= (byte)matchCode;
        }
        else
        {
            *token |= 15;
            WriteLength(op, matchCode - 15);
        }

        return true;
    }

    /// <summary>Bytes past a length's 15 in its token: 255s, then the rest; returns where the next field starts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* WriteLength(byte* op, int rest)
    {
        while (rest >= 255)
        {
            *op++ = 255;
            rest -= 255;
        }

        *op++ = (byte)rest;
        return op;
    }

    /// <summary>A sequence whose literals are longer than a piece: its bytes go out through the buffer in parts.</summary>
    private static bool LongSequence(Lz4Pieces output, ReadOnlySpan<byte> literals, int offset, int matchCode)
    {
        var literalBytes = LengthBytes(literals.Length);
        var matchBytes = LengthBytes(matchCode);
        var token = (byte)((Math.Min(literals.Length, 15) << 4) | Math.Min(matchCode, 15));
        var head = output.Take(1 + literalBytes);
        head[0] = token;
        WriteLength(head[1..], literals.Length);
        output.Write(literals);
        var end = output.Take(2 + matchBytes);
        BinaryPrimitives.WriteUInt16LittleEndian(end, (ushort)offset);
        WriteLength(end[2..], matchCode);
        return true;
    }

    /// <summary>Bytes that follow a token to extend a length of <paramref name="value"/> (its nibble holds up to 14; 15 means more follow).</summary>
    private static int LengthBytes(int value) => value < 15 ? 0 : ((value - 15) / 255) + 1;

    private static void WriteLength(Span<byte> bytes, int value)
    {
        if (value < 15)
        {
            return;
        }

        var rest = value - 15;
        var full = rest / 255;
        bytes[..full].Fill(255);
        bytes[full] = (byte)(rest - (full * 255));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(byte* p, bool small) => small
        ? (Unsafe.ReadUnaligned<uint>(p) * 2654435761U) >> (32 - (HashLog + 1))
        : (uint)(((Unsafe.ReadUnaligned<ulong>(p) << 24) * 889523592379UL) >> (64 - HashLog));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Get(byte* table, uint hash, bool small) => small ? ((ushort*)table)[hash] : ((uint*)table)[hash];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(byte* table, uint hash, uint position, bool small)
    {
        if (small)
        {
            ((ushort*)table)[hash] = (ushort)position;
        }
        else
        {
            ((uint*)table)[hash] = position;
        }
    }

    /// <summary>How many bytes from <paramref name="at"/> equal those from <paramref name="match"/>, stopping at <paramref name="limit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Count(byte* at, byte* match, byte* limit)
    {
        var from = at;
        while (at < limit - 7)
        {
            var diff = Unsafe.ReadUnaligned<ulong>(match) ^ Unsafe.ReadUnaligned<ulong>(at);
            if (diff != 0)
            {
                return (int)(at - from) + (BitOperations.TrailingZeroCount(diff) >> 3);
            }

            at += 8;
            match += 8;
        }

        if (at < limit - 3 && Unsafe.ReadUnaligned<uint>(match) == Unsafe.ReadUnaligned<uint>(at))
        {
            at += 4;
            match += 4;
        }

        if (at < limit - 1 && Unsafe.ReadUnaligned<ushort>(match) == Unsafe.ReadUnaligned<ushort>(at))
        {
            at += 2;
            match += 2;
        }

        if (at < limit && *match == *at)
        {
            at++;
        }

        return (int)(at - from);
    }
}
