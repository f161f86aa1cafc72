using System.Buffers.Binary;
using System.Collections.Specialized;
using System.Diagnostics;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using K4os.Hash.xxHash;
using Xunit.Abstractions;
using static DataraxCkpt.Storage.ItemListBlobs;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Attack 21 on item-list layout 2 (front-coded names, one LZ4 block, XXH64) and index schema 3: hostile blobs with a
/// valid checksum, UTF-8 split at the front-coding boundary, a kill during the 2 -> 3 upgrade, the size limit at its
/// bound, and the cost of finishing a 100,000-leaf list on the save's path.
/// </summary>
public sealed class Attack21ItemListTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;
    private readonly ITestOutputHelper _out;

    public Attack21ItemListTests(ITestOutputHelper output)
    {
        _out = output;
        _ck = Path.GetFullPath(_dir.Sub("ck"));
    }

    public void Dispose() => _dir.Dispose();

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

    [Fact]
    public void A_small_layout2_list_whose_front_coded_names_exceed_the_name_limit_is_refused_as_damage()
    {
        // Each name is the previous one and one byte more: ~9 payload bytes an item, and n*(n+1)/2 characters of names.
        // 23,200 items make 269,131,600 characters, just over the format's 2^28 for a step's names (docs/format.md §6.4),
        // which a layout-1 list could reach only by storing them (a gigabyte blob); here a blob of a few kilobytes.
        const int n = 23_200;
        var blob = Layout2((ulong)n, Payload(Enumerable.Range(0, n).Select(i => ((ulong)i, new[] { (byte)'a' }))), level: K4os.Compression.LZ4.LZ4Level.L12_MAX);
        _out.WriteLine($"blob {blob.Length:N0} bytes for {(long)n * (n + 1) / 2:N0} characters of names");
        Assert.True(blob.Length < 1 << 20);

        long chars = 0;
        var e = Record.Exception(() =>
        {
            var items = ItemListCodec.Decode(1, blob, n);
            chars = items.Sum(i => (long)i.Name.Length);
        });

        Assert.True(e is FormatException, $"decoded {chars:N0} characters of names (limit {DataraxCkpt.Values.StateDecoder.MaxItemNameChars:N0}) from a {blob.Length:N0}-byte list instead of refusing it");
    }

    public static TheoryData<string[]> SplitNames() => new()
    {
        // é = C3 A9, ê = C3 AA: they share the lead byte only, so the boundary falls inside a character.
        new[] { "é", "ê", "éé", "éê" },
        // 😀 = F0 9F 98 80, 😁 = F0 9F 98 81: a surrogate pair split after three of its four UTF-8 bytes.
        new[] { "a/😀", "a/😁", "a/😁x", "a/😀" },
        // A lone surrogate between names that share with each other: it is kept as UTF-16 and breaks the chain.
        new[] { "k/日本", "k/日\ud800", "k/日本語", "k/日\udc00x", "k/日本語" },
        new[] { string.Empty, "x", string.Empty, "\ud83d", "\ud83d\ude00", "\ud83d" },
    };

    [Theory]
    [MemberData(nameof(SplitNames))]
    public void Names_sharing_part_of_a_character_read_back_exactly(string[] names)
    {
        var writer = new ItemListCodec.Writer(names.Length);
        foreach (var name in names)
        {
            writer.Add(name, "scalar", "i32", null, 4, 0);
        }

        var got = ItemListCodec.Decode(1, writer.ToArray(), names.Length).Select(i => i.Name).ToArray();
        Assert.Equal(names, got);
        for (var i = 0; i < names.Length; i++)
        {
            Assert.True(string.Equals(names[i], got[i], StringComparison.Ordinal), $"name {i} reads back as other text");
        }
    }

    public static TheoryData<string, byte[][], ulong[]> HostileFrontCoding() => new()
    {
        // A shared length longer than the previous name.
        { "longer than previous", [[0x61, 0x62], [0x63]], [0, 3] },
        // The first name claims to share with a name before it.
        { "first shares", [[0x61]], [1] },
        // é's lead byte kept, then an ASCII byte: the whole name is not UTF-8.
        { "split UTF-8", [[0xC3, 0xA9], [0x41]], [0, 1] },
        // Three of a surrogate pair's four bytes kept, then an ASCII byte.
        { "split pair", [[0xF0, 0x9F, 0x98, 0x80], [0x41]], [0, 3] },
        // An overlong / surrogate encoding assembled across the boundary: ED A0 80 is U+D800 in CESU, not UTF-8.
        { "surrogate assembled", [[0xED], [0xA0, 0x80]], [0, 1] },
    };

    [Fact]
    public void A_checksummed_list_every_reader_refuses_is_damage_the_repair_rebuilds()
    {
        // The repair rebuilds only what its integrity check calls damage: a list that passes the checksum but that
        // listing refuses (here a shared prefix longer than the name before it) must be damage there too, or the step's
        // items stay unreadable with no way back (lead's review of attack 21: the check read only checksum and count).
        using var h = new CheckpointHandler();
        h.Save(_ck, new OrderedDictionary { ["w"] = new float[] { 1, 2, 3 }, ["lr"] = 0.5, ["name"] = "run" }, step: 1);
        h.Save(_ck, new OrderedDictionary { ["w"] = new float[] { 4, 5, 6 }, ["lr"] = 0.25, ["name"] = "run2" }, step: 2);
        var before = h.GetItems(_ck, 2).Select(i => (i.Name, i.Kind, i.Size)).ToList();
        var hostile = Layout2((ulong)3, Payload([(0, "a"u8.ToArray()), (5, "b"u8.ToArray()), (0, "c"u8.ToArray())]), level: K4os.Compression.LZ4.LZ4Level.L12_MAX);
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_ck, "index.sqlite")};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE step_items SET items = $b WHERE step = 2;";
            cmd.Parameters.AddWithValue("$b", hostile);
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }

        Assert.Throws<CorruptCheckpointException>(() => h.GetItems(_ck, 2));
        h.RepairIndex(_ck);
        Assert.NotEmpty(Directory.GetFiles(_ck, "index.sqlite.damaged-*"));
        Assert.Equal(before, h.GetItems(_ck, 2).Select(i => (i.Name, i.Kind, i.Size)).ToList());
    }

    [Theory]
    [MemberData(nameof(HostileFrontCoding))]
    public void Hostile_front_coding_with_a_valid_checksum_is_an_error_not_other_names(string what, byte[][] suffixes, ulong[] shared)
    {
        var blob = Layout2((ulong)suffixes.Length, Payload(suffixes.Select((s, i) => (shared[i], s))), level: K4os.Compression.LZ4.LZ4Level.L12_MAX);
        var e = Record.Exception(() => ItemListCodec.Decode(1, blob, suffixes.Length));
        Assert.True(e is FormatException, $"{what}: {e?.GetType().Name ?? "decoded"}");
    }

    [Fact]
    public void A_list_at_the_limit_is_written_and_one_byte_under_it_is_refused()
    {
        var writer = new ItemListCodec.Writer(1000);
        for (var i = 0; i < 1000; i++)
        {
            writer.Add("cfg/k" + i, "scalar", "i32", null, 4, 0);
        }

        var blob = writer.ToArray();
        var pos = 1;
        while (blob[pos++] >= 0x80)
        {
        }

        long payload = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = blob[pos++];
            payload |= (long)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                break;
            }
        }

        Assert.Equal(blob, writer.ToArray(static _ => 0, payload));
        Assert.Throws<UnsupportedValueException>(() => writer.ToArray(static _ => 0, payload - 1));
        // The blob is a fraction of the payload: a limit between them refuses a list whose stored bytes would fit.
        Assert.True(blob.Length < payload);
    }

    private static OrderedDictionary State(int n) => new() { ["cfg"] = new OrderedDictionary { ["lr"] = 0.5 * n, ["name"] = "run-" + n }, ["n"] = n };

    private void MakeVersion2Index()
    {
        using var c = new IndexFile(Path.Combine(_ck, "index.sqlite")).Connect();
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

    private long UserVersion()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        return new IndexFile(Path.Combine(_ck, "index.sqlite")).Scalar("PRAGMA user_version;");
    }

    [Fact]
    public void A_kill_during_the_2_to_3_upgrade_leaves_version2_readable_and_the_next_write_upgrades_it()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
            h.Save(_ck, State(2), step: 2);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        MakeVersion2Index();

        Assert.Equal(Harness.Killed, Harness.Run("index.upgrade.before-commit", "pin", _ck, "2").ExitCode);
        Assert.Equal(2L, UserVersion());

        using (var h = new CheckpointHandler())
        {
            Assert.Equal([1L, 2L], h.GetCheckpointSteps(_ck));
            Assert.False(h.ListCheckpoints(_ck).Single(c => c.Step == 2).Pinned);
            Assert.Empty(h.RepairIndex(_ck, dryRun: true).Problems);
        }

        Assert.Equal(2L, UserVersion());

        // A save killed right after its rename, in the directory still at version 2: recovery finishes it at version 3.
        Assert.Equal(Harness.Killed, Harness.Run("commit.after-rename", "save", _ck, "3", "7", "2", "16").ExitCode);
        using (var h = new CheckpointHandler())
        {
            h.SetPinned(_ck, 2, true);
            Assert.Equal(3L, UserVersion());
            Assert.True(h.ListCheckpoints(_ck).Single(c => c.Step == 2).Pinned);
            Assert.Equal(["cfg/lr", "cfg/name", "n"], h.GetItems(_ck, 1).Select(i => i.Name));
            Assert.Contains(3L, h.GetCheckpointSteps(_ck));
            Assert.NotEmpty(h.GetItems(_ck, 3));
            Assert.Empty(h.RepairIndex(_ck, dryRun: true).Problems);
            Assert.Null(StateComparer.FirstDifference(State(1), h.Restore(_ck, 1)));
        }

        Assert.Empty(Directory.GetFiles(_ck, "index.sqlite.damaged*"));
    }

    [Fact]
    public void Two_processes_upgrading_a_version2_index_at_once_upgrade_it_once_and_a_reader_at_version2_keeps_reading()
    {
        using (var h = new CheckpointHandler())
        {
            for (var s = 1; s <= 3; s++)
            {
                h.Save(_ck, State(s), step: s);
            }
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        MakeVersion2Index();

        // A reader that opened the index at version 2 before anyone upgraded it.
        using var reader = StepIndex.Open(_ck, create: false, upgrade: false);
        Assert.Equal(3, reader.All().Count);

        var a = Harness.Start(null, "pin", _ck, "1");
        var b = Harness.Start(null, "pin", _ck, "2");
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(4), step: 4);
        }

        Assert.Equal(0, Harness.Wait(a).ExitCode);
        Assert.Equal(0, Harness.Wait(b).ExitCode);

        // The reader still at version 2 reads the new layout-2 list beside the old layout-1 ones.
        Assert.Equal(["cfg/lr", "cfg/name", "n"], reader.Items(4).Select(i => i.Name));
        Assert.Equal(["cfg/lr", "cfg/name", "n"], reader.Items(1).Select(i => i.Name));
        Assert.Equal(3L, UserVersion());
        using var after = new CheckpointHandler();
        Assert.Equal([true, true, false, false], after.ListCheckpoints(_ck).OrderBy(c => c.Step).Select(c => c.Pinned));
        Assert.Empty(after.RepairIndex(_ck, dryRun: true).Problems);
    }

    [Fact]
    public void Finishing_a_100000_leaf_list_takes_milliseconds_not_a_save()
    {
        var names = Enumerable.Range(0, 100_000).Select(i => "cfg/layer" + (i / 100) + "/k" + i).ToArray();
        double Best(Func<int> run)
        {
            var best = double.MaxValue;
            for (var r = 0; r < 7; r++)
            {
                var sw = Stopwatch.StartNew();
                _ = run();
                best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
            }

            return best;
        }

        var items = names.Select(n => new CheckpointItemInfo(1, n, "scalar", "i32", null, 4, 0)).ToList();
        var addAndFinish = Best(() =>
        {
            var w = new ItemListCodec.Writer(names.Length);
            foreach (var n in names)
            {
                w.Add(n, "scalar", "i32", null, 4, 0);
            }

            return w.ToArray().Length;
        });
        var layout1 = Best(() => ItemListLayout1.Encode(items).Length);
        var finishOnly = new ItemListCodec.Writer(names.Length);
        foreach (var n in names)
        {
            finishOnly.Add(n, "scalar", "i32", null, 4, 0);
        }

        var finish = Best(() => finishOnly.ToArray().Length);
        _out.WriteLine($"layout 2 add+finish {addAndFinish:F1} ms, finish (LZ4) only {finish:F1} ms, layout-1 encode (reference) {layout1:F1} ms");
        Assert.True(finish < 100, $"finishing took {finish:F1} ms");
    }
}
