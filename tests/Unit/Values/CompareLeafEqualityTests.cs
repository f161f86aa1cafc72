using System.Collections;
using System.Collections.Specialized;
using System.Numerics;
using System.Numerics.Tensors;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// Compare calls a leaf unchanged exactly when a restore of either step gives the same value: same .NET type,
/// same shape, same stored bits. Found by the attack on Compare: a <c>Tensor&lt;T&gt;</c> leaf fell through to
/// reference equality (always Changed), and scalars went through <see cref="object.Equals(object?)"/>, which
/// ignores a DateTime's kind, a DateTimeOffset's offset, a decimal's scale and the sign of a zero.
/// </summary>
public sealed class CompareLeafEqualityTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private static PrngKey Key(uint a) => new(PrngKey.Threefry2x32Impl, [a, 7u]);

    /// <summary>One state holding every kind of value the engine stores (docs/format.md §2, §6), built fresh on each call.</summary>
    private static Hashtable EveryStorableValue()
    {
        var nanPayload = BitConverter.UInt32BitsToSingle(0x7FC0_1234);
        var ps = new StateObject();
        ps.Add("p", 1);
        ps.Add("q", "x");
        return new Hashtable
        {
            ["bool"] = true,
            ["i8"] = (sbyte)-1,
            ["u8"] = (byte)2,
            ["i16"] = (short)-3,
            ["u16"] = (ushort)4,
            ["i32"] = 5,
            ["u32"] = 6u,
            ["i64"] = 7L,
            ["u64"] = 8UL,
            ["i128"] = (Int128)9,
            ["u128"] = (UInt128)10,
            ["nint"] = (nint)11,
            ["nuint"] = (nuint)12,
            ["bigint"] = BigInteger.Parse("123456789012345678901234567890", System.Globalization.CultureInfo.InvariantCulture),
            ["f16"] = (Half)1.5,
            ["f32nan"] = nanPayload,
            ["f64negzero"] = -0.0,
            ["f64nan"] = double.NaN,
            ["dec"] = 1.50m,
            ["char"] = 'c',
            ["str"] = "text",
            ["emptystr"] = string.Empty,
            ["utc"] = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc),
            ["local"] = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Local),
            ["unspecified"] = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Unspecified),
            ["dto"] = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)),
            ["timespan"] = TimeSpan.FromSeconds(3),
            ["guid"] = new Guid("0f8fad5b-d9cb-469f-a165-70867728950e"),
            ["key"] = Key(1),
            ["null"] = null,
            ["f32[]"] = new[] { 1f, nanPayload, -0f },
            ["f64[,]"] = new double[,] { { 1, double.NaN }, { -0.0, 4 } },
            ["bool[,]"] = new bool[,] { { true, false } },
            ["i32[,,]"] = new int[2, 1, 2] { { { 1, 2 } }, { { 3, 4 } } },
            ["char[]"] = new[] { 'a', 'b' },
            ["f16[]"] = new[] { (Half)1, Half.NaN },
            ["u8[]"] = new byte[] { 1, 2, 3 },
            ["emptyf32[]"] = Array.Empty<float>(),
            ["str[]"] = new[] { "x", null, string.Empty },
            ["key[]"] = new[] { Key(2), Key(3) },
            ["key?[]"] = new PrngKey?[] { null, Key(4) },
            ["i32?[]"] = new int?[] { 1, null },
            ["f64?[]"] = new double?[] { -0.0, null, double.NaN },
            ["tensor1"] = Tensor.Create(new[] { 1f, 2f }, [2]),
            ["tensor2"] = Tensor.Create(new[] { 1.0, double.NaN, -0.0, 4 }, [2, 2]),
            ["tensori"] = Tensor.Create(new[] { 1, 2, 3 }, [3]),
            ["tensorEmpty"] = Tensor.Create(Array.Empty<float>(), [0]),
            ["List<int>"] = new List<int> { 1, 2, 3 },
            ["List<double>"] = new List<double> { double.NaN, -0.0 },
            ["boxedInts"] = Enumerable.Range(0, 20).Cast<object>().ToArray(),
            ["boxedDoubles"] = new ArrayList(Enumerable.Range(0, 20).Select(i => (object)(i + 0.5)).ToArray()),
            ["List<object>"] = new List<object?> { 1, "a", null, 2.5 },
            ["List<int?>"] = new List<int?> { 1, null },
            ["List<float[]>"] = new List<float[]> { new[] { 1f, 2f }, Array.Empty<float>() },
            ["List<double[,]>"] = new List<double[,]> { new double[,] { { 1, 2 }, { 3, 4 } } },
            ["List<Tensor<float>>"] = new List<Tensor<float>> { Tensor.Create(new[] { 1f, 2f, 3f, 4f }, [2, 2]) },
            ["List<List<double>>"] = new List<List<double>> { new() { 1 }, new() },
            ["List<string>"] = new List<string> { "a", "b" },
            ["Dictionary<string,int>"] = new Dictionary<string, int> { ["a"] = 1 },
            ["Dictionary<int,float[]>"] = new Dictionary<int, float[]> { [1] = new[] { 1f }, [-2] = new[] { 2f } },
            ["Dictionary<long,string>"] = new Dictionary<long, string> { [1L] = "one" },
            ["Dictionary<string,Dictionary<ulong,DateTime>>"] = new Dictionary<string, Dictionary<ulong, DateTime>>
            {
                ["x"] = new() { [3UL] = new DateTime(2020, 5, 6, 0, 0, 0, DateTimeKind.Local) },
            },
            ["ordered"] = new OrderedDictionary { ["z"] = 1, ["a"] = 2 },
            ["ci"] = new Hashtable(StringComparer.OrdinalIgnoreCase) { ["a"] = 1, ["B"] = 2 },
            ["intKeys"] = new Hashtable { [1] = "one", [2L] = "two" },
            ["psobject"] = ps,
            ["arraylist"] = new ArrayList { 1, "two", null },
            ["object[]"] = new object?[] { 1, "two", null, new[] { 1.5 } },
            ["emptyHashtable"] = new Hashtable(),
            ["emptyList"] = new List<int>(),
            ["emptyObjects"] = Array.Empty<object>(),
        };
    }

    [Fact]
    public void A_step_compared_with_itself_or_with_the_same_state_saved_again_reports_no_change_for_any_storable_value()
    {
        var ck = _dir.Sub("ck");
        _handler.Save(ck, EveryStorableValue(), step: 1);
        _handler.Save(ck, EveryStorableValue(), step: 2);

        var self = _handler.Compare(ck, 1, 1);
        var again = _handler.Compare(ck, 1, 2);

        Assert.True(self.Count == 0, "1 vs 1: " + string.Join(", ", self.Select(d => $"{d.Name}:{d.Change}")));
        Assert.True(again.Count == 0, "1 vs 2: " + string.Join(", ", again.Select(d => $"{d.Name}:{d.Change}")));
    }

    [Fact]
    public void A_Tensor_leaf_whose_elements_changed_is_Changed_with_its_largest_difference()
    {
        var ck = _dir.Sub("ck");
        _handler.Save(ck, new Hashtable { ["t"] = Tensor.Create(new[] { 1f, 2f, 3f, 4f }, [2, 2]) }, step: 1);
        _handler.Save(ck, new Hashtable { ["t"] = Tensor.Create(new[] { 1f, 2f, 3.5f, 4f }, [2, 2]) }, step: 2);

        var difference = Assert.Single(_handler.Compare(ck, 1, 2));

        Assert.Equal("t", difference.Name);
        Assert.Equal("Changed", difference.Change);
        Assert.Equal(0.5, difference.MaxAbsDifference);
    }

    [Fact]
    public void A_Tensor_leaf_and_an_array_of_the_same_dtype_shape_and_elements_are_Changed_because_they_restore_as_different_types()
    {
        var ck = _dir.Sub("ck");
        _handler.Save(ck, new Hashtable { ["t"] = Tensor.Create(new[] { 1f, 2f }, [2]) }, step: 1);
        _handler.Save(ck, new Hashtable { ["t"] = new[] { 1f, 2f } }, step: 2);

        var difference = Assert.Single(_handler.Compare(ck, 1, 2));

        Assert.Equal("Changed", difference.Change);
        Assert.Equal(0, difference.MaxAbsDifference);
    }

    public static TheoryData<string, object, object> ScalarsEqualAsValuesButNotAsStored() => new()
    {
        { "DateTime kind", new DateTime(2024, 1, 2, 0, 0, 0, DateTimeKind.Utc), new DateTime(2024, 1, 2, 0, 0, 0, DateTimeKind.Unspecified) },
        { "DateTimeOffset offset", new DateTimeOffset(2024, 1, 2, 3, 0, 0, TimeSpan.Zero), new DateTimeOffset(2024, 1, 2, 5, 0, 0, TimeSpan.FromHours(2)) },
        { "decimal scale", 1.5m, 1.50m },
        { "double sign of zero", 0.0, -0.0 },
        { "float NaN payload", float.NaN, BitConverter.UInt32BitsToSingle(0x7FC0_0001) },
        { "Half sign of zero", (Half)0, -(Half)0 },
    };

    [Theory]
    [MemberData(nameof(ScalarsEqualAsValuesButNotAsStored))]
    public void A_scalar_leaf_that_restores_differently_is_Changed_even_when_Equals_calls_the_values_equal(string name, object before, object after)
    {
        Assert.True(before.Equals(after), name + ": the case is only interesting when Equals says equal");
        var ck = _dir.Sub("ck");
        _handler.Save(ck, new Hashtable { ["v"] = before }, step: 1);
        _handler.Save(ck, new Hashtable { ["v"] = after }, step: 2);

        var difference = Assert.Single(_handler.Compare(ck, 1, 2));

        Assert.Equal("Changed", difference.Change);
        Assert.Empty(_handler.Compare(ck, 2, 2));
    }

    public static TheoryData<string, object, object, double> ScalarsOfEveryNumericType() => new()
    {
        { "Half", (Half)1, (Half)3, 2 },
        { "Int128", (Int128)1, (Int128)4, 3 },
        { "UInt128", (UInt128)5, (UInt128)1, 4 },
        { "nint", (nint)1, (nint)6, 5 },
        { "nuint", (nuint)1, (nuint)7, 6 },
        { "BigInteger", new BigInteger(10), new BigInteger(3), 7 },
        { "decimal", 1m, 9m, 8 },
        { "ulong", 1UL, 10UL, 9 },
    };

    [Theory]
    [MemberData(nameof(ScalarsOfEveryNumericType))]
    public void A_changed_numeric_scalar_of_any_type_is_Changed_with_its_absolute_difference(string name, object before, object after, double expected)
    {
        var ck = _dir.Sub("ck");
        _handler.Save(ck, new Hashtable { ["v"] = before }, step: 1);
        _handler.Save(ck, new Hashtable { ["v"] = after }, step: 2);

        var difference = Assert.Single(_handler.Compare(ck, 1, 2));

        Assert.Equal("Changed", difference.Change);
        Assert.True(difference.MaxAbsDifference == expected, $"{name}: {difference.MaxAbsDifference}");
    }

    [Fact]
    public void A_leaf_whose_type_changed_is_Changed_naming_both_types()
    {
        var ck = _dir.Sub("ck");
        _handler.Save(ck, new Hashtable { ["v"] = 1, ["n"] = null, ["s"] = "x" }, step: 1);
        _handler.Save(ck, new Hashtable { ["v"] = "1", ["n"] = 2L, ["s"] = new[] { 1f } }, step: 2);

        var differences = _handler.Compare(ck, 1, 2).ToDictionary(d => d.Name);

        Assert.Equal(3, differences.Count);
        Assert.All(differences.Values, d => Assert.Equal("Changed", d.Change));
        Assert.Equal(("i32", "str"), (differences["v"].DTypeBefore, differences["v"].DTypeAfter));
        Assert.Equal((null, "i64"), (differences["n"].DTypeBefore, differences["n"].DTypeAfter));
        Assert.Equal(("str", "f32"), (differences["s"].DTypeBefore, differences["s"].DTypeAfter));
    }
}
