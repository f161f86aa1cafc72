using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace DataraxCkpt.Format;

/// <summary>
/// Compresses an LZ4 block into <see cref="Lz4Pieces"/> a sequence at a time as its bytes arrive
/// (<see cref="Continue"/>), so neither the block's input nor its output is ever held whole (a 100,000-leaf manifest's
/// state node is 3.3 MB that compress to about a megabyte). The parse is the reference encoder's fast one at
/// acceleration 1 without a dictionary (lz4's <c>LZ4_compress_generic</c>, which K4os's <c>LZ4Codec.Encode</c> at
/// <c>L00_FAST</c> runs on a 64-bit little-endian host) on its large-input table: the same hash, skip steps and match
/// rules, so a block whose bytes all arrive in one call is the block K4os makes of an input of 64 KiB + 11 bytes or
/// more (the tests hold the two equal); over parts it is a different but valid block, which the format's readers,
/// taking any valid block, read the same.
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

    /// <summary>Whether this host runs the same parse as K4os (its hashes read words in host order).</summary>
    public static bool Supported => BitConverter.IsLittleEndian;

    /// <summary>
    /// Appends one sequence (the <paramref name="literalLength"/> literals at <paramref name="literalStart"/>, then a
    /// match at <paramref name="offset"/> of <paramref name="matchCode"/> + 4 bytes). <paramref name="piece"/> is the
    /// pinned buffer of <paramref name="output"/>: a sequence that fits it is written there through a pointer, as the
    /// reference encoder writes its output (a span and a call per field made the block about twice K4os's time,
    /// round 50 of docs/performance-notes.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sequence(Lz4Pieces output, byte* piece, byte* literalStart, int literalLength, byte* inputEnd, int offset, int matchCode)
    {
        var length = 1 + LengthBytes(literalLength) + literalLength + 2 + LengthBytes(matchCode);
        if (length > Lz4Pieces.PieceSize - Lz4Pieces.Slack)
        {
            LongSequence(output, new ReadOnlySpan<byte>(literalStart, literalLength), offset, matchCode);
            return;
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
    private static void LongSequence(Lz4Pieces output, ReadOnlySpan<byte> literals, int offset, int matchCode)
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

    /// <summary>The reference encoder's hash of the 5 bytes at <paramref name="p"/> for its large-input (32-bit position) table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(byte* p) => (uint)(((Unsafe.ReadUnaligned<ulong>(p) << 24) * 889523592379UL) >> (64 - HashLog));

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
