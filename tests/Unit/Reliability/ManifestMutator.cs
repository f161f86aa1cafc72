using System.Text;
using System.Text.Json.Nodes;

namespace DataraxCkpt.Tests.Reliability;

/// <summary>
/// Seeded mutations of a valid manifest for the fuzzer: byte-level (flip, insert, delete, duplicate)
/// and JSON-aware (replace a node by an interesting value, drop a member, duplicate or swap array
/// elements). Every mutation is a pure function of (manifest, seed), so a failing case reproduces alone.
/// </summary>
public static class ManifestMutator
{
    public const int JsonAwareKinds = 3;
    public const int ByteKinds = 4;

    private const string Structural = "{}[],:\"\\-0e.";

    private static readonly string[] Interesting =
    [
        "-1", "0", "1", "2147483647", "2147483648", "-2147483649", "9223372036854775807", "-9223372036854775808",
        "18446744073709551616", "1e308", "1e400", "-0.0", "1.5", "\"\"", "\"x\"", "\"../../outside\"", "\"\\u0000\"",
        "\"C:\\\\Windows\"", "\"f32\"", "\"f32[,,]\"", "\"tensor\"", "\"list<any>\"", "\"dict<str,any>\"", "\"tensor<f64>\"",
        "null", "true", "false", "[]", "{}", "[[[[]]]]", "[0,1,2]", "[-1,-1,-1]", "{\"t\":\"tensor\",\"ct\":\"f32[]\",\"i\":0}",
        "{\"t\":\"str\",\"b\":\"AAA=\"}", "{\"t\":\"i64\",\"v\":\"-\"}", "{\"t\":\"datetime\",\"ticks\":\"-5\",\"kind\":\"Utc\"}",
    ];

    /// <summary>Byte-level mutation of the raw JSON; returns the mutated bytes and what was done.</summary>
    public static (byte[] Json, string What) Bytes(byte[] json, Random r)
    {
        var list = new List<byte>(json);
        var kind = r.Next(ByteKinds);
        var at = r.Next(list.Count);
        switch (kind)
        {
            case 0:
                var flips = r.Next(1, 5);
                for (var i = 0; i < flips; i++)
                {
                    var p = r.Next(list.Count);
                    list[p] ^= (byte)(1 << r.Next(8));
                }

                return (list.ToArray(), $"flip {flips} bits from {at}");
            case 1:
                var inserted = new byte[r.Next(1, 9)];
                r.NextBytes(inserted);
                if (r.Next(2) == 0)
                {
                    // Structural characters find parser paths random bytes rarely reach.
                    for (var i = 0; i < inserted.Length; i++)
                    {
                        inserted[i] = (byte)Structural[r.Next(Structural.Length)];
                    }
                }

                list.InsertRange(at, inserted);
                return (list.ToArray(), $"insert {inserted.Length} bytes at {at}");
            case 2:
                var count = Math.Min(r.Next(1, 17), list.Count - at);
                list.RemoveRange(at, count);
                return (list.ToArray(), $"delete {count} bytes at {at}");
            default:
                var length = Math.Min(r.Next(1, 64), list.Count - at);
                var slice = list.GetRange(at, length);
                list.InsertRange(r.Next(list.Count), slice);
                return (list.ToArray(), $"duplicate {length} bytes from {at}");
        }
    }

    /// <summary>JSON-aware mutation; the result is valid JSON so the validator and decoder are reached.</summary>
    public static (byte[] Json, string What) Json(byte[] json, Random r)
    {
        var root = JsonNode.Parse(json)!;
        var slots = new List<(JsonNode Parent, object Key, string Path)>();
        Collect(root, "$", slots);
        var (parent, key, path) = slots[r.Next(slots.Count)];
        string what;
        switch (r.Next(JsonAwareKinds))
        {
            case 0:
                var value = Interesting[r.Next(Interesting.Length)];
                Set(parent, key, JsonNode.Parse(value));
                what = $"set {path} = {value}";
                break;
            case 1:
                if (parent is JsonObject o)
                {
                    o.Remove((string)key);
                }
                else
                {
                    ((JsonArray)parent).RemoveAt((int)key);
                }

                what = $"remove {path}";
                break;
            default:
                if (parent is JsonArray a && a.Count > 0)
                {
                    var other = r.Next(a.Count);
                    if (r.Next(2) == 0)
                    {
                        a.Add(a[(int)key]?.DeepClone());
                        what = $"duplicate {path}";
                    }
                    else
                    {
                        var x = a[(int)key]?.DeepClone();
                        a[(int)key] = a[other]?.DeepClone();
                        a[other] = x;
                        what = $"swap {path} with [{other}]";
                    }
                }
                else
                {
                    var copy = parent[(string)key]?.DeepClone();
                    ((JsonObject)parent)[(string)key + "x"] = copy;
                    what = $"add a copy of {path}";
                }

                break;
        }

        return (Encoding.UTF8.GetBytes(root.ToJsonString()), what);
    }

    private static void Set(JsonNode parent, object key, JsonNode? value)
    {
        if (parent is JsonObject o)
        {
            o[(string)key] = value;
        }
        else
        {
            ((JsonArray)parent)[(int)key] = value;
        }
    }

    private static void Collect(JsonNode node, string path, List<(JsonNode, object, string)> slots)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in o.ToList())
                {
                    slots.Add((o, name, $"{path}.{name}"));
                    if (child is not null)
                    {
                        Collect(child, $"{path}.{name}", slots);
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    slots.Add((a, i, $"{path}[{i}]"));
                    if (a[i] is { } child)
                    {
                        Collect(child, $"{path}[{i}]", slots);
                    }
                }

                break;
        }
    }
}
