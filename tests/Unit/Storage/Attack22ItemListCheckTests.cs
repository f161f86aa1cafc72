using System.Buffers.Binary;
using DataraxCkpt.Storage;
using K4os.Hash.xxHash;
using Xunit.Abstractions;
using static DataraxCkpt.Storage.ItemListBlobs;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Attack on round 59's in-place <see cref="ItemListCodec.Check"/>: a structured differential fuzzer (lists built from
/// hostile parts — multi-byte, CESU, overlong and invalid UTF-8 names split at the front-coding boundary, UTF-16 names,
/// redundant and over-long varints, shapes of any rank, out-of-range codes, trailing bytes — then randomly mutated and
/// re-sealed, in both layouts), checks racing on threads with stale pooled buffers, and LZ4 blocks that lie.
/// </summary>
public sealed class Attack22ItemListCheckTests(ITestOutputHelper output)
{
    private static readonly byte[][] Pieces =
    [
        "a"u8.ToArray(), "cfg/lr"u8.ToArray(), "é"u8.ToArray(), "😀"u8.ToArray(), "\uFFFD"u8.ToArray(), "中"u8.ToArray(),
        [0xC3], [0xA9], [0x80], [0xBF], [0xF0, 0x9F], [0x98, 0x80], [0xED, 0xA0, 0x80], [0xED, 0xB0, 0x80], // CESU halves
        [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xF0, 0x80, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF5], [0xFF],
        [], [0x00], [0x7F], "~0~1"u8.ToArray(), "e\u0301"u8.ToArray(),
    ];

    private static readonly string[] Texts = ["scalar", "tensor", "string", "f32", "i64", "", "é", "\uFFFD", "key", "null"];

    /// <summary>A payload (shared lengths present when <paramref name="frontCoded"/>), its item count.</summary>
    private static (byte[] Payload, int Count) RandomPayload(Random r, bool frontCoded)
    {
        var p = new List<byte>();
        int Red() => r.Next(12) == 0 ? r.Next(1, 11) : 0;
        // Mostly within the format's two texts per item (session 22's bound), now and then above it.
        var count = r.Next(0, 7);
        var texts = r.Next(8) == 0 ? r.Next(0, Texts.Length) : r.Next(count == 0 ? 0 : 1, Math.Min(Texts.Length, (2 * count) + 1));
        Varint(p, (ulong)texts, Red());
        for (var t = 0; t < texts; t++)
        {
            var bytes = r.Next(15) == 0 ? Pieces[r.Next(Pieces.Length)] : System.Text.Encoding.UTF8.GetBytes(Texts[t]);
            Varint(p, (ulong)bytes.Length, Red());
            p.AddRange(bytes);
        }

        var previous = new List<byte>();
        var previousUtf16 = false;
        for (var i = 0; i < count; i++)
        {
            if (r.Next(8) == 0)
            {
                // UTF-16 form, any code units (lone surrogates too).
                if (frontCoded)
                {
                    Varint(p, r.Next(6) == 0 ? 1UL : 0UL, Red());
                }

                var units = r.Next(0, 4);
                Varint(p, ((ulong)units << 1) | 1, Red());
                for (var u = 0; u < units; u++)
                {
                    var c = r.Next(4) switch { 0 => 0xD800 + r.Next(0x800), 1 => r.Next(0x80), _ => r.Next(0x10000) };
                    p.Add((byte)c);
                    p.Add((byte)(c >> 8));
                }

                previous.Clear();
                previousUtf16 = true;
            }
            else
            {
                var shared = 0;
                if (frontCoded)
                {
                    shared = previousUtf16 || previous.Count == 0 ? (r.Next(10) == 0 ? 1 : 0) : r.Next(0, previous.Count + (r.Next(10) == 0 ? 2 : 1));
                    Varint(p, (ulong)shared, Red());
                }

                var suffix = new List<byte>();
                for (var k = r.Next(0, 4); k > 0; k--)
                {
                    suffix.AddRange(Pieces[r.Next(Pieces.Length)]);
                }

                Varint(p, (ulong)suffix.Count << 1, Red());
                p.AddRange(suffix);
                previous = [.. previous.Take(Math.Min(shared, previous.Count)), .. suffix];
                previousUtf16 = false;
            }

            Varint(p, (ulong)r.Next(0, texts + (r.Next(10) == 0 ? 2 : 1)) - (ulong)(r.Next(10) == 0 ? 0 : 0), Red());
            Varint(p, (ulong)r.Next(0, texts + (r.Next(10) == 0 ? 2 : 1)), Red());
            var rank = r.Next(6) == 0 ? -1 : r.Next(0, 4);
            Varint(p, (ulong)(rank + 1), Red());
            for (var d = 0; d < rank; d++)
            {
                Varint(p, r.Next(5) == 0 ? ulong.MaxValue : (ulong)r.Next(0, 1000), Red());
            }

            Varint(p, r.Next(5) == 0 ? ulong.MaxValue - (ulong)r.Next(3) : (ulong)r.Next(0, 5000), Red());
            Varint(p, (ulong)r.Next(0, 100), Red());
        }

        return (p.ToArray(), count);
    }

    private static void Mutate(Random r, List<byte> b)
    {
        for (var m = r.Next(0, 3); m > 0 && b.Count > 0; m--)
        {
            var at = r.Next(b.Count);
            switch (r.Next(5))
            {
                case 0: b[at] ^= (byte)(1 << r.Next(8)); break;
                case 1: b[at] = (byte)r.Next(256); break;
                case 2: b.RemoveAt(at); break;
                case 3: b.Insert(at, (byte)r.Next(256)); break;
                default: b.Add((byte)r.Next(256)); break;
            }
        }
    }

    private static Exception? Decode(byte[] blob, int n) => Record.Exception(() => ItemListCodec.Decode(9, blob, n));

    private static Exception? Check(byte[] blob, int n) => Record.Exception(() => ItemListCodec.Check(9, blob, n));

    private static IEnumerable<(byte[] Blob, int Count, string What)> Lists(int seed, int lists)
    {
        var r = new Random(seed);
        for (var k = 0; k < lists; k++)
        {
            var frontCoded = r.Next(2) == 0;
            var (payload, count) = RandomPayload(r, frontCoded);
            var bytes = payload.ToList();
            Mutate(r, bytes);
            var stated = r.Next(20) == 0 ? count + 1 : count;
            var blob = frontCoded ? Layout2((ulong)stated, [.. bytes]) : Layout1((ulong)stated, [.. bytes]);
            yield return (blob, count, $"seed {seed} list {k} layout {(frontCoded ? 2 : 1)}: {Convert.ToHexString(blob)}");
        }
    }

    [Fact]
    public void Check_and_decode_agree_on_200_000_random_hostile_lists_of_both_layouts()
    {
        var wrong = new List<string>();
        int accepted = 0, refused = 0;
        for (var seed = 1; seed <= 20; seed++)
        {
            foreach (var (blob, count, what) in Lists(seed, 10_000))
            {
                var d = Decode(blob, count);
                var c = Check(blob, count);
                if (d is not (null or FormatException) || c is not (null or FormatException) || (d is null) != (c is null))
                {
                    wrong.Add($"{what}: decode {d?.GetType().Name ?? "accepts"} {d?.Message}, check {c?.GetType().Name ?? "accepts"} {c?.Message}");
                }

                _ = d is null ? accepted++ : refused++;
            }
        }

        output.WriteLine($"accepted {accepted}, refused {refused}");
        Assert.True(wrong.Count == 0, string.Join(Environment.NewLine, wrong.Take(10)));
        Assert.InRange(accepted, 5_000, int.MaxValue);
        Assert.InRange(refused, 5_000, int.MaxValue);
    }

    [Fact]
    public void Checks_racing_on_four_threads_with_long_failed_names_give_each_list_its_own_answer()
    {
        // Lists whose names grow the pooled name buffer and then fail mid-walk, mixed with lists that pass: a stale
        // buffer or a buffer returned twice would show as a wrong answer on another thread.
        var lists = Lists(99, 3_000).ToList();
        var big = new List<byte>();
        Varint(big, 1);
        Varint(big, 6);
        big.AddRange("scalar"u8.ToArray());
        for (var i = 0; i < 50; i++)
        {
            Varint(big, i == 0 ? 0UL : 1000UL * (ulong)i);
            Varint(big, 1000UL << 1);
            big.AddRange(Enumerable.Repeat((byte)('a' + (i % 26)), 1000));
            big.AddRange(new byte[] { 0, 0, 0, 1, 0 });
        }

        var bigOk = Layout2(50, [.. big]);
        var bigBad = (byte[])big.ToArray().Clone();
        bigBad[^20] = 0xC3; // an invalid byte in the last name's suffix
        lists.Add((bigOk, 50, "big ok"));
        lists.Add((Layout2(50, bigBad), 50, "big bad"));
        var expected = lists.Select(l => Decode(l.Blob, l.Count) is null).ToArray();
        Assert.True(expected[^2] && !expected[^1]);
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            var r = new Random(t);
            for (var k = 0; k < 6_000; k++)
            {
                var i = r.Next(4) == 0 ? lists.Count - 1 - r.Next(2) : r.Next(lists.Count);
                var got = Check(lists[i].Blob, lists[i].Count) is null;
                if (got != expected[i])
                {
                    errors.Add($"thread {t}: {lists[i].What}: check {got}, decode {expected[i]}");
                }
            }
        });
        Assert.True(errors.IsEmpty, string.Join(Environment.NewLine, errors.Take(10)));
    }

    [Fact]
    public void A_block_that_decompresses_to_more_or_fewer_bytes_than_stated_is_refused_by_both()
    {
        byte[] payload = [0x01, 0x06, .. "scalar"u8, 0, 0x02, (byte)'a', 0, 0, 0, 1, 0];
        var good = Layout2(1, payload);
        Assert.Null(Decode(good, 1));
        Assert.Null(Check(good, 1));

        // The block of the payload followed by a byte: it decompresses to one more than stated.
        byte[] longer = [.. payload, 0];
        var block = new byte[K4os.Compression.LZ4.LZ4Codec.MaximumOutputSize(longer.Length)];
        var n = K4os.Compression.LZ4.LZ4Codec.Encode(longer, block, K4os.Compression.LZ4.LZ4Level.L00_FAST);
        var over = Layout2Raw(1, (ulong)payload.Length, block.AsSpan(0, n).ToArray());
        Assert.IsType<FormatException>(Decode(over, 1));
        Assert.IsType<FormatException>(Check(over, 1));

        // Stated one more than the block gives.
        var under = Layout2(1, payload, (ulong)payload.Length + 1);
        Assert.IsType<FormatException>(Decode(under, 1));
        Assert.IsType<FormatException>(Check(under, 1));

        // A sequence whose match reaches before the start of the output (offset 1 at output 0 and 16 bytes out), and
        // one with offset 0: an LZ4 decoder must refuse both; a decoder reading the pooled buffer's stale bytes would not.
        foreach (var bad in new[]
        {
            new byte[] { 0x10, 0x41, 0x02, 0x00, 0x10, 0x41 },
            new byte[] { 0x1F, 0x41, 0x00, 0x00, 0x00 },
            new byte[] { 0x0F, 0x10, 0x00, 0x00 },
        })
        {
            foreach (var stated in new ulong[] { 20, 21, 24, 25 })
            {
                var blob = Layout2Raw(0, stated, bad);
                var d = Decode(blob, 0);
                var c = Check(blob, 0);
                Assert.True(d is FormatException && c is FormatException, $"{Convert.ToHexString(bad)} stated {stated}: decode {d?.Message ?? "accepts"}, check {c?.Message ?? "accepts"}");
            }
        }
    }
}
