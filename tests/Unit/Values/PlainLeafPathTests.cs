using System.Collections;
using System.Text;
using System.Text.Json;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// The encoder writes a dictionary entry or list element whose key and value are plain (ASCII letters,
/// digits and a few safe signs; int, long, double, bool, short strings) as one raw JSON value
/// (docs/performance-notes.md, round 31). These tests hold it to the bytes the general path writes token
/// by token with <see cref="Utf8JsonWriter"/> (docs/format.md §6), to the same item names, and to a
/// round trip at the edges: keys and strings that need JSON or item-name escapes, long and empty ones,
/// non-ASCII text, extreme integers, NaN payloads and signed zeros, nested empties.
/// </summary>
public sealed class PlainLeafPathTests
{
    private static readonly object?[] EdgeValues =
    [
        0, -1, int.MinValue, int.MaxValue,
        0L, long.MinValue, long.MaxValue,
        0.0, -0.0, double.NaN, BitConverter.UInt64BitsToDouble(0x7ff8_0000_0000_0123), BitConverter.UInt64BitsToDouble(0xfff0_0000_0000_0001),
        double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, double.MaxValue, Math.PI,
        true, false,
        string.Empty, "run-1", new string('x', 64), new string('y', 65), "a b.c:d,e_f-G9",
    ];

    /// <summary>The node of one leaf as the general path writes it (WriteScalar, WriteBooleanValue, WriteString).</summary>
    private static void WriteReferenceLeaf(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case int i:
                w.WriteStartObject();
                w.WriteString("t", "i32");
                w.WriteNumber("v", i);
                w.WriteEndObject();
                break;
            case long l:
                w.WriteStartObject();
                w.WriteString("t", "i64");
                w.WriteString("v", l.ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.WriteEndObject();
                break;
            case double d:
                w.WriteStartObject();
                w.WriteString("t", "f64");
                w.WriteString("b", BitConverter.DoubleToUInt64Bits(d).ToString("x16", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteEndObject();
                break;
            case bool b:
                w.WriteBooleanValue(b);
                break;
            case string s:
                w.WriteStringValue(s);
                break;
            default:
                throw new ArgumentException("not a leaf of this test", nameof(value));
        }
    }

    private static string Entries(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            write(w);
            w.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The encoder's node of a state, and its item names in order.</summary>
    private static (string Node, List<string> Names) Encode(object state)
    {
        var encoded = StateEncoder.Encode(state, null);
        try
        {
            var names = encoded.Items.Select(i => i.Name).ToList();
            return (DataraxCkpt.Tests.Support.EncodedNode.TextOf(encoded), names);
        }
        finally
        {
            encoded.Release();
        }
    }

    /// <summary>The JSON array that follows <paramref name="field"/> in a container node (its entries or elements).</summary>
    private static string ArrayOf(string node, string field)
    {
        using var doc = JsonDocument.Parse(node);
        return doc.RootElement.GetProperty(field).GetRawText();
    }

    [Fact]
    public void Every_printable_ASCII_character_in_a_key_or_a_string_value_gives_the_general_writers_bytes_and_item_name()
    {
        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var c = (char)0x20; c < 0x7F; c++)
        {
            state[$"k{c}{(int)c}"] = (int)c;
            state[$"s{(int)c}"] = $"v{c}w";
        }

        var (node, names) = Encode(state);

        var expected = Entries(w =>
        {
            foreach (var pair in state)
            {
                w.WriteStartArray();
                w.WriteStringValue(pair.Key);
                WriteReferenceLeaf(w, pair.Value);
                w.WriteEndArray();
            }
        });
        Assert.Equal(expected, ArrayOf(node, "e"));
        Assert.Equal(state.Keys.Select(ItemNames.Escape), names);
    }

    [Fact]
    public void Edge_values_under_plain_keys_and_as_list_elements_give_the_general_writers_bytes()
    {
        var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < EdgeValues.Length; i++)
        {
            dict["v" + i] = EdgeValues[i];
        }

        var (node, names) = Encode(dict);
        Assert.Equal(Entries(w =>
        {
            foreach (var pair in dict)
            {
                w.WriteStartArray();
                w.WriteStringValue(pair.Key);
                WriteReferenceLeaf(w, pair.Value);
                w.WriteEndArray();
            }
        }), ArrayOf(node, "e"));
        Assert.Equal(dict.Keys, names);

        // Mixed types keep an object[] element by element (not a tensor); nested under a key, names are "l/0"...
        var list = EdgeValues.ToArray();
        var (listNode, listNames) = Encode(new Dictionary<string, object?> { ["l"] = list });
        using var doc = JsonDocument.Parse(listNode);
        var elements = doc.RootElement.GetProperty("e")[0][1].GetProperty("i").GetRawText();
        Assert.Equal(Entries(w =>
        {
            foreach (var v in list)
            {
                WriteReferenceLeaf(w, v);
            }
        }), elements);
        Assert.Equal(Enumerable.Range(0, list.Length).Select(i => "l/" + i), listNames);
    }

    [Fact]
    public void Item_names_and_sizes_of_plain_leaves_match_those_of_leaves_the_general_path_writes()
    {
        // "a+" and "é" take the general path (a JSON escape), "ok" the plain one; each name and size is the format's.
        var state = new Hashtable
        {
            ["cfg"] = new Hashtable { ["ok"] = 1L, ["a+"] = 1L, ["é"] = "x", ["s"] = "text", ["b"] = true, ["d"] = 1.5 },
        };
        var encoded = StateEncoder.Encode(state, null);
        try
        {
            var items = encoded.Items.ToDictionary(i => i.Name);
            Assert.Equal(("scalar", "i64", 8L), (items["cfg/ok"].Kind, items["cfg/ok"].DType, items["cfg/ok"].Size));
            Assert.Equal(("scalar", "i64", 8L), (items["cfg/a+"].Kind, items["cfg/a+"].DType, items["cfg/a+"].Size));
            Assert.Equal(("string", "str", 8L), (items["cfg/s"].Kind, items["cfg/s"].DType, items["cfg/s"].Size));
            Assert.Equal(("scalar", "bool", 1L), (items["cfg/b"].Kind, items["cfg/b"].DType, items["cfg/b"].Size));
            Assert.Equal(("scalar", "f64", 8L), (items["cfg/d"].Kind, items["cfg/d"].DType, items["cfg/d"].Size));
            Assert.Equal(("string", "str", 2L), (items["cfg/é"].Kind, items["cfg/é"].DType, items["cfg/é"].Size));
            Assert.Equal(8 + 8 + 8 + 1 + 8 + 2, encoded.Size);
        }
        finally
        {
            encoded.Release();
        }
    }

    [Fact]
    public void A_state_of_edge_keys_and_values_restores_exactly()
    {
        var longKey = new string('k', 300);
        var state = new Hashtable
        {
            [""] = 1,
            ["ключ"] = 2,
            ["日本"] = "値",
            ["😀"] = "😀",
            ["a\"b"] = "q\"uote",
            ["back\\slash"] = "c:\\dir",
            ["<tag>&'+`"] = "<v>&'+`",
            ["a/b"] = 3L,
            ["~x"] = -0.0,
            ["tab\tnl\n"] = "\u0001\u007f",
            [longKey] = long.MaxValue,
            [new string('p', 64)] = new string('q', 64),
            [new string('p', 65)] = new string('q', 65),
            ["min"] = int.MinValue,
            ["lmin"] = long.MinValue,
            ["nan"] = BitConverter.UInt64BitsToDouble(0x7ff8_0000_0000_0123),
            ["zero"] = 0.0,
            ["inf"] = double.NegativeInfinity,
            ["flags"] = new object?[] { true, false, null, "", 7, 8L, -0.0 },
            ["emptyMap"] = new Hashtable(),
            ["emptyList"] = Array.Empty<object?>(),
            ["nested"] = new Hashtable { ["inner"] = new Hashtable { ["deep"] = new object?[] { new Hashtable(), "x" } } },
        };

        using var dir = new TempDirectory();
        using var handler = new CheckpointHandler();
        handler.Save(dir.Path, state, step: 1);
        var restored = (Hashtable)handler.Restore(dir.Path, 1)!;

        Assert.Null(StateComparer.FirstDifference(state, restored));
        Assert.Equal(BitConverter.DoubleToUInt64Bits(-0.0), BitConverter.DoubleToUInt64Bits((double)restored["~x"]!));
        Assert.Equal(0x7ff8_0000_0000_0123UL, BitConverter.DoubleToUInt64Bits((double)restored["nan"]!));
        Assert.Equal(BitConverter.DoubleToUInt64Bits(-0.0), BitConverter.DoubleToUInt64Bits((double)((object?[])restored["flags"]!)[6]!));

        var names = handler.GetItems(dir.Path, 1).Select(i => i.Name).ToHashSet();
        Assert.Contains("~e", names);
        Assert.Contains("a~1b", names);
        Assert.Contains("~0x", names);
        Assert.Contains(longKey, names);
        Assert.Contains("flags/6", names);
        Assert.Contains("nested/inner/deep/1", names);
    }

    [Fact]
    public void Plain_leaves_under_parents_longer_than_the_name_buffer_and_beside_shorter_siblings_get_their_own_full_names()
    {
        // The plain path composes "parent/key" in one reused buffer (128 characters at first): a long parent
        // makes it grow, and a shorter name after a longer one must not keep the longer one's tail.
        var longParent = new string('p', 64);
        var deep = new Hashtable();
        var chain = deep;
        var expected = new List<string>();
        var prefix = "top";
        for (var level = 0; level < 10; level++)
        {
            var next = new Hashtable();
            chain[longParent + level] = new object?[] { 1, "s", new Hashtable { ["k"] = 2L }, next };
            prefix += "/" + longParent + level;
            expected.Add(prefix + "/0");
            expected.Add(prefix + "/1");
            expected.Add(prefix + "/2/k");
            prefix += "/3";
            chain = next;
        }

        chain["z"] = true;
        expected.Add(prefix + "/z");
        var state = new Dictionary<string, object?>(StringComparer.Ordinal) { ["top"] = deep, ["a"] = 1, ["bb"] = "x" };
        expected.Add("a");
        expected.Add("bb");

        var (_, names) = Encode(state);

        Assert.Equal(expected, names);
        Assert.True(expected[^3].Length > 4 * 128, "the deepest name is several times the buffer's first size");
    }
}
