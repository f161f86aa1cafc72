namespace DataraxCkpt.Format;

internal static unsafe partial class Lz4BlockEncoder
{
    /// <summary>Entries of a streamed block's hash table (32-bit positions: the reference encoder's large-input table).</summary>
    public const int StreamedTableEntries = 1 << HashLog;

    /// <summary>
    /// Continues the LZ4 encoding of a block whose bytes arrive in parts (<see cref="Lz4StreamedFrame"/>): parses from
    /// <paramref name="next"/> as far as the <paramref name="available"/> bytes allow and appends the sequences found
    /// to <paramref name="output"/>. The parse is the reference encoder's (same hash, skip steps, match rules, 64 KiB
    /// window) on its large-input table whatever the block's size; where it stops for want of bytes, the literals
    /// from <paramref name="anchor"/> stay pending and a match is cut where the bytes end (it goes on as the next
    /// sequence), so the block is valid though not the bytes the reference makes of the whole block in one call. With
    /// <paramref name="final"/> the block ends at <paramref name="available"/> and its end rules apply (the last
    /// match 12 bytes before the end, the last 5 bytes literals).
    /// </summary>
    /// <param name="block">Where byte 0 of the block would be (the window need not hold it: only <paramref name="low"/> on is read).</param>
    /// <param name="low">The first byte held; it is at most the anchor and at most 64 KiB before <paramref name="next"/>.</param>
    /// <param name="available">Bytes of the block held, from <paramref name="block"/>.</param>
    /// <param name="final">The block ends with these bytes.</param>
    /// <param name="table">The block's hash table (zeroed at its start), <see cref="StreamedTableEntries"/> positions.</param>
    /// <param name="next">Where the search goes on (0 at the block's start); updated.</param>
    /// <param name="anchor">The first byte not yet in a sequence; updated.</param>
    /// <param name="output">The frame's pieces, which the sequences are appended to.</param>
    public static void Continue(byte* block, byte* low, int available, bool final, uint* table, ref int next, ref int anchor, Lz4Pieces output)
    {
        // A part that leaves too little to look ahead in waits for the next one.
        if (!final && available - next < 2 * MatchFindLimit)
        {
            return;
        }

        fixed (byte* piece = output.Pinnable)
        {
            var end = block + available;
            var matchFindEnd = end - MatchFindLimit + 1;
            var matchEnd = end - LastLiterals;
            var anchorAt = block + anchor;
            var ip = block + next;
            if (available >= MatchFindLimit + 1)
            {
                if (next == 0)
                {
                    table[Hash(ip)] = 0;
                    ip++;
                }

                if (ip >= matchFindEnd)
                {
                    goto Stop;
                }

                var forwardHash = Hash(ip);
                while (true)
                {
                    byte* match;
                    var forward = ip;
                    var step = 1;
                    var searches = 1 << SkipTrigger;
                    while (true)
                    {
                        var h = forwardHash;
                        var current = (uint)(forward - block);
                        var matchIndex = table[h];
                        ip = forward;
                        forward += step;
                        step = searches++ >> SkipTrigger;
                        if (forward > matchFindEnd)
                        {
                            goto Stop;
                        }

                        match = block + matchIndex;
                        forwardHash = Hash(forward);
                        table[h] = current;
                        if (matchIndex + MaxDistance < current)
                        {
                            continue;
                        }

                        if (System.Runtime.CompilerServices.Unsafe.ReadUnaligned<uint>(match) == System.Runtime.CompilerServices.Unsafe.ReadUnaligned<uint>(ip))
                        {
                            break;
                        }
                    }

                    while (ip > anchorAt && match > low && ip[-1] == match[-1])
                    {
                        ip--;
                        match--;
                    }

                    var literals = (int)(ip - anchorAt);
                    while (true)
                    {
                        var matchCode = Count(ip + MinMatch, match + MinMatch, matchEnd);
                        Sequence(output, piece, anchorAt, literals, end, (int)(ip - match), matchCode);
                        ip += matchCode + MinMatch;
                        anchorAt = ip;
                        if (ip >= matchFindEnd)
                        {
                            goto Stop;
                        }

                        table[Hash(ip - 2)] = (uint)(ip - 2 - block);
                        var nextHash = Hash(ip);
                        var at = (uint)(ip - block);
                        var index = table[nextHash];
                        match = block + index;
                        table[nextHash] = at;
                        if (index + MaxDistance >= at && System.Runtime.CompilerServices.Unsafe.ReadUnaligned<uint>(match) == System.Runtime.CompilerServices.Unsafe.ReadUnaligned<uint>(ip))
                        {
                            literals = 0;
                            continue;
                        }

                        break;
                    }

                    forwardHash = Hash(++ip);
                }
            }

        Stop:
            anchor = (int)(anchorAt - block);
            next = Math.Max((int)(ip - block), anchor);
            if (!final)
            {
                return;
            }

            var run = available - anchor;
            var head = output.Take(1 + LengthBytes(run));
            head[0] = (byte)(Math.Min(run, 15) << 4);
            WriteLength(head[1..], run);
            output.Write(new ReadOnlySpan<byte>(anchorAt, run));
        }
    }
}
