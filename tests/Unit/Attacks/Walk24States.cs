using System.Collections;
using System.Collections.Specialized;
using System.Numerics;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Deterministic states aimed at the walk's runs of plain values (round 68): containers of 15/16/17+ entries of every
/// dictionary kind and comparer, runs broken by each non-plain value or key at every position, runs at the start and
/// end, nodes and runs crossing the streamed manifest's 64 KiB pieces, long text, depth 198-201, long shared item-name
/// prefixes. Grouped; <see cref="Walk24MainBytesTests"/> holds main's (068ca73) SHA-256 of each group's node, metadata
/// node and item list bytes, computed by main's engine from these same states.
/// </summary>
internal static class Walk24States
{
    /// <summary>
    /// Whether the states avoid Hashtables, whose order of string keys changes from process to process (randomised string
    /// hashing): the hashes recorded from main are of states without them; the same-process comparison uses them.
    /// </summary>
    [ThreadStatic]
    public static bool Deterministic;

    private static IDictionary NewHashtable(IEqualityComparer? comparer = null) =>
        Deterministic ? new OrderedDictionary(comparer) : new Hashtable(comparer);

    public static object?[] Breakers() =>
    [
        null, NewHashtable1(), new List<object?> { 1, 2 }, Array.Empty<object?>(), new double[] { 1, 2 }, PrngKey.Create(42),
        new BigInteger(long.MaxValue) * 1000, 1.5m, 'c', new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc), DateTimeOffset.UnixEpoch,
        (short)3, (byte)4, 1.5f, "", "é", "a\"b", "a\\b", "a\u2028b", "\u007f", "lone\ud800", new string('s', 65), "a/b", "~", "<&>",
        new OrderedDictionary(), new Dictionary<string, object?>(), Guid.Empty, TimeSpan.FromSeconds(1), 5u, ulong.MaxValue,
        new List<object?> { "x", 1, 2.5, true, null, 7L, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18 },
    ];

    private static IDictionary NewHashtable1()
    {
        var h = NewHashtable();
        h["x"] = 1;
        return h;
    }

    public static readonly string[] BadKeys =
        ["", "é", "a\"b", "a\\b", "a\u2028b", "\u007f", "\u0001", "lone\ud800", "\udc00x", new string('k', 65), "a/b", "~t", "<", "+", "`", "'", "&", "k\u0000", "\t"];

    public static object Plain(int i) => (i % 7) switch
    {
        0 => i,
        1 => (long)i * 1000000007L,
        2 => i * 0.5,
        3 => i % 2 == 0,
        4 => "v" + i,
        5 => new string('p', 64),
        _ => -i,
    };

    private static readonly Func<IDictionary>[] Kinds =
    [
        () => NewHashtable(), () => new OrderedDictionary(), () => new Dictionary<string, object?>(),
        () => new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase), () => NewHashtable(StringComparer.OrdinalIgnoreCase),
        () => new Dictionary<string, int>(), () => new Dictionary<string, string>(), () => new Dictionary<object, object?>(),
        () => new OrderedDictionary(StringComparer.InvariantCultureIgnoreCase), () => new Dictionary<string, long>(StringComparer.Ordinal),
        () => new Dictionary<string, double>(), () => new Dictionary<string, bool>(),
    ];

    private static object KindValue(IDictionary d, int i) => d switch
    {
        Dictionary<string, int> => i,
        Dictionary<string, string> => "s" + i,
        Dictionary<string, long> => (long)i,
        Dictionary<string, double> => -i * 0.25,
        Dictionary<string, bool> => i % 3 == 0,
        _ => Plain(i),
    };

    private static Dictionary<string, object?> Meta(object? value) => new() { ["m"] = value };

    /// <summary>Groups of (state, metadata) cases.</summary>
    public static IEnumerable<(string Group, List<(object? State, Dictionary<string, object?> Meta)> Cases)> All()
    {
        foreach (var count in new[] { 1, 2, 15, 16, 17, 18, 33 })
        {
            var kinds = new List<(object?, Dictionary<string, object?>)>();
            foreach (var kind in Kinds)
            {
                var d = kind();
                for (var i = 0; i < count; i++)
                {
                    d["k" + i] = KindValue(d, i);
                }

                kinds.Add((new Dictionary<string, object?> { ["p"] = d }, Meta(d)));
                var l = new List<object?>();
                var a = new object?[count];
                var al = new ArrayList();
                for (var i = 0; i < count; i++)
                {
                    l.Add(Plain(i));
                    a[i] = Plain(i);
                    al.Add(Plain(i));
                }

                kinds.Add((new Dictionary<string, object?> { ["l"] = l, ["a"] = a, ["al"] = al }, Meta(l)));
            }

            yield return ($"kinds n{count}", kinds);

            var breakers = new List<(object?, Dictionary<string, object?>)>();
            var keys = new List<(object?, Dictionary<string, object?>)>();
            for (var pos = 0; pos < count; pos++)
            {
                foreach (var b in Breakers())
                {
                    var od = new OrderedDictionary();
                    var ol = new List<object?>();
                    var oa = new object?[count];
                    var ht = NewHashtable();
                    for (var i = 0; i < count; i++)
                    {
                        var v = i == pos ? b : Plain(i);
                        od["k" + i] = v;
                        ol.Add(v);
                        oa[i] = v;
                        ht["k" + i] = v;
                    }

                    breakers.Add((new Dictionary<string, object?> { ["d"] = od, ["l"] = ol, ["a"] = oa, ["h"] = ht }, Meta(b is Array ? null : od)));
                }

                foreach (var bk in BadKeys)
                {
                    var od = new OrderedDictionary();
                    for (var i = 0; i < count; i++)
                    {
                        od[i == pos ? bk : "k" + i] = Plain(i);
                    }

                    keys.Add((new Dictionary<string, object?> { ["d"] = od }, Meta(od)));
                }

                var dob = new Dictionary<object, object?>();
                for (var i = 0; i < count; i++)
                {
                    dob[i == pos ? i : "k" + i] = Plain(i);
                }

                keys.Add((new Dictionary<string, object?> { ["d"] = dob }, Meta(null)));
            }

            yield return ($"breakers n{count}", breakers);
            yield return ($"keys n{count}", keys);
        }

        // Nodes of many 64 KiB pieces: runs cross piece boundaries at every offset the sizes give.
        var big = new List<(object?, Dictionary<string, object?>)>();
        foreach (var n in new[] { 1000, 5000, 20000, 60000 })
        {
            var d = new Dictionary<string, object?>();
            for (var i = 0; i < n; i++)
            {
                d["key" + i] = i % 97 == 0 ? new List<object?> { i } : Plain(i);
            }

            big.Add((d, Meta(null)));
            var l = new List<object?>();
            for (var i = 0; i < n; i++)
            {
                l.Add(i % 89 == 0 ? null : Plain(i));
            }

            big.Add((new Dictionary<string, object?> { ["l"] = l }, Meta(l)));
        }

        yield return ("big", big);

        var longs = new List<(object?, Dictionary<string, object?>)>();
        foreach (var len in new[] { 64, 65, 65535, 65536, 65537, 200000 })
        {
            var od = new OrderedDictionary();
            for (var i = 0; i < 40; i++)
            {
                od["k" + i] = i == 20 ? new string('x', len) : i == 25 ? new string('é', len) : Plain(i);
            }

            od[new string('K', len)] = 1;
            for (var i = 40; i < 60; i++)
            {
                od["k" + i] = Plain(i);
            }

            longs.Add((new Dictionary<string, object?> { ["d"] = od }, Meta(null)));
        }

        yield return ("long text", longs);

        var depths = new List<(object?, Dictionary<string, object?>)>();
        foreach (var depth in new[] { 198, 199, 200 })
        {
            foreach (var kind in new[] { 0, 1 })
            {
                object inner;
                if (kind == 0)
                {
                    var d = NewHashtable();
                    for (var i = 0; i < 20; i++)
                    {
                        d["k" + i] = i;
                    }

                    inner = d;
                }
                else
                {
                    var l = new List<object?>();
                    for (var i = 0; i < 20; i++)
                    {
                        l.Add(i);
                    }

                    inner = l;
                }

                var cur = inner;
                for (var i = 0; i < depth; i++)
                {
                    var o = new OrderedDictionary();
                    for (var j = 0; j < 17; j++)
                    {
                        o["a" + j] = j;
                    }

                    o["n"] = cur;
                    for (var j = 0; j < 17; j++)
                    {
                        o["b" + j] = j;
                    }

                    cur = o;
                }

                depths.Add((cur, Meta(null)));
            }
        }

        yield return ("depth", depths);

        var prefixes = new List<(object?, Dictionary<string, object?>)>();
        foreach (var plen in new[] { 250, 256, 257, 300, 511, 512, 513, 1024, 1025, 5000 })
        {
            var inner = new OrderedDictionary();
            for (var i = 0; i < 30; i++)
            {
                inner[(i % 2 == 0 ? new string('q', 60) : string.Empty) + "k" + i] = Plain(i);
            }

            var outer = new OrderedDictionary();
            var parentKey = new string('P', plen);
            outer[parentKey] = inner;
            outer["short"] = inner;
            outer[parentKey + "x"] = new OrderedDictionary { ["lone\ud800"] = 1, ["a"] = inner };
            outer["é" + parentKey] = inner;
            outer[parentKey + "y"] = new List<object?> { inner, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 };
            prefixes.Add((outer, Meta(null)));
        }

        yield return ("prefixes", prefixes);

        var fuzz = new List<(object?, Dictionary<string, object?>)>();
        for (var seed = 0; seed < 600; seed++)
        {
            var r = new Random(seed);
            fuzz.Add((Container(r, 0, r.Next(0, 40)), Meta(null)));
        }

        yield return ("fuzz", fuzz);
    }

    private static object? Value(Random r, int depth)
    {
        if (r.Next(3) != 0)
        {
            return Plain(r.Next(1000));
        }

        if (depth < 4 && r.Next(3) == 0)
        {
            return Container(r, depth + 1, r.Next(0, 40));
        }

        var b = Breakers();
        return b[r.Next(b.Length)];
    }

    private static object Container(Random r, int depth, int count)
    {
        string Key(int i) => r.Next(8) == 0 ? BadKeys[r.Next(BadKeys.Length)] + i : "k" + i;
        switch (r.Next(6))
        {
            case 0:
            {
                var o = new OrderedDictionary();
                for (var i = 0; i < count; i++)
                {
                    o[Key(i)] = Value(r, depth);
                }

                return o;
            }

            case 1:
            {
                var o = NewHashtable();
                for (var i = 0; i < count; i++)
                {
                    o[Key(i)] = Value(r, depth);
                }

                return o;
            }

            case 2:
            {
                var o = new Dictionary<string, object?>();
                for (var i = 0; i < count; i++)
                {
                    o[Key(i)] = Value(r, depth);
                }

                return o;
            }

            case 3:
            {
                var o = new List<object?>();
                for (var i = 0; i < count; i++)
                {
                    o.Add(Value(r, depth));
                }

                return o;
            }

            case 4:
            {
                var o = new object?[count];
                for (var i = 0; i < count; i++)
                {
                    o[i] = Value(r, depth);
                }

                return o;
            }

            default:
            {
                var o = new Dictionary<int, object?>();
                for (var i = 0; i < count; i++)
                {
                    o[i] = Value(r, depth);
                }

                return o;
            }
        }
    }
}
