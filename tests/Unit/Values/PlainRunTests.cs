using System.Collections;
using System.Collections.Specialized;
using System.Text;
using System.Text.Json;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// After the first plain entry or element of a container, the encoder writes the following plain ones straight into
/// the node's buffer, past the JSON writer (<see cref="PlainRun"/>). These tests hold a container of many entries to
/// the bytes and items of its entries encoded one container each (where no run ever starts): runs broken by general
/// entries at every position, nested containers between plain siblings (the cached "parent/" of item names must
/// follow), escapes, lone surrogates, long text, extreme numbers, and the metadata node.
/// </summary>
public sealed class PlainRunTests
{
    private static readonly string[] Keys =
    [
        "k1", "a b", "x-y_z.w:v,u", "é", "a\"b", "a/b", "~t", "", new string('k', 64), new string('l', 65), "lone\ud800", "UP9",
    ];

    private static object? Value(Random r, int depth)
    {
        switch (r.Next(depth < 3 ? 22 : 18))
        {
            case 0: return r.Next(int.MinValue, int.MaxValue);
            case 1: return r.NextInt64(long.MinValue, long.MaxValue);
            case 2: return new[] { double.NaN, -0.0, 0.0, double.PositiveInfinity, double.Epsilon, double.MaxValue, -1.25 }[r.Next(7)];
            case 3: return r.Next(2) == 0;
            case 4: case 5: return "run-" + r.Next(100);
            case 6: return string.Empty;
            case 7: return new string('s', 64);
            case 8: return new string('t', 65);
            case 9: return "é<&>";
            case 10: return "q\"uote\\";
            case 11: return "x\udc00";
            case 12: return null;
            case 13: return 1.5m;
            case 14: return (short)r.Next(-9, 9);
            case 15: return int.MinValue;
            case 16: return long.MaxValue;
            case 17: return r.Next(1000);
            case 18: return Container(r, depth + 1, r.Next(24));
            case 19: return new object?[] { 1, "a", 2.5, null, true };
            case 20: return new Hashtable { ["only"] = 7 };
            default: return new List<object?>();
        }
    }

    private static object Container(Random r, int depth, int count)
    {
        var entries = Enumerable.Range(0, count).Select(i => (Key: r.Next(3) == 0 ? Keys[r.Next(Keys.Length)] + i : "k" + i, Value: Value(r, depth))).ToList();
        switch (r.Next(4))
        {
            case 0:
                var ordered = new OrderedDictionary();
                entries.ForEach(e => ordered[e.Key] = e.Value);
                return ordered;
            case 1:
                return entries.Select(e => e.Value).ToArray();
            case 2:
                return entries.Select(e => e.Value).ToList();
            default:
                var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                entries.ForEach(e => dict[e.Key] = e.Value);
                return dict;
        }
    }

    /// <summary>The same container kind holding only <paramref name="index"/>'s entry or element.</summary>
    private static object Single(object container, int index) => container switch
    {
        OrderedDictionary o => new OrderedDictionary { [o.Cast<DictionaryEntry>().ElementAt(index).Key] = o[index] },
        object?[] a => new[] { a[index] },
        List<object?> l => new List<object?> { l[index] },
        Dictionary<string, object?> d => new Dictionary<string, object?>(StringComparer.Ordinal) { [d.ElementAt(index).Key] = d.ElementAt(index).Value },
        _ => throw new ArgumentException("not a container of this test", nameof(container)),
    };

    private static int CountOf(object container) => ((ICollection)container).Count;

    /// <summary>The raw JSON of each entry or element of the root container's node, and the step's items as text.</summary>
    private static (List<string> Entries, List<string> Items, string Node) Encode(object state)
    {
        var encoded = StateEncoder.Encode(new Dictionary<string, object?> { ["p"] = state }, new Dictionary<string, object?> { ["m"] = state });
        try
        {
            var items = encoded.Items.Select(i => $"{i.Name}|{i.Kind}|{i.DType}|{i.Size}").ToList();
            var node = Support.EncodedNode.TextOf(encoded);
            using var doc = JsonDocument.Parse(node);
            var inner = doc.RootElement.GetProperty("e")[0][1];
            var list = inner.TryGetProperty("e", out var e) ? e : inner.GetProperty("i");
            return (list.EnumerateArray().Select(x => x.GetRawText()).ToList(), items, node);
        }
        finally
        {
            encoded.Release();
        }
    }

    private static string Metadata(object container)
    {
        var encoded = StateEncoder.Encode(null, new Dictionary<string, object?> { ["m"] = container });
        try
        {
            return Encoding.UTF8.GetString(encoded.MetadataNode.Span);
        }
        finally
        {
            encoded.Release();
        }
    }

    [Fact]
    public void A_container_of_plain_runs_broken_anywhere_writes_the_bytes_and_items_of_its_entries_written_one_by_one()
    {
        for (var seed = 0; seed < 400; seed++)
        {
            var r = new Random(seed);
            var container = Container(r, 0, r.Next(1, 48));
            var (entries, items, node) = Encode(container);
            var expectedEntries = new List<string>();
            var expectedItems = new List<string>();
            for (var i = 0; i < CountOf(container); i++)
            {
                var (one, oneItems, _) = Encode(Single(container, i));
                expectedEntries.AddRange(one);

                // A list's element is named by its index, which the single copy's is not: name the leaf as the index.
                expectedItems.AddRange(container is IList ? oneItems.Select(x => "p/" + i + x[3..]) : oneItems);
            }

            Assert.Equal(expectedEntries, entries);
            Assert.Equal(expectedItems, items);

            // The node is exactly its entries joined: no separator lost or doubled where a run starts or ends.
            Assert.Contains("[" + string.Join(",", entries) + "]", node, StringComparison.Ordinal);
            var metadata = Metadata(container);
            Assert.Contains("[" + string.Join(",", entries) + "]", metadata, StringComparison.Ordinal);
        }
    }
}
