using System.Buffers.Binary;
using System.Collections.Specialized;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Layout 2 of the item list (docs/format.md §3.1: front-coded names, the payload as one LZ4 block) and index
/// schema version 3, which may hold lists of either layout: both layouts read back exactly, damage and claims
/// of a huge payload are errors before anything large is allocated, and a version-2 index an older engine left
/// keeps working, upgraded to 3 by the first write without rewriting its lists.
/// </summary>
public sealed class ItemListLayout2Tests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public ItemListLayout2Tests() => _ck = Path.GetFullPath(_dir.Sub("ck"));

    public void Dispose() => _dir.Dispose();

    private static List<CheckpointItemInfo> RandomItems(int count, int seed)
    {
        var random = new Random(seed);
        const string alphabet = "abcxyz/_.0123456789éßжψ日本🙂";
        var items = new List<CheckpointItemInfo>(count);
        var previous = string.Empty;
        for (var i = 0; i < count; i++)
        {
            // Names that share a random part of the previous one (nothing, some, or all of it), then random text.
            var keep = random.Next(3) switch { 0 => 0, 1 => random.Next(previous.Length + 1), _ => previous.Length };
            var name = previous[..keep];
            if (name.Length > 0 && char.IsHighSurrogate(name[^1]))
            {
                name = name[..^1];
            }

            var tail = random.Next(6);
            for (var c = 0; c < tail; c++)
            {
                var at = random.Next(alphabet.Length);
                name += char.IsSurrogate(alphabet[at]) ? "🙂" : alphabet[at].ToString();
            }

            if (random.Next(50) == 0)
            {
                name += "\ud800";
            }

            var shape = random.Next(3) switch { 0 => null, 1 => Array.Empty<long>(), _ => new long[] { random.Next(5), random.NextInt64() } };
            items.Add(new CheckpointItemInfo(1, name, random.Next(2) == 0 ? "scalar" : "tensor", random.Next(3) == 0 ? null : "f32", shape, random.NextInt64(-5, long.MaxValue), random.Next(1000)));
            previous = name;
        }

        return items;
    }

    private static byte[] Layout2(IReadOnlyList<CheckpointItemInfo> items)
    {
        var writer = new ItemListCodec.Writer(items.Count);
        foreach (var it in items)
        {
            writer.Add(it.Name, it.Kind, it.DType, it.Shape?.ToArray(), it.Size, it.StoredSize);
        }

        return writer.ToArray();
    }

    private static void AssertSame(IReadOnlyList<CheckpointItemInfo> want, IReadOnlyList<CheckpointItemInfo> got)
    {
        Assert.Equal(want.Count, got.Count);
        for (var i = 0; i < want.Count; i++)
        {
            Assert.Equal((want[i].Name, want[i].Kind, want[i].DType, want[i].Size, want[i].StoredSize), (got[i].Name, got[i].Kind, got[i].DType, got[i].Size, got[i].StoredSize));
            Assert.Equal(want[i].Shape, got[i].Shape);
        }
    }

    public static TheoryData<string> Lists() => ["empty", "random", "sharing nothing", "sharing everything", "100,000 ints"];

    private static List<CheckpointItemInfo> ListOf(string what) => what switch
    {
        "empty" => [],
        "random" => RandomItems(3_000, 5),
        "sharing nothing" => Enumerable.Range(0, 2_000).Select(i => new CheckpointItemInfo(1, ((char)('a' + (i % 2))) + i.ToString(System.Globalization.CultureInfo.InvariantCulture), "scalar", "i32", null, 4, 0)).ToList(),
        "sharing everything" => Enumerable.Range(0, 2_000).Select(_ => new CheckpointItemInfo(1, "cfg/ü/same", "string", "str", null, 8, 0)).ToList(),
        _ => Enumerable.Range(0, 100_000).Select(i => new CheckpointItemInfo(1, "k" + i, "scalar", "i32", null, 4, 0)).ToList(),
    };

    [Theory]
    [MemberData(nameof(Lists))]
    public void Both_layouts_read_back_exactly(string what)
    {
        var items = ListOf(what);
        var two = Layout2(items);
        var one = ItemListLayout1.Encode(items);
        Assert.Equal((ItemListCodec.Layout, ItemListCodec.RowLayout), (two[0], one[0]));

        AssertSame(items, ItemListCodec.Decode(1, two, items.Count));
        AssertSame(items, ItemListCodec.Decode(1, one, items.Count));
        ItemListCodec.Check(1, two, items.Count);
        ItemListCodec.Check(1, one, items.Count);
        if (what == "100,000 ints")
        {
            // Sequential names front-code to a byte or two and the repeated fields compress: far under layout 1's.
            Assert.True(two.Length * 4 < one.Length, $"layout 2 {two.Length} bytes, layout 1 {one.Length}");
        }
    }

    [Fact]
    public void Every_flipped_byte_and_every_truncation_of_a_layout2_list_is_an_error()
    {
        var items = RandomItems(40, 9);
        var blob = Layout2(items);
        for (var i = 0; i < blob.Length; i++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var damaged = (byte[])blob.Clone();
                damaged[i] ^= (byte)(1 << bit);
                Assert.Throws<FormatException>(() => ItemListCodec.Decode(1, damaged, items.Count));
                Assert.Throws<FormatException>(() => ItemListCodec.Check(1, damaged, items.Count));
            }
        }

        for (var length = 0; length < blob.Length; length++)
        {
            Assert.Throws<FormatException>(() => ItemListCodec.Decode(1, blob.AsSpan(0, length).ToArray(), items.Count));
        }
    }

    /// <summary>A layout-2 blob with a valid checksum: layout, count, payload length, then <paramref name="block"/>.</summary>
    private static byte[] Claiming(int count, ulong payload, byte[] block)
    {
        var body = new List<byte> { ItemListCodec.Layout };
        foreach (var v in new[] { (ulong)count, payload })
        {
            var x = v;
            while (x >= 0x80)
            {
                body.Add((byte)(x | 0x80));
                x >>= 7;
            }

            body.Add((byte)x);
        }

        body.AddRange(block);
        var bytes = body.ToArray();
        var blob = new byte[bytes.Length + 8];
        bytes.CopyTo(blob, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(blob.AsSpan(bytes.Length), XXH64.DigestOf(bytes));
        return blob;
    }

    [Theory]
    [InlineData(1_000_000_001UL)]
    [InlineData(900_000_000UL)]
    [InlineData(ulong.MaxValue >> 1)]
    public void A_list_claiming_a_huge_payload_is_refused_before_it_is_allocated(ulong claimed)
    {
        // A block of 100 bytes decompresses to at most 25,500: a claim beyond that (or beyond the format's 10^9) is damage.
        var blob = Claiming(1, claimed, new byte[100]);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<FormatException>(() => ItemListCodec.Decode(1, blob, 1));
        Assert.Throws<FormatException>(() => ItemListCodec.Check(1, blob, 1));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 1 << 20);
        Assert.Contains("claims a payload", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_list_claiming_fewer_payload_bytes_than_its_items_need_is_refused()
    {
        // 1,000 items take at least 7,001 payload bytes; a block that claims 100 is damage whatever it holds.
        Assert.Throws<FormatException>(() => ItemListCodec.Decode(1, Claiming(1_000, 100, new byte[100]), 1_000));
    }

    private static OrderedDictionary State(int n) => new() { ["cfg"] = new OrderedDictionary { ["lr"] = 0.5 * n, ["name"] = "run-" + n }, ["n"] = n };

    /// <summary>Turns this engine's index into one an engine of schema 2 leaves: every list in layout 1, user_version 2.</summary>
    private void MakeVersion2Index()
    {
        var index = new IndexFile(Path.Combine(_ck, "index.sqlite"));
        using var c = index.Connect();
        var lists = new List<(long Step, byte[] Blob)>();
        using (var read = c.CreateCommand())
        {
            read.CommandText = "SELECT s.step, s.item_count, i.items FROM steps s JOIN step_items i ON i.step = s.step;";
            using var r = read.ExecuteReader();
            while (r.Read())
            {
                lists.Add((r.GetInt64(0), ItemListLayout1.Encode(ItemListCodec.Decode(r.GetInt64(0), (byte[])r[2], (int)r.GetInt64(1)))));
            }
        }

        foreach (var (step, blob) in lists)
        {
            using var put = c.CreateCommand();
            put.CommandText = "UPDATE step_items SET items = $b WHERE step = $s;";
            put.Parameters.AddWithValue("$b", blob);
            put.Parameters.AddWithValue("$s", step);
            put.ExecuteNonQuery();
        }

        using var version = c.CreateCommand();
        version.CommandText = "PRAGMA user_version = 2;";
        version.ExecuteNonQuery();
    }

    private List<long> Layouts()
    {
        using var c = new IndexFile(Path.Combine(_ck, "index.sqlite")).Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT substr(items, 1, 1) FROM step_items ORDER BY step;";
        using var r = cmd.ExecuteReader();
        var layouts = new List<long>();
        while (r.Read())
        {
            layouts.Add(((byte[])r[0])[0]);
        }

        return layouts;
    }

    [Fact]
    public void A_version2_index_with_layout1_lists_is_read_as_it_is_then_upgraded_by_a_save_and_lists_every_step()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
            h.Save(_ck, State(2), step: 2);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        MakeVersion2Index();
        var index = new IndexFile(Path.Combine(_ck, "index.sqlite"));
        Assert.Equal([1L, 1L], Layouts());

        using (var h = new CheckpointHandler())
        {
            // Readers read it and leave it version 2, so an older engine still uses the directory.
            Assert.Equal([1L, 2L], h.ListCheckpoints(_ck).Select(c => c.Step));
            Assert.Equal(["cfg/lr", "cfg/name", "n"], h.GetItems(_ck, 2).Select(i => i.Name));
            Assert.Null(StateComparer.FirstDifference(State(2), h.Restore(_ck, 2)));
            Assert.Empty(h.RepairIndex(_ck, dryRun: true).Problems);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Assert.Equal(2L, index.Scalar("PRAGMA user_version;"));

        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(3), step: 3);
            Assert.Equal([1L, 2L, 3L], h.ListCheckpoints(_ck).Select(c => c.Step));
            Assert.Equal(["cfg/lr", "cfg/name", "n"], h.GetItems(_ck, 1).Select(i => i.Name));
            Assert.Equal(["cfg/lr", "cfg/name", "n"], h.GetItems(_ck, 3).Select(i => i.Name));
            Assert.Null(StateComparer.FirstDifference(State(1), h.Restore(_ck, 1)));
            Assert.Empty(h.RepairIndex(_ck).Problems);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Assert.Equal(3L, index.Scalar("PRAGMA user_version;"));
        Assert.Equal([1L, 1L, 2L], Layouts());
        Assert.Empty(Directory.GetFiles(_ck, "index.sqlite.damaged*"));
    }

    [Fact]
    public void A_newer_index_opened_read_only_is_refused_as_a_newer_format_not_as_damage()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        new IndexFile(Path.Combine(_ck, "index.sqlite")).Execute("PRAGMA user_version = 4;");

        // What an engine of schema 2 does with this engine's index of schema 3, and this engine with one of 4.
        var e = Assert.Throws<UnsupportedFormatVersionException>(() => StepIndex.OpenReadOnly(_ck)?.Dispose());
        Assert.Equal((4, 3), (e.StepVersion, e.SupportedVersion));
        Assert.Throws<UnsupportedFormatVersionException>(() => StepIndex.Open(_ck, create: false, upgrade: false).Dispose());
    }
}
