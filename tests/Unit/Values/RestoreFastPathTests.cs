using System.Collections;
using System.Globalization;
using System.Text.Json;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// The restore's shortcuts of round 41 (docs/performance-notes.md): a float leaf's hexadecimal bits parsed from the
/// manifest's bytes, type codes remembered once resolved (<c>any[]</c> and <c>str</c> read as constants). Each must
/// give what the text path gave: the same bits, the same types, the same exception for a bad value.
/// </summary>
public sealed class RestoreFastPathTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static object? Decode(string stateJson)
    {
        using var doc = JsonDocument.Parse(stateJson);
        return new StateDecoder((_, _, item) => throw new InvalidOperationException($"no tensor expected, asked for '{item}'")).Decode(doc.RootElement);
    }

    [Theory]
    [InlineData("7FF8000000000001")]
    [InlineData("FFF0000000000000")]
    [InlineData("7ff0000000000000")]
    [InlineData("8000000000000000")]
    [InlineData("0000000000000001")]
    [InlineData("7FEFFFFFFFFFFFFF")]
    [InlineData("1")]
    [InlineData("00000000000000003FF0000000000000")]
    public void A_double_leaf_has_the_bits_its_text_parses_to(string hex)
    {
        var expected = ulong.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var value = Assert.IsType<double>(Decode($$"""{"t":"f64","b":"{{hex}}"}"""));
        Assert.Equal(expected, BitConverter.DoubleToUInt64Bits(value));
    }

    [Fact]
    public void Escaped_hex_digits_give_the_same_bits_as_plain_ones()
    {
        var plain = Assert.IsType<double>(Decode("""{"t":"f64","b":"7FF8000000000001"}"""));
        var escaped = Assert.IsType<double>(Decode("""{"t":"f64","b":"\u0037FF800000000000\u0031"}"""));
        Assert.Equal(BitConverter.DoubleToUInt64Bits(plain), BitConverter.DoubleToUInt64Bits(escaped));

        var single = Assert.IsType<float>(Decode("""{"t":"f32","b":"\u0037FC00001"}"""));
        Assert.Equal(0x7FC00001u, BitConverter.SingleToUInt32Bits(single));
        var half = Assert.IsType<Half>(Decode("""{"t":"f16","b":"7C0\u0031"}"""));
        Assert.Equal((ushort)0x7C01, BitConverter.HalfToUInt16Bits(half));
    }

    [Theory]
    [InlineData("f16", "1FFFF")]
    [InlineData("f16", "FFFFFFFFFFFFFFFFF")]
    [InlineData("f32", "100000000")]
    [InlineData("f64", "10000000000000000")]
    [InlineData("f64", "")]
    [InlineData("f64", "0x10")]
    [InlineData("f64", " 10")]
    [InlineData("f64", "-1")]
    [InlineData("f32", "\u00e9")]
    public void Float_bits_that_do_not_parse_or_do_not_fit_fail_as_the_text_parse_fails(string code, string hex)
    {
        var expected = Record.Exception(() => _ = code switch
        {
            "f16" => ushort.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
            "f32" => uint.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
            _ => ulong.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
        });
        Assert.NotNull(expected);

        var node = JsonSerializer.Serialize(new Dictionary<string, string> { ["t"] = code, ["b"] = hex });
        var actual = Record.Exception(() => Decode(node));
        Assert.NotNull(actual);
        Assert.Equal(expected.GetType(), actual.GetType());
        Assert.Equal(expected.Message, actual.Message);
    }

    [Theory]
    [InlineData("""{"t":"f64","b":5}""", "field 'b' is not a string")]
    [InlineData("""{"t":"f64"}""", "field 'b' is missing")]
    [InlineData("""{"t":"f32","b":null}""", "field 'b' is not a string")]
    public void Float_bits_that_are_no_string_are_corrupt_data(string node, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => Decode(node));
        Assert.Equal(message, e.Message);
    }

    private static StateDecoder NewDecoder() => new((_, _, item) => throw new InvalidOperationException($"no tensor expected, asked for '{item}'"));

    private static object? Decode(StateDecoder decoder, string stateJson)
    {
        using var doc = JsonDocument.Parse(stateJson);
        return decoder.Decode(doc.RootElement);
    }

    /// <summary>More distinct container codes than a decoder remembers (256).</summary>
    private static List<(string Code, string Field)> ManyCodes()
    {
        var elements = new[] { "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64", "str", "any" };
        var codes = new List<(string Code, string Field)>();
        foreach (var e in elements)
        {
            for (var depth = 0; depth < 6; depth++)
            {
                var inner = e + string.Concat(Enumerable.Repeat("[]", depth));
                codes.Add((inner + "[]", "i"));
                codes.Add(($"list<{inner}>", "i"));
                codes.Add(($"dict<str,{inner}>", "e"));
                codes.Add(($"dict<i64,{inner}>", "e"));
            }
        }

        return codes;
    }

    [Fact]
    public void Every_container_code_restores_its_type_before_and_after_the_remembered_codes_are_full()
    {
        // One decoder (one restore) meets more distinct codes than it remembers: the ones past the bound resolve
        // as the first did, and the decoder's memory stops at the bound.
        var codes = ManyCodes();
        Assert.True(codes.Count > StateDecoder.MaxResolvedCodes);
        var decoder = NewDecoder();
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var (code, field) in codes)
            {
                var value = Decode(decoder, $$"""{"t":"{{code}}","{{field}}":[]}""");
                Assert.NotNull(value);
                Assert.Equal(TypeCodes.Resolve(code), value.GetType());
                Assert.Empty((IEnumerable)value);
            }

            Assert.Equal(StateDecoder.MaxResolvedCodes, decoder.ResolvedCodeCount);
        }
    }

    [Fact]
    public void An_unknown_code_is_refused_the_same_way_every_time()
    {
        var decoder = NewDecoder();
        var first = Assert.Throws<InvalidDataException>(() => Decode(decoder, """{"t":"nosuch[]","i":[]}"""));
        var second = Assert.Throws<InvalidDataException>(() => Decode(decoder, """{"t":"nosuch[]","i":[]}"""));
        Assert.Equal(first.Message, second.Message);
        Assert.Contains("nosuch[]", first.Message, StringComparison.Ordinal);
        Assert.Equal(0, decoder.ResolvedCodeCount);
    }

    [Fact]
    public void Remembered_codes_belong_to_one_decoder_and_no_static_state_holds_them()
    {
        // The project allows no mutable static beyond the module's one-time load setup (found by the attack on
        // the restore's read side): the codes a restore resolved are its own, gone with it, never another's.
        var first = NewDecoder();
        Assert.IsType<object?[]>(Decode(first, """{"t":"any[]","i":[{"t":"list<i64>","i":[]}]}"""));
        Assert.True(first.ResolvedCodeCount > 0);
        Assert.Equal(0, NewDecoder().ResolvedCodeCount);

        var statics = typeof(StateDecoder).GetFields(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
            .Where(f => !f.IsLiteral)
            .ToList();
        Assert.All(statics, f =>
        {
            Assert.True(f.IsInitOnly, $"static field {f.Name} is writable");
            Assert.False(typeof(IEnumerable).IsAssignableFrom(f.FieldType), $"static field {f.Name} is a collection ({f.FieldType.Name})");
        });
    }

    [Fact]
    public void Concurrent_restores_each_resolve_their_own_codes()
    {
        // Decoders on many threads at once, each over the codes in its own order: every value has its code's type.
        var codes = ManyCodes();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
        {
            var decoder = NewDecoder();
            var mine = codes.OrderBy(c => (c.Code.GetHashCode(StringComparison.Ordinal) * (worker + 1)) & 0x7FFFFFFF).ToList();
            for (var pass = 0; pass < 3; pass++)
            {
                foreach (var (code, field) in mine)
                {
                    var value = Decode(decoder, $$"""{"t":"{{code}}","{{field}}":[]}""");
                    if (value?.GetType() != TypeCodes.Resolve(code))
                    {
                        failures.Add($"{code}: {value?.GetType()}");
                    }
                }
            }

            if (decoder.ResolvedCodeCount != StateDecoder.MaxResolvedCodes)
            {
                failures.Add($"worker {worker} remembers {decoder.ResolvedCodeCount} codes");
            }
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void Configs_restore_with_their_values_and_types_including_edge_leaves()
    {
        var configs = new Hashtable();
        var lrs = new[] { 0.001, double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, double.Epsilon, double.MaxValue, BitConverter.UInt64BitsToDouble(0x7FF8000000000001) };
        for (var i = 0; i < lrs.Length; i++)
        {
            configs[$"c{i}-\u00e9\u4e2d\ud83d\ude00"] = new Hashtable
            {
                ["name"] = $"run \"{i}\"\\\n\u0001\u00e9",
                ["lr"] = lrs[i],
                ["tags"] = i % 2 == 0 ? new object?[] { "a", "b\"]}", "\u4e2d" } : Array.Empty<object?>(),
                ["enabled"] = i % 2 == 0,
                ["nested"] = new object?[] { new object?[] { new Hashtable { ["x"] = new object?[] { 1.5f, (Half)2, 3L } } } },
                ["empty"] = new Hashtable(),
            };
        }

        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, configs, step: 1);
        var back = Assert.IsType<Hashtable>(handler.Restore(ck, 1));

        Assert.Equal(configs.Count, back.Count);
        foreach (DictionaryEntry entry in configs)
        {
            var want = (Hashtable)entry.Value!;
            var got = Assert.IsType<Hashtable>(back[entry.Key]);
            Assert.Equal(want["name"], Assert.IsType<string>(got["name"]));
            Assert.Equal(BitConverter.DoubleToUInt64Bits((double)want["lr"]!), BitConverter.DoubleToUInt64Bits(Assert.IsType<double>(got["lr"])));
            Assert.Equal((object?[])want["tags"]!, Assert.IsType<object?[]>(got["tags"]));
            Assert.Equal(want["enabled"], Assert.IsType<bool>(got["enabled"]));
            var nested = Assert.IsType<object?[]>(Assert.Single(Assert.IsType<object?[]>(got["nested"])));
            var x = Assert.IsType<object?[]>(Assert.IsType<Hashtable>(Assert.Single(nested))["x"]);
            Assert.Equal(new object?[] { 1.5f, (Half)2, 3L }, x);
            Assert.Empty(Assert.IsType<Hashtable>(got["empty"]));
        }
    }
}
