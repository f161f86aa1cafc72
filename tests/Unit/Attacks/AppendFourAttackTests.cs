using DataraxCkpt.Format;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// The attack on AppendFour continuing side by side with uneven lanes: every length combination around the
/// stripe (16) and unrolled-step (64) boundaries, lanes running out in every order, partial stripes pending
/// in some lanes but not others, seeds, unaligned and overlapping spans, all against K4os's XXH32.
/// </summary>
public sealed class AppendFourAttackTests
{
    private static readonly byte[] Data = MakeData(4_096);

    private static readonly int[] Edges = [0, 1, 3, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 79, 80];

    private static uint Reference(uint seed, ReadOnlySpan<byte> lead, ReadOnlySpan<byte> data)
    {
        var reference = new XXH32(seed);
        reference.Update(lead);
        reference.Update(data);
        return reference.Digest();
    }

    private static void Check(int[] starts, int[] lengths, int[] leads, uint[] seeds, string what)
    {
        var h = new XxHash32[4];
        for (var k = 0; k < 4; k++)
        {
            h[k] = new XxHash32(seeds[k]);
            h[k].Append(Data.AsSpan(3000 + k, leads[k]));
        }

        XxHash32.AppendFour(ref h[0], ref h[1], ref h[2], ref h[3],
            Data.AsSpan(starts[0], lengths[0]), Data.AsSpan(starts[1], lengths[1]),
            Data.AsSpan(starts[2], lengths[2]), Data.AsSpan(starts[3], lengths[3]));

        for (var k = 0; k < 4; k++)
        {
            var expected = Reference(seeds[k], Data.AsSpan(3000 + k, leads[k]), Data.AsSpan(starts[k], lengths[k]));
            if (expected != h[k].Digest())
            {
                Assert.Fail($"{what}: lane {k} of lengths [{string.Join(',', lengths)}] starts [{string.Join(',', starts)}] leads [{string.Join(',', leads)}] seeds [{string.Join(',', seeds)}]");
            }
        }
    }

    [Fact]
    public void Every_combination_of_edge_lengths_in_four_lanes_equals_the_reference()
    {
        var starts = new[] { 0, 101, 203, 307 }; // unaligned starts, distinct data per lane
        var none = new int[4];
        var zero = new uint[4];
        foreach (var l0 in Edges)
        foreach (var l1 in Edges)
        foreach (var l2 in Edges)
        foreach (var l3 in Edges)
        {
            Check(starts, [l0, l1, l2, l3], none, zero, "edges");
        }
    }

    [Fact]
    public void Random_lengths_0_to_80_with_pending_stripes_seeds_and_overlapping_spans_equal_the_reference()
    {
        var rng = new Random(17);
        for (var round = 0; round < 200_000; round++)
        {
            var lengths = new int[4];
            var starts = new int[4];
            var leads = new int[4];
            var seeds = new uint[4];
            var overlap = round % 5 == 0;
            for (var k = 0; k < 4; k++)
            {
                lengths[k] = round % 7 == 0 ? rng.Next(0, 400) : rng.Next(0, 81);
                starts[k] = overlap ? 13 : rng.Next(0, 2_900 - lengths[k]);
                leads[k] = (round % 3) switch { 0 => 0, 1 => rng.Next(0, 16), _ => rng.Next(0, 2) * rng.Next(0, 40) };
                seeds[k] = round % 4 == 0 ? (uint)rng.Next() : 0;
            }

            Check(starts, lengths, leads, seeds, $"round {round}");
        }
    }

    [Fact]
    public void Repeated_calls_with_uneven_pieces_continue_each_hash_as_append_would()
    {
        var rng = new Random(23);
        for (var round = 0; round < 3_000; round++)
        {
            var h = new XxHash32[4];
            var r = new XXH32[4];
            for (var k = 0; k < 4; k++)
            {
                h[k] = new XxHash32((uint)k * 7);
                r[k] = new XXH32((uint)k * 7);
            }

            for (var call = 0; call < 6; call++)
            {
                var spans = new (int Start, int Length)[4];
                for (var k = 0; k < 4; k++)
                {
                    var length = rng.Next(0, 3) == 0 ? rng.Next(0, 16) : rng.Next(0, 200);
                    spans[k] = (rng.Next(0, Data.Length - length), length);
                    r[k].Update(Data.AsSpan(spans[k].Start, length));
                }

                XxHash32.AppendFour(ref h[0], ref h[1], ref h[2], ref h[3],
                    Data.AsSpan(spans[0].Start, spans[0].Length), Data.AsSpan(spans[1].Start, spans[1].Length),
                    Data.AsSpan(spans[2].Start, spans[2].Length), Data.AsSpan(spans[3].Start, spans[3].Length));
                for (var k = 0; k < 4; k++)
                {
                    Assert.True(r[k].Digest() == h[k].Digest(), $"round {round} call {call} lane {k}");
                }
            }
        }
    }

    private static byte[] MakeData(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }
}
