using System.Collections;
using System.Collections.Specialized;
using System.Globalization;
using System.Text;
using System.Text.Json;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// The restore of many scalar leaves (issue 15 (h)): dictionaries are created at the size their entry array
/// gives, and decoding a leaf allocates only the value itself. The checks a smaller table or a lambda per
/// leaf made must hold as before: duplicate keys, out-of-range times, the comparer and the order.
/// </summary>
public sealed class ScalarLeafDecodeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static StateDecoder Decoder() => new((_, _, item) => throw new InvalidOperationException($"no tensor expected, asked for '{item}'"));

    private static object? Decode(string stateJson)
    {
        using var doc = JsonDocument.Parse(stateJson);
        return Decoder().Decode(doc.RootElement);
    }

    private static string IntTable(int count, string type = "hashtable")
    {
        var json = new StringBuilder($$"""{"t":"{{type}}","cmp":"ordinal","e":[""");
        for (var i = 0; i < count; i++)
        {
            json.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture, $$"""["k{{i}}",{"t":"i32","v":{{i}}}]""");
        }

        return json.Append("]}").ToString();
    }

    [Fact]
    public void Dictionaries_of_many_entries_restore_every_entry_with_their_comparer_and_order()
    {
        var table = new Hashtable(StringComparer.OrdinalIgnoreCase);
        var ordered = new OrderedDictionary(StringComparer.Ordinal);
        var generic = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var plain = new Dictionary<string, double>();
        for (var i = 0; i < 5000; i++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"Key{(i * 7919) % 5000}");
            table[key] = i;
            ordered[key] = i;
            generic[key] = i;
            plain[key] = i * 0.5;
        }

        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, new Dictionary<string, object?> { ["t"] = table, ["o"] = ordered, ["g"] = generic, ["p"] = plain }, step: 1);
        var back = (Dictionary<string, object?>)handler.Restore(ck, 1)!;

        var t = Assert.IsType<Hashtable>(back["t"]);
        Assert.Equal(5000, t.Count);
        Assert.Equal(table["key17"], t["KEY17"]);
        var o = Assert.IsType<OrderedDictionary>(back["o"]);
        Assert.Equal(ordered.Keys.Cast<string>(), o.Keys.Cast<string>());
        Assert.Null(o["KEY17"]);
        var g = Assert.IsType<Dictionary<string, int>>(back["g"]);
        Assert.Equal(generic["key42"], g["KEY42"]);
        Assert.Equal(5000, g.Count);
        var p = Assert.IsType<Dictionary<string, double>>(back["p"]);
        Assert.Equal(plain.OrderBy(e => e.Key, StringComparer.Ordinal), p.OrderBy(e => e.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void A_duplicate_key_in_a_large_table_is_still_reported_as_corrupt_data()
    {
        var json = IntTable(3000).Replace("\"k2999\"", "\"k5\"", StringComparison.Ordinal);
        var e = Assert.Throws<InvalidDataException>(() => Decode(json));
        Assert.Equal("duplicate key 'k5'", e.Message);
    }

    [Fact]
    public void An_ordered_table_with_a_duplicate_key_is_still_reported_as_corrupt_data()
    {
        var json = IntTable(100, "ordered").Replace("\"k99\"", "\"k0\"", StringComparison.Ordinal);
        Assert.Equal("duplicate key 'k0'", Assert.Throws<InvalidDataException>(() => Decode(json)).Message);
    }

    [Theory]
    [InlineData("""{"t":"hashtable","e":[["at",{"t":"datetime","kind":"Utc","ticks":"3155378976000000000"}]]}""")]
    [InlineData("""{"t":"hashtable","e":[["at",{"t":"dto","offsetMinutes":900,"ticks":"0"}]]}""")]
    public void A_time_out_of_range_is_corrupt_data_naming_its_item(string json)
    {
        var e = Assert.Throws<InvalidDataException>(() => Decode(json));
        Assert.EndsWith("(item 'at')", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Times_in_range_still_restore_with_their_kind_and_offset()
    {
        var back = (Hashtable)Decode("""{"t":"hashtable","e":[["d",{"t":"datetime","kind":"Local","ticks":"630822816000000000"}],["o",{"t":"dto","offsetMinutes":-90,"ticks":"630822816000000000"}]]}""")!;
        Assert.Equal(new DateTime(630822816000000000, DateTimeKind.Local), back["d"]);
        Assert.Equal(new DateTimeOffset(630822816000000000, TimeSpan.FromMinutes(-90)), back["o"]);
    }

    /// <summary>
    /// What a table of int leaves must allocate: the key strings, the boxed ints and the table's buckets, about
    /// 100 bytes a leaf. A closure per decoded node (64 bytes) and the arrays a growing table leaves behind
    /// (about 40 bytes a leaf) took it to over 200.
    /// </summary>
    [Fact]
    public void Decoding_a_table_of_int_leaves_allocates_little_beyond_the_keys_values_and_table()
    {
        const int Leaves = 20_000;
        using var doc = JsonDocument.Parse(IntTable(Leaves));
        _ = Decoder().Decode(doc.RootElement);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var table = (Hashtable)Decoder().Decode(doc.RootElement)!;
        var perLeaf = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Leaves;

        Assert.Equal(Leaves, table.Count);
        Assert.True(perLeaf < 140, $"{perLeaf:F0} bytes allocated per leaf");
    }
    /// <summary>
    /// A dictionary is presized from the length of its entry array, but that array is not yet checked: a
    /// hostile manifest of a few KiB on disk (millions of <c>0</c> elements compress to almost nothing) must
    /// not make a restore or a verify allocate a table of hundreds of MB before the first entry is refused
    /// (found by the attack on the index branch).
    /// </summary>
    [Theory]
    [InlineData("hashtable")]
    [InlineData("ordered")]
    [InlineData("dict<str,i32>")]
    public void An_entry_array_of_millions_of_non_pairs_is_refused_without_a_table_of_its_length(string type)
    {
        const int Elements = 4_000_000;
        var json = new StringBuilder($$"""{"t":"{{type}}","e":[0""", 2 * Elements + 32);
        for (var i = 1; i < Elements; i++)
        {
            json.Append(",0");
        }

        using var doc = JsonDocument.Parse(json.Append("]}").ToString());
        var decoder = Decoder();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => decoder.Decode(doc.RootElement));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.StartsWith("entry is not a [key, value] pair", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 16L << 20, $"{allocated >> 20} MiB allocated before the first entry was refused");
    }
    /// <summary>
    /// An integer leaf whose stored value does not fit its type is corrupt data naming the leaf, on the i32
    /// fast path as in the switch, not an OverflowException that names nothing (found by the attack on the
    /// index branch).
    /// </summary>
    [Theory]
    [InlineData("i32", "2147483648")]
    [InlineData("i32", "-2147483649")]
    [InlineData("i8", "128")]
    [InlineData("u8", "-1")]
    [InlineData("u16", "65536")]
    [InlineData("u32", "4294967296")]
    [InlineData("char", "-1")]
    public void An_integer_leaf_out_of_its_range_is_corrupt_data_naming_its_item(string type, string value)
    {
        var e = Assert.Throws<InvalidDataException>(() => Decode($$"""{"t":"hashtable","e":[["n",{"t":"{{type}}","v":{{value}}}]]}"""));
        Assert.Equal($"{type} value {value} is out of range (item 'n')", e.Message);
    }

    [Theory]
    [InlineData("1.0")]
    [InlineData("1e3")]
    [InlineData("\"5\"")]
    [InlineData("true")]
    public void An_i32_leaf_that_is_not_an_integer_literal_is_corrupt_data_naming_its_item(string value)
    {
        var e = Assert.Throws<InvalidDataException>(() => Decode($$"""{"t":"hashtable","e":[["n",{"t":"i32","v":{{value}}}]]}"""));
        Assert.Equal("integer value is missing (item 'n')", e.Message);
    }
}
