using System.Globalization;
using System.Text;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The block parse a save's manifest goes through (<see cref="Lz4BlockEncoder.Continue"/>). Given a whole block in one
/// final call it is the reference's parse on its large-input table, byte for byte (which holds its hash, match
/// counting and sequence writing to the reference's); given the block in parts over a window that holds only what
/// <see cref="Lz4StreamedFrame.FirstNeeded"/> keeps, it reads nothing below the window.
/// </summary>
public sealed unsafe class StreamedBlockParseTests
{
    /// <summary>
    /// Random bytes, byte runs and copies of earlier bytes at distances up to 80,000 (past LZ4's 65,535 reach), in
    /// random order: the skip steps, catch-up, match-at-next-position and end rules all run.
    /// </summary>
    private static byte[] Shaped(Random rng, int length, int longestPiece = 5_000)
    {
        var raw = new byte[length];
        var at = 0;
        while (at < raw.Length)
        {
            var take = Math.Min(raw.Length - at, rng.Next(1, longestPiece));
            switch (rng.Next(3))
            {
                case 0:
                    rng.NextBytes(raw.AsSpan(at, take));
                    break;
                case 1:
                    raw.AsSpan(at, take).Fill((byte)rng.Next(4));
                    break;
                default:
                    var from = at - rng.Next(1, 80_000);
                    for (var i = 0; i < take; i++)
                    {
                        raw[at + i] = from + i >= 0 ? raw[from + i] : (byte)i;
                    }

                    break;
            }

            at += take;
        }

        return raw;
    }

    private static byte[] ManifestText(int length)
    {
        var text = new StringBuilder(length + 32).Append('{');
        for (var i = 0; text.Length < length; i++)
        {
            text.Append("\"k").Append(i.ToString(CultureInfo.InvariantCulture)).Append("\":")
                .Append(((i * 7919) % 100_003).ToString(CultureInfo.InvariantCulture)).Append(',');
        }

        return Encoding.ASCII.GetBytes(text.ToString(0, length));
    }

    private static byte[] Drain(Lz4Pieces pieces)
    {
        using var stream = new MemoryStream();
        pieces.CopyTo(stream);
        return stream.ToArray();
    }

    /// <summary>The block <see cref="Lz4BlockEncoder.Continue"/> makes of <paramref name="input"/> given whole, in one final call.</summary>
    private static byte[] WholeBlock(byte[] input)
    {
        using var pieces = new Lz4Pieces();
        var table = new uint[Lz4BlockEncoder.StreamedTableEntries];
        var next = 0;
        var anchor = 0;
        fixed (byte* block = input)
        fixed (uint* t = table)
        {
            Lz4BlockEncoder.Continue(block, block, input.Length, final: true, t, ref next, ref anchor, pieces);
        }

        return Drain(pieces);
    }

    public static TheoryData<string, int> WholeInputs()
    {
        var data = new TheoryData<string, int>();
        foreach (var kind in new[] { "manifest", "zeros", "shaped", "long-literals" })
        {
            foreach (var length in new[] { K4osReference.LargeInputMinimum, K4osReference.LargeInputMinimum + 1, 200_000, 1_900_000, Lz4Frame.BlockSize - 1, Lz4Frame.BlockSize })
            {
                data.Add(kind, length);
            }
        }

        return data;
    }

    private static byte[] Input(string kind, int length)
    {
        var rng = new Random(length ^ kind.Length);
        switch (kind)
        {
            case "manifest":
                return ManifestText(length);
            case "zeros":
                return new byte[length];
            case "shaped":
                return Shaped(rng, length);
            default:
                // Literal runs longer than a 64 KiB piece (the sequence written through the buffer in parts), each
                // followed by a copy of its start.
                var bytes = new byte[length];
                rng.NextBytes(bytes);
                for (var unit = 0; unit + 110_000 <= length; unit += 110_000)
                {
                    bytes.AsSpan(unit, 10_000).CopyTo(bytes.AsSpan(unit + 100_000));
                }

                return bytes;
        }
    }

    [Theory]
    [MemberData(nameof(WholeInputs))]
    public void A_whole_block_in_one_final_call_is_the_reference_encoders_block(string kind, int length)
    {
        var input = Input(kind, length);

        var block = WholeBlock(input);

        Assert.True(K4osReference.Block(input).AsSpan().SequenceEqual(block), $"{kind} of {length} bytes: the block differs from K4os's");
        Assert.True(input.AsSpan().SequenceEqual(K4osReference.Decode(block, length)));
    }

    [Fact]
    public void Random_mixes_of_literals_runs_and_copies_give_the_reference_encoders_block_or_below_its_table_switch_a_block_it_decodes()
    {
        var rng = new Random(48);
        for (var round = 0; round < 300; round++)
        {
            var input = Shaped(rng, rng.Next(1, 300_001));

            var block = WholeBlock(input);

            Assert.True(input.AsSpan().SequenceEqual(K4osReference.Decode(block, input.Length)), $"round {round}, {input.Length} bytes");
            if (input.Length >= K4osReference.LargeInputMinimum)
            {
                Assert.True(K4osReference.Block(input).AsSpan().SequenceEqual(block), $"round {round}, {input.Length} bytes: the block differs from K4os's");
            }
        }
    }

    /// <summary>
    /// The block fed in parts, each call given a window that starts where <see cref="Lz4StreamedFrame.FirstNeeded"/>
    /// says (the most a frame ever drops), with the bytes just below the window planted: a copy of the input where the
    /// search goes on (so they match it for 4 bytes and more) that the content there does not hold. A parse that read
    /// below the window (a literal from before it, a match reaching past it) would write a block that decodes to
    /// something else.
    /// </summary>
    [Theory]
    [InlineData(1_000)]
    [InlineData(7_919)]
    [InlineData(65_536)]
    public void A_parse_in_parts_reads_nothing_below_its_window(int part)
    {
        const int planted = 64;
        var rng = new Random(part);
        for (var round = 0; round < 4; round++)
        {
            // Stretches of random bytes up to 150,000 long keep literals pending past 64 KiB, copies at distances up to
            // 80,000 put matches at the window's far end.
            var content = Shaped(rng, rng.Next(300_000, 900_000), longestPiece: 150_000);
            using var pieces = new Lz4Pieces();
            var table = new uint[Lz4BlockEncoder.StreamedTableEntries];
            var next = 0;
            var anchor = 0;
            var plantedDiffers = 0;
            for (var filled = 0; filled < content.Length;)
            {
                filled = Math.Min(content.Length, filled + part);
                var low = Lz4StreamedFrame.FirstNeeded(anchor, next);
                var window = new byte[planted + filled - low];
                content.AsSpan(low, filled - low).CopyTo(window.AsSpan(planted));
                var source = Math.Min(next, content.Length - planted);
                content.AsSpan(source, planted).CopyTo(window);
                if (low >= planted && !window.AsSpan(0, planted).SequenceEqual(content.AsSpan(low - planted, planted)))
                {
                    plantedDiffers++;
                }

                fixed (byte* held = window)
                fixed (uint* t = table)
                {
                    Lz4BlockEncoder.Continue(held + planted - low, held + planted, filled, filled == content.Length, t, ref next, ref anchor, pieces);
                }
            }

            Assert.True(plantedDiffers > 0, "no window had planted bytes that differ from the content below it");
            var block = Drain(pieces);
            Assert.True(content.AsSpan().SequenceEqual(K4osReference.Decode(block, content.Length)), $"round {round}: {content.Length} bytes in parts of {part}");
        }
    }
}
