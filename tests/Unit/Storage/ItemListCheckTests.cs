using System.Buffers.Binary;
using System.Collections;
using System.Globalization;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using K4os.Hash.xxHash;
using Xunit.Abstractions;
using static DataraxCkpt.Storage.ItemListBlobs;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// <see cref="ItemListCodec.Check"/> (the repair's integrity check, which validates a list without making its items)
/// accepts exactly the lists <see cref="ItemListCodec.Decode"/> decodes: the repair rebuilds only what the check calls
/// damage, so a list it passes that readers refuse stays unreadable, and a list it refuses that readers read is rebuilt
/// for nothing. Held on every mutation of real lists of both layouts, as stored and re-sealed (checksum, count and
/// payload length made right again, so the mutation reaches the walk behind them), and on round 55's hostile lists.
/// </summary>
public sealed class ItemListCheckTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>What both made of one list: null where it was accepted, else the exception.</summary>
    private sealed record Verdict(Exception? Decode, Exception? Check);

    private static Verdict Judge(byte[] blob, int expectedCount) => new(
        Record.Exception(() => ItemListCodec.Decode(7, blob, expectedCount)),
        Record.Exception(() => ItemListCodec.Check(7, blob, expectedCount)));

    /// <summary>Adds a disagreement (or an exception other than FormatException) to <paramref name="wrong"/>; returns whether the list was accepted.</summary>
    private static bool Compare(byte[] blob, int expectedCount, string what, List<string> wrong)
    {
        var v = Judge(blob, expectedCount);
        if (v.Decode is not (null or FormatException) || v.Check is not (null or FormatException))
        {
            wrong.Add($"{what}: decode {v.Decode?.GetType().Name}, check {v.Check?.GetType().Name}: {v.Check?.Message ?? v.Decode?.Message}");
        }
        else if ((v.Decode is null) != (v.Check is null))
        {
            wrong.Add($"{what}: decode {(v.Decode is null ? "accepts" : "refuses (" + v.Decode.Message + ")")}, check {(v.Check is null ? "accepts" : "refuses (" + v.Check.Message + ")")}");
        }

        return v.Decode is null;
    }

    private static void AssertAgree(byte[] blob, int expectedCount, bool accepted, string what)
    {
        var wrong = new List<string>();
        var got = Compare(blob, expectedCount, what, wrong);
        Assert.True(wrong.Count == 0, string.Join(Environment.NewLine, wrong));
        Assert.True(got == accepted, $"{what}: expected both to {(accepted ? "accept" : "refuse")} it");
    }

    private static ulong ReadVarint(byte[] from, ref int pos)
    {
        ulong v = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = from[pos++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return v;
            }
        }
    }

    /// <summary>The decompressed payload of a layout-2 list this engine wrote.</summary>
    private static byte[] PayloadOf(byte[] blob)
    {
        var pos = 1;
        _ = ReadVarint(blob, ref pos);
        var length = (int)ReadVarint(blob, ref pos);
        var payload = new byte[length];
        Assert.Equal(length, K4os.Compression.LZ4.LZ4Codec.Decode(blob.AsSpan(pos, blob.Length - 8 - pos), payload));
        return payload;
    }

    /// <summary>Every one-byte change, deletion and insertion, every cut and a few extensions of <paramref name="bytes"/>, from <paramref name="from"/> on.</summary>
    private static IEnumerable<(string What, byte[] Bytes)> Mutations(byte[] bytes, int from)
    {
        for (var i = from; i < bytes.Length; i++)
        {
            foreach (var x in new byte[] { 0x01, 0x02, 0x40, 0x80, 0xFF })
            {
                var m = (byte[])bytes.Clone();
                m[i] ^= x;
                yield return ($"byte {i} ^ 0x{x:X2}", m);
            }

            foreach (var v in new byte[] { 0x00, 0x7F })
            {
                if (bytes[i] != v)
                {
                    var m = (byte[])bytes.Clone();
                    m[i] = v;
                    yield return ($"byte {i} = 0x{v:X2}", m);
                }
            }

            yield return ($"byte {i} deleted", [.. bytes.AsSpan(0, i), .. bytes.AsSpan(i + 1)]);
            yield return ($"0x00 inserted at {i}", [.. bytes.AsSpan(0, i), 0x00, .. bytes.AsSpan(i)]);
            yield return ($"0x81 inserted at {i}", [.. bytes.AsSpan(0, i), 0x81, .. bytes.AsSpan(i)]);
        }

        for (var length = 0; length < bytes.Length; length++)
        {
            yield return ($"cut to {length}", bytes.AsSpan(0, length).ToArray());
        }

        foreach (var tail in new byte[][] { [0x00], [0x01], [0x80], [0x80, 0x01], [0xC3], [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00] })
        {
            yield return ($"extended by {Convert.ToHexString(tail)}", [.. bytes, .. tail]);
        }
    }

    /// <summary>A real list of each kind the repair meets, as this engine writes it (layout 2).</summary>
    private byte[] RealList(string which, out int count)
    {
        switch (which)
        {
            case "configs, saved":
            {
                // Through a real save and out of its index, as the repair reads it: the bench's configs, a tensor, an int.
                var configs = new Hashtable();
                for (var i = 0; i < 25; i++)
                {
                    configs[string.Create(CultureInfo.InvariantCulture, $"c{i}")] = new Hashtable
                    {
                        ["name"] = string.Create(CultureInfo.InvariantCulture, $"run-{i}"),
                        ["lr"] = 0.001 * i,
                        ["tags"] = new object?[] { "a", "b", "c" },
                        ["enabled"] = i % 2 == 0,
                    };
                }

                configs["w"] = new float[,] { { 1, 2 }, { 3, 4 } };
                configs["ünï/日本"] = 3;
                var ck = Path.GetFullPath(_dir.Sub("ck"));
                using (var h = new CheckpointHandler())
                {
                    h.Save(ck, configs, step: 1);
                }

                using var c = new IndexFile(Path.Combine(ck, "index.sqlite")).Connect();
                using var cmd = c.CreateCommand();
                cmd.CommandText = "SELECT s.item_count, i.items FROM steps s JOIN step_items i ON i.step = s.step;";
                using var r = cmd.ExecuteReader();
                Assert.True(r.Read());
                count = (int)r.GetInt64(0);
                return (byte[])r[1];
            }

            case "ints, hashtable order":
            {
                var ints = new Hashtable();
                for (var i = 0; i < 60; i++)
                {
                    ints[string.Create(CultureInfo.InvariantCulture, $"k{i}")] = i;
                }

                var writer = new ItemListCodec.Writer(ints.Count);
                foreach (DictionaryEntry e in ints)
                {
                    writer.Add((string)e.Key, "scalar", "i32", null, 4, 0);
                }

                count = ints.Count;
                return writer.ToArray();
            }

            default:
            {
                // Shared runs ending inside characters, lone surrogates (the UTF-16 form), shapes, negative sizes.
                string[] names = ["a/é", "a/ê", "a/😀x", "a/😁", "a/😁\ud800", "a/😁y", string.Empty, "b", "b/日本", "b/日本語", "\udc00", "b/日"];
                var writer = new ItemListCodec.Writer(names.Length);
                for (var i = 0; i < names.Length; i++)
                {
                    long[]? shape = (i % 3) switch { 0 => null, 1 => [], _ => [i, -1] };
                    writer.Add(names[i], i % 2 == 0 ? "tensor" : "scalar", i % 4 == 0 ? null : "f32", shape, i % 5 == 0 ? -3 : i * 1000L, i);
                }

                count = names.Length;
                return writer.ToArray();
            }
        }
    }

    public static TheoryData<string, byte> Lists()
    {
        var data = new TheoryData<string, byte>();
        foreach (var which in new[] { "configs, saved", "ints, hashtable order", "non-ASCII and UTF-16 names" })
        {
            data.Add(which, ItemListCodec.RowLayout);
            data.Add(which, ItemListCodec.Layout);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Lists))]
    public void Check_accepts_exactly_what_decode_accepts_on_every_mutation_of_a_real_list(string which, byte layout)
    {
        var two = RealList(which, out var count);
        var blob = layout == ItemListCodec.Layout ? two : ItemListLayout1.Encode(ItemListCodec.Decode(1, two, count));
        AssertAgree(blob, count, accepted: true, "the list as written");

        var wrong = new List<string>();
        var accepted = 0;
        var refused = 0;
        void Count(bool ok)
        {
            if (ok)
            {
                accepted++;
            }
            else
            {
                refused++;
            }
        }

        // As stored (the checksum catches nearly all of these), and against the wrong count.
        foreach (var (what, m) in Mutations(blob, 0))
        {
            Count(Compare(m, count, "stored, " + what, wrong));
        }

        Count(Compare(blob, count + 1, "count + 1 expected", wrong));
        Count(Compare(blob, Math.Max(count - 1, 0), "count - 1 expected", wrong));

        // Re-sealed, so each change reaches the walk behind the checksum, count and payload length.
        var resealedAccepted = 0;
        if (layout == ItemListCodec.RowLayout)
        {
            var body = blob.AsSpan(0, blob.Length - 8).ToArray();
            foreach (var (what, m) in Mutations(body, 0))
            {
                var ok = Compare(Sealed(m), count, "re-sealed body, " + what, wrong);
                Count(ok);
                resealedAccepted += ok ? 1 : 0;
            }
        }
        else
        {
            var payload = PayloadOf(blob);
            foreach (var (what, m) in Mutations(payload, 0))
            {
                var ok = Compare(Layout2((ulong)count, m), count, "re-sealed payload, " + what, wrong);
                Count(ok);
                resealedAccepted += ok ? 1 : 0;
            }

            // The header's claims against a real block: the payload's length off by a little or a lot, the count off.
            var pos = 1;
            _ = ReadVarint(blob, ref pos);
            var real = ReadVarint(blob, ref pos);
            var block = blob.AsSpan(pos, blob.Length - 8 - pos).ToArray();
            var lies = new ulong[]
            {
                0, 1, real - 1, real + 1, real + 255, real * 2, (ulong)(1 + (7 * count)) - 1, (ulong)(1 + (7 * count)),
                ((ulong)block.Length * 256) + 1, (ulong)block.Length * 256, 1_000_000_000, 1_000_000_001, ulong.MaxValue >> 1, ulong.MaxValue,
            };
            foreach (var lie in lies)
            {
                Count(Compare(Layout2Raw((ulong)count, lie, block), count, $"payload length {lie} claimed of {real}", wrong));
            }

            Count(Compare(Layout2Raw((ulong)count + 1, real, block), count + 1, "one more item claimed and expected", wrong));
            Count(Compare(Layout2Raw((ulong)count - 1, real, block), count - 1, "one fewer item claimed and expected", wrong));
            Count(Compare(Layout2Raw((ulong)count, real, [.. block, 0x00]), count, "a byte after the block", wrong));
            Count(Compare(Layout2Raw((ulong)count, real, block[..^1]), count, "the block's last byte cut", wrong));
        }

        output.WriteLine($"{which}, layout {layout}: {accepted:N0} accepted, {refused:N0} refused by both ({resealedAccepted:N0} re-sealed mutations accepted)");
        Assert.True(wrong.Count == 0, $"{wrong.Count} disagreements, first:{Environment.NewLine}{string.Join(Environment.NewLine, wrong.Take(10))}");

        // Both answers must occur among the re-sealed mutations, or the comparison proves nothing about the walk.
        Assert.InRange(resealedAccepted, 1, int.MaxValue);
        Assert.InRange(refused, 1, int.MaxValue);
    }

    /// <summary>A payload: a one-text table ("scalar"), then items of (shared, suffix bytes) with kind 0, no dtype, no shape, size 1, stored 0.</summary>
    private static byte[] Payload(IEnumerable<(ulong Shared, byte[] Suffix)> names)
    {
        var p = new List<byte>();
        Varint(p, 1);
        Varint(p, 6);
        p.AddRange("scalar"u8.ToArray());
        foreach (var (shared, suffix) in names)
        {
            Varint(p, shared);
            Varint(p, (ulong)suffix.Length << 1);
            p.AddRange(suffix);
            p.AddRange(new byte[] { 0, 0, 0, 1, 0 });
        }

        return p.ToArray();
    }

    public static TheoryData<string, byte[][], ulong[], bool> FrontCodingAtTheBoundary() => new()
    {
        // Round 55's attack, UTF-8 split at the prefix boundary: refused when the whole name is not UTF-8 ...
        { "shared longer than the previous name", [[0x61, 0x62], [0x63]], [0, 3], false },
        { "the first name shares", [[0x61]], [1], false },
        { "é's lead byte, then ASCII", [[0xC3, 0xA9], [0x41]], [0, 1], false },
        { "é's lead byte, then nothing", [[0xC3, 0xA9], []], [0, 1], false },
        { "three bytes of a pair, then ASCII", [[0xF0, 0x9F, 0x98, 0x80], [0x41]], [0, 3], false },
        { "a surrogate assembled (ED A0 80)", [[0xED], [0xA0, 0x80]], [0, 1], false },
        { "an overlong assembled (C0 80)", [[0xC0], [0x80]], [0, 1], false },
        { "above U+10FFFF assembled (F4 90 80 80)", [[0xF4], [0x90, 0x80, 0x80]], [0, 1], false },
        { "a continuation byte alone", [[0x80]], [0], false },

        // ... and accepted when the suffix completes the character the shared run began.
        { "é's lead byte, then ê's tail", [[0xC3, 0xA9], [0xAA]], [0, 1], true },
        { "three bytes of 😀, then 😁's last", [[0xF0, 0x9F, 0x98, 0x80], [0x81]], [0, 3], true },
        { "shared whole, nothing added", [[0x61, 0xC3, 0xA9], []], [0, 3], true },
        { "shared exactly the previous name", [[0x61], [0x62], [0x63]], [0, 1, 2], true },
    };

    [Theory]
    [MemberData(nameof(FrontCodingAtTheBoundary))]
    public void Check_and_decode_agree_on_names_split_at_the_front_coding_boundary(string what, byte[][] suffixes, ulong[] shared, bool accepted)
    {
        var payload = Payload(shared.Zip(suffixes));
        AssertAgree(Layout2((ulong)suffixes.Length, payload), suffixes.Length, accepted, what);
    }

    /// <summary>Hand-made payloads (the text table, then items) for the refusals that a mutation of a real list rarely reaches.</summary>
    public static TheoryData<string, byte[], int, bool> HandMadePayloads()
    {
        // Items after a one-text table ("scalar"): shared, header, name, kind, dtype, shape, size, stored.
        byte[] table = [0x01, 0x06, .. "scalar"u8];
        return new TheoryData<string, byte[], int, bool>
        {
            { "a plain item", [.. table, 0, 0x02, (byte)'a', 0, 0, 0, 1, 0], 1, true },
            { "kind past the table", [.. table, 0, 0x02, (byte)'a', 1, 0, 0, 1, 0], 1, false },
            { "dtype 1 + the last text", [.. table, 0, 0x02, (byte)'a', 0, 1, 0, 1, 0], 1, true },
            { "dtype past the table", [.. table, 0, 0x02, (byte)'a', 0, 2, 0, 1, 0], 1, false },
            { "a rank-2 shape", [.. table, 0, 0x02, (byte)'a', 0, 0, 3, 5, 6, 1, 0], 1, true },
            { "a shape longer than the list", [.. table, 0, 0x02, (byte)'a', 0, 0, 0x7F, 1, 0], 1, false },
            { "a negative size (10 bytes)", [.. table, 0, 0x02, (byte)'a', 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0], 1, true },
            { "a size past 64 bits", [.. table, 0, 0x02, (byte)'a', 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0], 1, false },
            { "a byte after the last item", [.. table, 0, 0x02, (byte)'a', 0, 0, 0, 1, 0, 0], 1, false },
            { "a UTF-16 name", [.. table, 0, 0x05, 0x00, 0xD8, 0x61, 0x00, 0, 0, 0, 1, 0], 1, true },
            { "a UTF-16 name that shares", [.. table, 0, 0x02, (byte)'a', 0, 0, 0, 1, 0, 1, 0x03, (byte)'a', 0, 0, 0, 0, 1, 0], 2, false },
            { "a name sharing with a UTF-16 one", [.. table, 0, 0x03, 0x61, 0x00, 0, 0, 0, 1, 0, 1, 0x02, (byte)'b', 0, 0, 0, 1, 0], 2, false },
            { "a UTF-16 name past the end", [.. table, 0, 0x0B, 0x61, 0x00, 0, 0, 0, 1, 0], 1, false },
            { "a table text not UTF-8", [0x01, 0x02, 0xC3, 0x28, 0, 0x02, (byte)'a', 0, 0, 0, 1, 0], 1, false },
            { "a table longer than the payload", [0x7F, 0x01, (byte)'s', 0, 0x02, (byte)'a', 0, 0, 0, 1, 0], 1, false },
            // Counts past 32 bits: a walk that narrowed them to int without its bound would read 1 text, 1 dimension.
            { "a table of 2^32 + 1 texts", [0x81, 0x80, 0x80, 0x80, 0x10, 0x06, .. "scalar"u8, 0, 0x02, (byte)'a', 0, 0, 0, 1, 0], 1, false },
            { "a shape of rank 2^32 + 1", [.. table, 0, 0x02, (byte)'a', 0, 0, 0x82, 0x80, 0x80, 0x80, 0x10, 5, 1, 0], 1, false },
            { "an empty table, an item naming kind 0", [0x00, 0, 0x02, (byte)'a', 0, 0, 0, 1, 0, 0], 1, false },
            { "an empty name naming kind 0 of an empty table", [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], 1, false },
        };
    }

    [Theory]
    [MemberData(nameof(HandMadePayloads))]
    public void Check_and_decode_agree_on_hand_made_lists(string what, byte[] payload, int count, bool accepted)
    {
        AssertAgree(Layout2((ulong)count, payload), count, accepted, what);

        // The same items in layout 1 (no shared lengths: they are dropped from each item), where they exist there.
        if (!what.Contains("shar", StringComparison.Ordinal))
        {
            var one = new List<byte> { ItemListCodec.RowLayout };
            Varint(one, (ulong)count);
            one.AddRange(WithoutSharedLengths(payload, count));
            AssertAgree(Sealed(one), count, accepted, "layout 1, " + what);
        }
    }

    /// <summary>The payload of a one-item list without the item's leading shared length (found after the table).</summary>
    private static byte[] WithoutSharedLengths(byte[] payload, int count)
    {
        Assert.Equal(1, count);
        var pos = 0;
        var texts = ReadVarint(payload, ref pos);
        for (ulong t = 0; t < texts && pos < payload.Length; t++)
        {
            var length = (int)ReadVarint(payload, ref pos);
            pos = Math.Min(payload.Length, pos + length);
        }

        if (texts > 0x10 || pos >= payload.Length)
        {
            return payload;
        }

        return [.. payload.AsSpan(0, pos), .. payload.AsSpan(pos + 1)];
    }

    [Fact]
    public void Check_and_decode_agree_on_front_coded_names_growing_quadratically()
    {
        // Round 55's attack: each name the previous one and one byte more, about 9 payload bytes an item. 2,000 items
        // make 2,001,000 characters of names (accepted by both); 23,200 make 269,131,600, just over the format's 2^28
        // (docs/format.md §6.4), from a list of a few kilobytes: refused by both.
        foreach (var (n, accepted) in new[] { (2_000, true), (23_200, false) })
        {
            var blob = Layout2((ulong)n, Payload(Enumerable.Range(0, n).Select(i => ((ulong)i, new[] { (byte)'a' }))));
            Assert.True(blob.Length < 1 << 20);
            AssertAgree(blob, n, accepted, $"{n:N0} names growing by a byte");
        }
    }

    [Fact]
    public void Check_and_decode_agree_on_layouts_and_headers_that_lie()
    {
        byte[] payload = [0x01, 0x06, .. "scalar"u8, 0, 0x02, (byte)'a', 0, 0, 0, 1, 0];
        var good = Layout2(1, payload);
        AssertAgree(good, 1, accepted: true, "the list");
        foreach (var layout in new byte[] { 0, 3, 0x7F, 0xFF })
        {
            AssertAgree(Sealed([layout, .. good.AsSpan(1, good.Length - 9)]), 1, accepted: false, $"layout {layout}");
        }

        // A count as an 11-byte varint, a count past 64 bits, and a blob too short to hold anything.
        AssertAgree(Sealed([ItemListCodec.Layout, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), 1, accepted: false, "an 11-byte count");
        AssertAgree(Sealed([ItemListCodec.Layout, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x00]), 1, accepted: false, "a count past 64 bits");
        AssertAgree(Sealed([ItemListCodec.Layout, 0x00]), 0, accepted: false, "a blob of 10 bytes");
        AssertAgree(Sealed([ItemListCodec.RowLayout, 0x00, 0x00]), 0, accepted: true, "an empty layout-1 list");
        AssertAgree(Layout2(0, [0x00]), 0, accepted: true, "an empty layout-2 list");
        AssertAgree(Sealed([ItemListCodec.RowLayout, 0x05, 0x00]), 5, accepted: false, "a layout-1 count its bytes cannot hold");
    }

    [Fact]
    public void Check_allocates_nothing_per_list_once_warm()
    {
        // The repair checks every step: the check of a list must not build its items (about 2 MB for 12,000 config
        // leaves when it was a whole decode). The payload and the previous name's bytes come from the shared pool.
        var writer = new ItemListCodec.Writer(12_000);
        for (var i = 0; i < 2_000; i++)
        {
            foreach (var leaf in new[] { "name", "lr", "tags/0", "tags/1", "tags/2", "enabled" })
            {
                writer.Add(string.Create(CultureInfo.InvariantCulture, $"c{i}/{leaf}"), "scalar", "f64", null, 8, 0);
            }
        }

        var blob = writer.ToArray();
        for (var i = 0; i < 5; i++)
        {
            ItemListCodec.Check(1, blob, 12_000);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 20; i++)
        {
            ItemListCodec.Check(1, blob, 12_000);
        }

        var perCheck = (GC.GetAllocatedBytesForCurrentThread() - before) / 20;
        output.WriteLine($"{perCheck:N0} bytes allocated per check of {blob.Length:N0} bytes");
        Assert.InRange(perCheck, 0, 1024);
    }
}
