using System.Buffers.Binary;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// Attack (session 24) on the frame built over parts: LZ77-shaped content (random runs, copies at distances around the
/// 64 KiB window's edge — 65,535, 65,536, 65,537 — overlapping short-period copies, zero runs) cut into random part
/// sizes including 1-byte parts and a 1-byte tail, lengths at 4 MiB−1 / 4 MiB / 4 MiB+1 / 8 MiB / 8 MiB+1; each frame
/// must decode (engine reader, K4os per block) to the content, every block word ≤ 4 MiB, a compressed block no longer
/// than its raw bytes, and the lz4 tool must give the same bytes.
/// </summary>
public sealed class StreamedFrameFuzzAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Lz77Content(int seed, int length)
    {
        var random = new Random(seed);
        var bytes = new byte[length];
        int[] distances = [1, 2, 3, 4, 7, 8, 12, 65_534, 65_535, 65_536, 65_537, 131_072];
        var at = 0;
        while (at < length)
        {
            var op = random.Next(4);
            var run = Math.Min(length - at, random.Next(1, random.Next(2) == 0 ? 300 : 300_000));
            switch (op)
            {
                case 0:
                    random.NextBytes(bytes.AsSpan(at, run));
                    break;
                case 1:
                case 2:
                    var d = random.Next(3) == 0 ? random.Next(1, 70_000) : distances[random.Next(distances.Length)];
                    if (d > at)
                    {
                        random.NextBytes(bytes.AsSpan(at, run));
                        break;
                    }

                    for (var i = 0; i < run; i++)
                    {
                        bytes[at + i] = bytes[at + i - d];
                    }

                    // A byte changed now and then so matches end at odd places.
                    if (random.Next(2) == 0)
                    {
                        bytes[at + random.Next(run)] ^= 0x5A;
                    }

                    break;
                default:
                    bytes.AsSpan(at, run).Fill((byte)random.Next(3));
                    break;
            }

            at += run;
        }

        return bytes;
    }

    private static byte[] Frame(byte[] content, Random parts, bool oneByteTail)
    {
        using var frame = new Lz4StreamedFrame();
        var end = oneByteTail && content.Length > 0 ? content.Length - 1 : content.Length;
        for (var at = 0; at < end;)
        {
            var kind = parts.Next(5);
            var n = kind switch
            {
                0 => 1,
                1 => parts.Next(1, 30),
                2 => 65_536,
                3 => parts.Next(1, 70_000),
                _ => parts.Next(1, 600_000),
            };
            n = Math.Min(n, end - at);
            frame.Append(content.AsSpan(at, n));
            at += n;
        }

        if (end < content.Length)
        {
            frame.Append(content.AsSpan(end));
        }

        frame.Finish();
        using var file = new MemoryStream();
        var (length, hash) = frame.CopyTo(file);
        var bytes = file.ToArray();
        Assert.Equal(bytes.Length, length);
        Assert.Equal(K4os.Hash.xxHash.XXH64.DigestOf(bytes), hash);
        return bytes;
    }

    private static void AssertBlocks(byte[] frame, int contentLength)
    {
        Assert.Equal((ulong)contentLength, BinaryPrimitives.ReadUInt64LittleEndian(frame.AsSpan(6)));
        var pos = 15;
        var left = contentLength;
        while (true)
        {
            var word = BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(pos));
            pos += 4;
            if (word == 0)
            {
                break;
            }

            var length = (int)(word & 0x7FFFFFFF);
            var raw = Math.Min(left, Lz4Frame.BlockSize);
            Assert.InRange(length, 1, raw);
            if ((word & 0x80000000) != 0)
            {
                Assert.Equal(raw, length);
            }

            left -= raw;
            pos += length;
        }

        Assert.Equal(0, left);
        Assert.Equal(frame.Length, pos + 4);
    }

    public static TheoryData<int, int, bool> Cases()
    {
        var data = new TheoryData<int, int, bool>();
        int[] lengths = [Lz4Frame.BlockSize - 1, Lz4Frame.BlockSize, Lz4Frame.BlockSize + 1, 2 * Lz4Frame.BlockSize, (2 * Lz4Frame.BlockSize) + 1, 1_000_003, 131_073];
        var seed = 1;
        foreach (var length in lengths)
        {
            data.Add(seed++, length, false);
            data.Add(seed++, length, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Lz77_shaped_content_in_random_parts_decodes_to_itself(int seed, int length, bool oneByteTail)
    {
        var content = Lz77Content(seed, length);
        var frame = Frame(content, new Random(seed * 31), oneByteTail);
        AssertBlocks(frame, length);
        var decoded = new byte[length];
        Lz4Frame.Decode(frame, decoded);
        Assert.True(content.AsSpan().SequenceEqual(decoded));
        if (seed % 3 == 0)
        {
            var file = Path.Combine(_dir.Path, $"f{seed}.lz4");
            File.WriteAllBytes(file, frame);
            Assert.True(content.AsSpan().SequenceEqual(Lz4Tool.Decompress(file)));
        }
    }

    [Theory]
    [InlineData(41, (2 * Lz4Frame.BlockSize) + 1)]
    [InlineData(42, Lz4Frame.BlockSize)]
    [InlineData(43, (3 * Lz4Frame.BlockSize) - 1)]
    public void Lz77_shaped_content_appended_in_one_call_decodes_to_itself(int seed, int length)
    {
        var content = Lz77Content(seed, length);
        using var frame = new Lz4StreamedFrame();
        frame.Append(content);
        frame.Finish();
        using var file = new MemoryStream();
        frame.CopyTo(file);
        var bytes = file.ToArray();
        AssertBlocks(bytes, length);
        var decoded = new byte[length];
        Lz4Frame.Decode(bytes, decoded);
        Assert.True(content.AsSpan().SequenceEqual(decoded));
        var path = Path.Combine(_dir.Path, $"one{seed}.lz4");
        File.WriteAllBytes(path, bytes);
        Assert.True(content.AsSpan().SequenceEqual(Lz4Tool.Decompress(path)));
    }

    [Fact]
    public void A_block_that_shrinks_early_then_turns_incompressible_stays_within_its_raw_length()
    {
        // Exactly enough compressible bytes up front to let the raw bytes go, then random bytes to the block's end and
        // past it: the only case where a compressed block could grow past its raw size.
        foreach (var zeros in new[] { 17_000, 18_000, 20_000, 40_000 })
        {
            foreach (var total in new[] { 100_000, 1_000_000, Lz4Frame.BlockSize - 1, Lz4Frame.BlockSize, Lz4Frame.BlockSize + 1 })
            {
                var content = new byte[total];
                new Random(zeros ^ total).NextBytes(content.AsSpan(zeros));
                var frame = Frame(content, new Random(total), oneByteTail: false);
                AssertBlocks(frame, total);
                var decoded = new byte[total];
                Lz4Frame.Decode(frame, decoded);
                Assert.True(content.AsSpan().SequenceEqual(decoded));
            }
        }
    }
}

/// <summary>
/// Attack (session 24) on the walk's writer: spans asked with hints from 1 byte to 300 KB (values longer than a piece),
/// advanced by less than asked, pieces handed off part-full; the frame's content is exactly "{\"state\":", the bytes
/// advanced, and the rest, in order, and every rented piece is back after Dispose.
/// </summary>
public sealed class StreamedManifestWriterFuzzAttackTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Spans_of_any_hint_advanced_by_any_count_give_the_content_in_order(int seed)
    {
        var random = new Random(seed);
        var expected = new MemoryStream();
        expected.Write("{\"state\":"u8);
        var manifest = new StreamedManifest();
        try
        {
            while (expected.Length < 6_000_000)
            {
                var hint = random.Next(4) switch
                {
                    0 => 0,
                    1 => random.Next(1, 64),
                    2 => random.Next(60_000, 70_000),
                    _ => random.Next(1, 300_000),
                };
                var span = manifest.GetSpan(hint);
                Assert.True(span.Length >= Math.Max(hint, 1));
                var count = hint == 0 ? random.Next(0, Math.Min(span.Length, 100) + 1) : random.Next(0, hint + 1);
                var bytes = new byte[count];
                if (random.Next(2) == 0)
                {
                    random.NextBytes(bytes);
                }
                else
                {
                    bytes.AsSpan().Fill((byte)'a');
                }

                bytes.CopyTo(span);
                manifest.Advance(count);
                expected.Write(bytes);
            }

            var rest = ",\"format\":\"x\"}"u8.ToArray();
            expected.Write(rest);
            var frame = manifest.Complete(rest);
            using var file = new MemoryStream();
            frame.CopyTo(file);
            var content = new byte[expected.Length];
            Lz4Frame.Decode(file.ToArray(), content);
            Assert.True(expected.ToArray().AsSpan().SequenceEqual(content));
        }
        finally
        {
            manifest.Dispose();
        }

        Assert.Equal(0, manifest.PiecesRented);
    }
}
