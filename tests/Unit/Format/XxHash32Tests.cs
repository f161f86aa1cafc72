using System.Text;
using DataraxCkpt.Format;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The engine's own xxHash32 (the LZ4 frame checksum) must be bit-exact with the specification: it decides
/// whether every stored chunk is accepted, and the frames it writes are read by the lz4 tool.
/// </summary>
public sealed class XxHash32Tests
{
    private static readonly byte[] Data = MakeData(70_000);

    [Theory]
    [InlineData("", 0u, 0x02CC5D05u)]
    [InlineData("abc", 0u, 0x32D153FFu)]
    [InlineData("Nobody inspects the spammish repetition", 0u, 0xE2293B2Fu)]
    public void Known_vectors_of_the_specification_hash_to_their_published_values(string text, uint seed, uint expected)
    {
        var hash = new XxHash32(seed);
        hash.Append(Encoding.ASCII.GetBytes(text));

        Assert.Equal(expected, hash.Digest());
        Assert.Equal(expected, XxHash32.DigestOf(Encoding.ASCII.GetBytes(text)));
    }

    [Fact]
    public void Every_length_to_1100_at_every_alignment_matches_the_reference_implementation()
    {
        for (var offset = 0; offset < 8; offset++)
        {
            for (var length = 0; length <= 1100; length++)
            {
                var span = Data.AsSpan(offset, length);
                Assert.True(XXH32.DigestOf(span) == XxHash32.DigestOf(span), $"length {length} at offset {offset}");
            }
        }
    }

    [Theory]
    [InlineData(65_536)]
    [InlineData(65_535)]
    [InlineData(69_993)]
    public void Long_inputs_match_the_reference_implementation(int length) =>
        Assert.Equal(XXH32.DigestOf(Data.AsSpan(3, length)), XxHash32.DigestOf(Data.AsSpan(3, length)));

    [Fact]
    public void A_seed_changes_the_hash_as_the_reference_does()
    {
        foreach (var length in new[] { 0, 5, 16, 17, 100 })
        {
            var hash = new XxHash32(0x9E3779B1);
            hash.Append(Data.AsSpan(0, length));
            var reference = new XXH32(0x9E3779B1);
            reference.Update(Data.AsSpan(0, length));
            Assert.Equal(reference.Digest(), hash.Digest());
        }
    }

    [Fact]
    public void Appending_in_pieces_of_any_size_gives_the_hash_of_the_whole()
    {
        var rng = new Random(5);
        foreach (var total in new[] { 0, 1, 15, 16, 33, 1000, 65_000 })
        {
            var hash = new XxHash32(0);
            var at = 0;
            while (at < total)
            {
                var piece = Math.Min(total - at, rng.Next(0, 40));
                hash.Append(Data.AsSpan(at, piece));
                at += piece;
            }

            Assert.Equal(XXH32.DigestOf(Data.AsSpan(0, total)), hash.Digest());
        }
    }

    [Fact]
    public void Four_hashes_side_by_side_equal_four_separate_hashes_whatever_their_lengths_and_alignments()
    {
        var rng = new Random(9);
        for (var round = 0; round < 400; round++)
        {
            var starts = new int[4];
            var lengths = new int[4];
            for (var k = 0; k < 4; k++)
            {
                lengths[k] = rng.Next(0, 4) == 0 ? rng.Next(0, 40) : rng.Next(0, 3000);
                starts[k] = rng.Next(0, Data.Length - lengths[k]);
            }

            var h = new XxHash32[4];
            // Some rounds start from a hash that already holds a few bytes (a stripe not yet complete).
            var lead = round % 3 == 0 ? rng.Next(1, 16) : 0;
            for (var k = 0; k < 4; k++)
            {
                h[k] = new XxHash32(0);
                h[k].Append(Data.AsSpan(0, lead));
            }

            XxHash32.AppendFour(ref h[0], ref h[1], ref h[2], ref h[3],
                Data.AsSpan(starts[0], lengths[0]), Data.AsSpan(starts[1], lengths[1]), Data.AsSpan(starts[2], lengths[2]), Data.AsSpan(starts[3], lengths[3]));

            for (var k = 0; k < 4; k++)
            {
                var whole = new byte[lead + lengths[k]];
                Data.AsSpan(0, lead).CopyTo(whole);
                Data.AsSpan(starts[k], lengths[k]).CopyTo(whole.AsSpan(lead));
                Assert.True(XXH32.DigestOf(whole) == h[k].Digest(), $"round {round}, hash {k}: {lengths[k]} bytes after {lead}");
            }
        }
    }

    [Fact]
    public void Four_whole_chunks_side_by_side_match_the_reference()
    {
        var chunk = MakeData(4 << 20);
        var other = MakeData((4 << 20) - 7);
        var h = new[] { new XxHash32(0), new XxHash32(0), new XxHash32(0), new XxHash32(0) };
        XxHash32.AppendFour(ref h[0], ref h[1], ref h[2], ref h[3], chunk, other, chunk.AsSpan(1), other.AsSpan(0, 1 << 20));

        Assert.Equal(XXH32.DigestOf(chunk), h[0].Digest());
        Assert.Equal(XXH32.DigestOf(other), h[1].Digest());
        Assert.Equal(XXH32.DigestOf(chunk.AsSpan(1)), h[2].Digest());
        Assert.Equal(XXH32.DigestOf(other.AsSpan(0, 1 << 20)), h[3].Digest());
    }

    [Fact]
    public void Four_hashes_fed_in_rounds_of_pieces_where_some_run_out_early_equal_the_reference()
    {
        // Chunks of a group read piece by piece: a shorter chunk's lane gets no data in the later rounds,
        // and must neither change nor stop the others from being hashed side by side.
        var lengths = new[] { 10_000, 4_096, 0, 9_999 };
        var h = new[] { new XxHash32(0), new XxHash32(0), new XxHash32(0), new XxHash32(0) };
        const int piece = 1_024;
        for (var at = 0; at < lengths.Max(); at += piece)
        {
            var parts = Enumerable.Range(0, 4).Select(k => at < lengths[k] ? (Start: k * 11 + at, Length: Math.Min(piece, lengths[k] - at)) : (Start: 0, Length: 0)).ToArray();
            XxHash32.AppendFour(ref h[0], ref h[1], ref h[2], ref h[3],
                Data.AsSpan(parts[0].Start, parts[0].Length), Data.AsSpan(parts[1].Start, parts[1].Length),
                Data.AsSpan(parts[2].Start, parts[2].Length), Data.AsSpan(parts[3].Start, parts[3].Length));
        }

        for (var k = 0; k < 4; k++)
        {
            Assert.Equal(XXH32.DigestOf(Data.AsSpan(k * 11, lengths[k])), h[k].Digest());
        }
    }

    [Fact]
    public void Four_spans_of_uneven_lengths_in_one_call_equal_the_reference_whichever_runs_out_first()
    {
        // The side-by-side part continues with the spans that have stripes left: a 1 MiB + 13 tail chunk,
        // a 3 MiB one and a few bytes (less than a stripe) beside a 4 MiB one.
        var chunk = MakeData(4 << 20);
        var spans = new[] { (Start: 0, Length: (1 << 20) + 13), (Start: 5, Length: (4 << 20) - 5), (Start: 3, Length: 3 << 20), (Start: 100, Length: 5) };
        var h = new[] { new XxHash32(0), new XxHash32(0), new XxHash32(0), new XxHash32(0) };

        XxHash32.AppendFour(ref h[0], ref h[1], ref h[2], ref h[3],
            chunk.AsSpan(spans[0].Start, spans[0].Length), chunk.AsSpan(spans[1].Start, spans[1].Length),
            chunk.AsSpan(spans[2].Start, spans[2].Length), chunk.AsSpan(spans[3].Start, spans[3].Length));

        Assert.Equal(XXH32.DigestOf(chunk.AsSpan(0, (1 << 20) + 13)), h[0].Digest());
        Assert.Equal(XXH32.DigestOf(chunk.AsSpan(5, (4 << 20) - 5)), h[1].Digest());
        Assert.Equal(XXH32.DigestOf(chunk.AsSpan(3, 3 << 20)), h[2].Digest());
        Assert.Equal(XXH32.DigestOf(chunk.AsSpan(100, 5)), h[3].Digest());
    }

    [Fact]
    public void Two_and_three_spans_beside_empty_ones_equal_the_reference_and_leave_the_empty_hashes_unchanged()
    {
        var chunk = MakeData((2 << 20) + 7);
        var empty = new XxHash32(0);
        var h = new[] { new XxHash32(0), new XxHash32(0), new XxHash32(0), new XxHash32(0) };

        XxHash32.AppendFour(ref h[0], ref h[1], ref h[2], ref h[3], chunk, default, chunk.AsSpan(1), default);
        Assert.Equal(XXH32.DigestOf(chunk), h[0].Digest());
        Assert.Equal(empty.Digest(), h[1].Digest());
        Assert.Equal(XXH32.DigestOf(chunk.AsSpan(1)), h[2].Digest());
        Assert.Equal(empty.Digest(), h[3].Digest());

        var g = new[] { new XxHash32(0), new XxHash32(0), new XxHash32(0), new XxHash32(0) };
        XxHash32.AppendFour(ref g[0], ref g[1], ref g[2], ref g[3], default, chunk.AsSpan(0, 1 << 20), chunk.AsSpan(7), chunk.AsSpan(2));
        Assert.Equal(empty.Digest(), g[0].Digest());
        Assert.Equal(XXH32.DigestOf(chunk.AsSpan(0, 1 << 20)), g[1].Digest());
        Assert.Equal(XXH32.DigestOf(chunk.AsSpan(7)), g[2].Digest());
        Assert.Equal(XXH32.DigestOf(chunk.AsSpan(2)), g[3].Digest());
    }

    private static byte[] MakeData(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }
}
