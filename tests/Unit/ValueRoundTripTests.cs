using System.Collections;
using System.Collections.Specialized;
using System.Numerics;
using System.Numerics.Tensors;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests;

/// <summary>Every value type of CONTRACT §3 comes back with its .NET type and exact bits.</summary>
public sealed class ValueRoundTripTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private object? RoundTrip(object? value)
    {
        var dir = _dir.Sub("ck");
        _handler.Save(dir, new Dictionary<string, object?> { ["v"] = value }, overwrite: true, step: 0);
        var restored = (Dictionary<string, object?>)_handler.Restore(dir)!;
        return restored["v"];
    }

    public static TheoryData<object> Scalars() => new()
    {
        true, false, (sbyte)-5, (byte)250, (short)-300, (ushort)65000, -70000, 4000000000u, long.MinValue, ulong.MaxValue,
        Int128.MinValue, UInt128.MaxValue, (nint)(-42), (nuint)42, BigInteger.Parse("-123456789012345678901234567890", System.Globalization.CultureInfo.InvariantCulture),
        (Half)1.5, 3.25f, Math.PI, 1.10m, -0.0m, 79228162514264337593543950335m, 'x', '\uFFFF',
        new DateTime(2024, 2, 29, 13, 14, 15, DateTimeKind.Utc).AddTicks(7), new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Local), new DateTime(1999, 12, 31),
        new DateTimeOffset(2020, 5, 6, 7, 8, 9, TimeSpan.FromMinutes(330)), TimeSpan.FromTicks(-123456789), Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"),
        "", "plain", "non-BMP 😀 𝄞 and ünïcödé", "lone \ud800 surrogate", "__metadata__",
    };

    [Theory]
    [MemberData(nameof(Scalars))]
    public void Scalar_comes_back_with_its_type_and_value(object value)
    {
        var back = RoundTrip(value);
        Assert.Equal(value.GetType(), back!.GetType());
        Assert.Equal(value, back);
        if (value is DateTime dt)
        {
            Assert.Equal(dt.Kind, ((DateTime)back).Kind);
        }

        if (value is DateTimeOffset dto)
        {
            Assert.Equal(dto.Offset, ((DateTimeOffset)back).Offset);
        }

        if (value is decimal m)
        {
            Assert.Equal(decimal.GetBits(m), decimal.GetBits((decimal)back));
        }
    }

    [Fact]
    public void Float_bit_patterns_survive_nan_payloads_negative_zero_and_subnormals()
    {
        var nanPayload = BitConverter.UInt64BitsToDouble(0x7FF8_0000_DEAD_BEEF);
        var floats = new[] { BitConverter.UInt32BitsToSingle(0x7FC0_1234), -0.0f, float.Epsilon, BitConverter.UInt32BitsToSingle(0x0000_0001), float.NegativeInfinity };
        var back = (Dictionary<string, object?>)RoundTripState(new Dictionary<string, object?>
        {
            ["d"] = nanPayload,
            ["negzero"] = -0.0,
            ["sub"] = double.Epsilon,
            ["floats"] = floats,
            ["halfs"] = new[] { BitConverter.UInt16BitsToHalf(0x7E01), BitConverter.UInt16BitsToHalf(0x8000) },
        })!;
        Assert.Equal(0x7FF8_0000_DEAD_BEEFUL, BitConverter.DoubleToUInt64Bits((double)back["d"]!));
        Assert.Equal(0x8000_0000_0000_0000UL, BitConverter.DoubleToUInt64Bits((double)back["negzero"]!));
        Assert.Equal(double.Epsilon, (double)back["sub"]!);
        Assert.Equal(floats.Select(BitConverter.SingleToUInt32Bits), ((float[])back["floats"]!).Select(BitConverter.SingleToUInt32Bits));
        Assert.Equal(new ushort[] { 0x7E01, 0x8000 }, ((Half[])back["halfs"]!).Select(BitConverter.HalfToUInt16Bits));
    }

    private object? RoundTripState(object? state)
    {
        var dir = _dir.Sub("state");
        _handler.Save(dir, state, step: 1, overwrite: true);
        return _handler.Restore(dir);
    }

    [Fact]
    public void Numeric_arrays_of_every_rank_and_dtype_come_back_as_the_same_array_type()
    {
        var rng = new Random(7);
        var matrix = new float[10, 10];
        for (var i = 0; i < 10; i++)
        {
            for (var j = 0; j < 10; j++)
            {
                matrix[i, j] = (float)rng.NextDouble();
            }
        }

        var cube = new double[2, 3, 4];
        cube[1, 2, 3] = -7.5;
        var state = new Dictionary<string, object?>
        {
            ["f32_2d"] = matrix,
            ["f64_3d"] = cube,
            ["bytes"] = new byte[] { 0, 1, 255 },
            ["bools"] = new[] { true, false, true },
            ["i64"] = new[] { long.MinValue, 0L, long.MaxValue },
            ["chars"] = "abc".ToCharArray(),
            ["empty"] = Array.Empty<int>(),
            ["empty2d"] = new int[0, 5],
        };
        var back = (Dictionary<string, object?>)RoundTripState(state)!;
        foreach (var (key, value) in state)
        {
            Assert.Equal(value!.GetType(), back[key]!.GetType());
            Assert.Equal((IEnumerable)value, (IEnumerable)back[key]!);
        }

        Assert.Equal(3, ((double[,,])back["f64_3d"]!).GetLength(1));
        Assert.Equal(-7.5, ((double[,,])back["f64_3d"]!)[1, 2, 3]);
        Assert.Equal(5, ((int[,])back["empty2d"]!).GetLength(1));
    }

    [Fact]
    public void Tensor_of_T_comes_back_as_a_tensor_with_its_shape()
    {
        var tensor = Tensor.Create(Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), [2, 3, 4]);
        var back = (Tensor<float>)((Dictionary<string, object?>)RoundTripState(new Dictionary<string, object?> { ["t"] = tensor })!)["t"]!;
        Assert.Equal(new nint[] { 2, 3, 4 }, back.Lengths.ToArray());
        Assert.Equal(23f, back[1, 2, 3]);
    }

    [Fact]
    public void Containers_keep_their_kind_order_and_key_types()
    {
        var ordered = new OrderedDictionary { ["z"] = 1, ["a"] = 2 };
        ordered.Add(3, "three"); // an int key; the int indexer would be positional
        var table = new Hashtable { [1] = "one", ["two"] = 2L };
        var obj = new StateObject { { "second", 2 }, { "first", 1 } };
        var state = new Dictionary<string, object?>
        {
            ["ordered"] = ordered,
            ["table"] = table,
            ["obj"] = obj,
            ["objects"] = new object?[] { 1, "x", null, new object?[] { 2.5 } },
            ["strings"] = new[] { "a", "b" },
            ["list"] = new List<object?> { new Dictionary<string, object?> { ["k"] = 1 }, new Dictionary<string, object?>() },
            ["typedDict"] = new Dictionary<int, string> { [5] = "five" },
            ["typedList"] = new List<long> { 1, 2 },
            ["jagged"] = new[] { new[] { 1f, 2f }, new[] { 3f } },
            ["emptyDict"] = new Dictionary<string, object?>(),
            ["emptyList"] = new List<object?>(),
        };
        var back = (Dictionary<string, object?>)RoundTripState(state)!;
        var o = Assert.IsType<OrderedDictionary>(back["ordered"]);
        Assert.Equal(new object[] { "z", "a", 3 }, o.Keys.Cast<object>());
        var t = Assert.IsType<Hashtable>(back["table"]);
        Assert.Equal("one", t[1]);
        Assert.Equal(2L, t["two"]);
        var so = Assert.IsType<StateObject>(back["obj"]);
        Assert.Equal(new[] { "second", "first" }, so.Select(p => p.Key));
        var objects = Assert.IsType<object?[]>(back["objects"]);
        Assert.Null(objects[2]);
        Assert.Equal(2.5, Assert.IsType<object?[]>(objects[3])[0]);
        Assert.IsType<string[]>(back["strings"]);
        var list = Assert.IsType<List<object?>>(back["list"]);
        Assert.Equal(1, Assert.IsType<Dictionary<string, object?>>(list[0])["k"]);
        Assert.Equal("five", Assert.IsType<Dictionary<int, string>>(back["typedDict"])[5]);
        Assert.Equal(new List<long> { 1, 2 }, back["typedList"]);
        Assert.Equal(3f, Assert.IsType<float[][]>(back["jagged"])[1][0]);
        Assert.Empty(Assert.IsType<Dictionary<string, object?>>(back["emptyDict"]));
        Assert.Empty(Assert.IsType<List<object?>>(back["emptyList"]));
    }

    [Fact]
    public void User_keys_that_look_like_markers_are_ordinary_keys()
    {
        var state = new Dictionary<string, object?> { ["__metadata__"] = 1, ["__string__"] = "s", ["t"] = "tensor", ["a/b"] = 2, ["~"] = 3 };
        var back = (Dictionary<string, object?>)RoundTripState(state)!;
        Assert.Equal(state, back);
    }

    [Fact]
    public void Prng_keys_and_key_arrays_come_back_as_keys()
    {
        var key = new PrngKey(PrngKey.Threefry2x32Impl, [0u, 42u]);
        var keys = new[] { new PrngKey(PrngKey.Threefry2x32Impl, [1u, 2u]), new PrngKey(PrngKey.Threefry2x32Impl, [3u, 4u]) };
        var back = (Dictionary<string, object?>)RoundTripState(new Dictionary<string, object?> { ["rng_key"] = key, ["split_keys"] = keys })!;
        Assert.Equal(key, back["rng_key"]);
        Assert.Equal(keys, Assert.IsType<PrngKey[]>(back["split_keys"]));
    }

    [Fact]
    public void A_state_that_is_itself_a_leaf_round_trips()
    {
        Assert.Equal(42, RoundTripState(42));
        Assert.Null(RoundTripState(null));
        Assert.Equal(new[] { 1.0, 2.0 }, RoundTripState(new[] { 1.0, 2.0 }));
    }
}
