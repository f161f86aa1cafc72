using System.Collections;
using System.Text;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// The state node is decoded in one pass from its JSON (no document): what that reader checks differently
/// from a document walk (a field met twice, a type after its child array), what it still accepts (fields in
/// another order, unknown fields, a comparer after the entries), and the checks every node must still pass.
/// </summary>
public sealed class StateReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static object? Decode(string stateJson) =>
        new StateDecoder((_, _, item) => throw new InvalidOperationException($"no tensor expected, asked for '{item}'")).Decode(Encoding.UTF8.GetBytes(stateJson).AsMemory());

    private static string Fails(string stateJson) => Assert.Throws<InvalidDataException>(() => Decode(stateJson)).Message;

    [Theory]
    [InlineData("""{"t":"i32","v":1,"v":2}""", "node has field 'v' twice")]
    [InlineData("""{"t":"i32","t":"i64","v":1}""", "node has field 't' twice")]
    [InlineData("""{"t":"hashtable","e":[],"e":[]}""", "node has field 'e' twice")]
    [InlineData("""{"t":"hashtable","cmp":"ordinal","cmp":"ordinal","e":[]}""", "node has field 'cmp' twice")]
    public void A_node_that_lists_a_field_twice_is_corrupt(string json, string problem) => Assert.Equal(problem, Fails(json));

    [Theory]
    [InlineData("""{"e":[["a",1]],"t":"hashtable"}""", "field 'e' comes before the node's type 't'")]
    [InlineData("""{"p":[["a",1]],"t":"psobject"}""", "field 'p' comes before the node's type 't'")]
    [InlineData("""{"i":[1],"t":"arraylist"}""", "field 'i' comes before the node's type 't'")]
    [InlineData("""{"i":[1],"t":"any[]"}""", "field 'i' comes before the node's type 't'")]
    public void A_child_array_before_the_node_type_is_refused_rather_than_read_twice(string json, string problem) => Assert.Equal(problem, Fails(json));

    [Fact]
    public void A_child_field_before_the_type_that_is_not_an_array_is_reported_as_such() =>
        Assert.Equal("entries are not an array", Fails("""{"e":5,"t":"hashtable"}"""));

    [Fact]
    public void Leaf_fields_in_any_order_and_unknown_fields_decode_as_written_in_order()
    {
        Assert.Equal(5, Decode("""{"v":5,"x":[[{"deep":1}]],"t":"i32"}"""));
        Assert.Equal(1.5m, Decode("""{"b":[15,0,0,65536],"t":"dec"}"""));
        Assert.Equal(new DateTime(42, DateTimeKind.Utc), Decode("""{"ticks":"42","kind":"Utc","t":"datetime"}"""));
        Assert.Equal(new DateTimeOffset(600_000_000_000, TimeSpan.FromMinutes(-90)), Decode("""{"offsetMinutes":-90,"ticks":"600000000000","t":"dto"}"""));
        Assert.Equal("\ud800x", Decode("""{"b":"ANh4AA==","t":"str"}"""));
        // The field names may be escaped.
        Assert.Equal(7, Decode("""{"\u0074":"i32","\u0076":7}"""));
    }

    [Fact]
    public void A_comparer_after_the_entries_still_makes_the_dictionary_case_insensitive()
    {
        var table = (Hashtable)Decode("""{"t":"hashtable","e":[["Key",{"t":"i32","v":1}]],"cmp":"ordinal-ic"}""")!;
        Assert.Equal(1, table["KEY"]);
        Assert.Equal("duplicate key 'A'", Fails("""{"t":"hashtable","e":[["a",null],["A",true]],"cmp":"ordinal-ic"}"""));
    }

    [Theory]
    [InlineData("5", "unexpected JSON Number")]
    [InlineData("[1]", "unexpected JSON Array")]
    [InlineData("""{"v":1}""", "node has no type")]
    [InlineData("""{"t":5,"v":1}""", "node has no type")]
    [InlineData("""{"t":"i8","v":200}""", "i8 value 200 is out of range")]
    [InlineData("""{"t":"u32","v":-1}""", "u32 value -1 is out of range")]
    [InlineData("""{"t":"i32","v":1e3}""", "integer value is missing")]
    [InlineData("""{"t":"i32","v":99999999999999999999}""", "integer value is missing")]
    [InlineData("""{"t":"i32","v":"1"}""", "integer value is missing")]
    [InlineData("""{"t":"i64","v":1}""", "field 'v' is not a string")]
    [InlineData("""{"t":"f64"}""", "field 'b' is missing")]
    [InlineData("""{"t":"dec","b":[1,2,3]}""", "decimal bits are malformed")]
    [InlineData("""{"t":"dec","b":[1,2,3,4,5]}""", "decimal bits are malformed")]
    [InlineData("""{"t":"dec","b":[1,2,3,[4]]}""", "decimal bits are malformed")]
    [InlineData("""{"t":"str","b":"AAA"}""", "string bytes are malformed")]
    [InlineData("""{"t":"key","impl":"threefry2x32","data":[1]}""", "PRNG key data is not two uint32 words")]
    [InlineData("""{"t":"hashtable"}""", "field 'e' is missing")]
    [InlineData("""{"t":"hashtable","e":{}}""", "entries are not an array")]
    [InlineData("""{"t":"hashtable","e":[["a"]]}""", "entry is not a [key, value] pair")]
    [InlineData("""{"t":"hashtable","e":[["a",null,2]]}""", "entry is not a [key, value] pair")]
    [InlineData("""{"t":"hashtable","e":[[1,1]]}""", "dictionary key is neither a string nor an integer")]
    [InlineData("""{"t":"psobject","p":[[1,1]]}""", "property name is not a string")]
    [InlineData("""{"t":"psobject","p":[["a",null],["a",true]]}""", "Property 'a' already exists.")]
    [InlineData("""{"t":"arraylist","i":5}""", "items are not an array")]
    [InlineData("""{"t":"list<i32>","i":[{"t":"i32","v":1},"x"]}""", "a String where a Int32 is required")]
    [InlineData("""{"t":"dict<i32,str>","cmp":"ordinal","e":[]}""", "a key comparer is recorded for a dictionary whose keys are not strings")]
    [InlineData("""{"t":"System.String","v":"x"}""", "unknown type code 'System.String'")]
    public void A_state_node_that_is_valid_json_but_no_valid_node_tree_is_corrupt(string json, string problem) =>
        Assert.StartsWith(problem, Fails(json));

    [Fact]
    public void Containers_nested_beyond_the_limit_are_refused_before_any_is_built()
    {
        var json = new StringBuilder();
        for (var i = 0; i <= StateEncoder.MaxDepth; i++)
        {
            json.Append("""{"t":"arraylist","i":[""");
        }

        json.Append("null");
        for (var i = 0; i <= StateEncoder.MaxDepth; i++)
        {
            json.Append("]}");
        }

        Assert.StartsWith($"containers nest deeper than {StateEncoder.MaxDepth} levels", Fails(json.ToString()));
    }

    [Fact]
    public void A_huge_entry_array_of_bad_entries_fails_at_its_first_entry_without_sizing_a_table_for_it()
    {
        var json = new StringBuilder("""{"t":"hashtable","e":[""");
        json.Append(string.Join(',', Enumerable.Repeat("0", 1_000_000))).Append("]}");
        var bytes = Encoding.UTF8.GetBytes(json.ToString()).AsMemory();
        var decoder = new StateDecoder((_, _, _) => throw new InvalidOperationException());
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal("entry is not a [key, value] pair", Assert.Throws<InvalidDataException>(() => decoder.Decode(bytes)).Message);
        // A table presized for a million entries would be tens of MB.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 256 * 1024, "decoding a bad entry array allocated for its length");
    }

    /// <summary>The step's manifest with its state node replaced by <paramref name="state"/> (the writer puts it last).</summary>
    private static void PlantState(string ck, long step, string state)
    {
        var json = Encoding.UTF8.GetString(PlantedManifest.ReadJson(ck, step));
        var at = json.LastIndexOf("\"state\":", StringComparison.Ordinal);
        PlantedManifest.PlantFile(ck, step, PlantedManifest.Frame(Encoding.UTF8.GetBytes(json[..(at + 8)] + state)));
    }

    [Theory]
    [InlineData("""{"t":"hashtable","e":[["a",{"t":"i32","v":1}]""")]
    [InlineData("""{"t":"hashtable","e":[["a",{"t":"i32","v":1}]]}""")]
    public void A_truncated_state_node_makes_the_manifest_invalid_json_when_the_step_is_opened(string state)
    {
        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, new Hashtable { ["a"] = 1 }, step: 1);
        // Without the manifest's closing brace (the first), or without its own too (the second).
        PlantState(ck, 1, state);
        var e = Assert.Throws<CorruptCheckpointException>(() => handler.Restore(ck, 1));
        Assert.Contains("manifest is not valid JSON", e.Message, StringComparison.Ordinal);
        Assert.Equal(StepFormat.ManifestFile, e.Item);
    }

    [Fact]
    public void A_state_node_nesting_deeper_than_json_allows_is_refused_when_the_step_is_opened()
    {
        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, new Hashtable { ["a"] = 1 }, step: 1);
        PlantState(ck, 1, new string('[', StateEncoder.MaxJsonDepth + 1) + new string(']', StateEncoder.MaxJsonDepth + 1) + "}");
        var e = Assert.Throws<CorruptCheckpointException>(() => handler.Restore(ck, 1));
        Assert.Contains("manifest is not valid JSON", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_state_node_of_valid_json_but_no_node_tree_is_corrupt_for_restore_items_and_verify()
    {
        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, new Hashtable { ["a"] = 1 }, step: 1);
        PlantState(ck, 1, """{"t":"hashtable","e":[["a",{"t":"i32","v":1,"v":2}]]}}""");
        var e = Assert.Throws<CorruptCheckpointException>(() => handler.Restore(ck, 1));
        Assert.Equal(1, e.Step);
        Assert.Contains("node has field 'v' twice", e.Message, StringComparison.Ordinal);
        Assert.Equal("a", e.Item);
        Assert.NotEmpty(handler.Verify(ck, 1).Problems);
    }

    [Fact]
    public void A_manifest_that_names_its_state_twice_restores_the_last_as_a_document_would()
    {
        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, new Hashtable { ["a"] = 1 }, step: 1);
        PlantState(ck, 1, """{"t":"i32","v":1},"state":{"t":"i32","v":2}}""");
        Assert.Equal(2, handler.Restore(ck, 1));
        Assert.Single(handler.GetItems(ck, 1));
    }

    [Theory]
    [InlineData("""{"t":"hashtable","e":[["a",{"t":"i32","v":1}]],"e":[["a",{"t":"i32","v":2}]]}}""", "node has field 'e' twice")]
    [InlineData("""{"t":"hashtable","e":[["a",{"t":"i32","v":1}]],"\u0065":[["a",{"t":"i32","v":2}]]}}""", "node has field 'e' twice")]
    [InlineData("""{"e":[["a",{"t":"i32","v":2}]],"t":"hashtable"}}""", "field 'e' comes before the node's type 't'")]
    [InlineData("""{"t":"hashtable","e":[["a",{"t":"i32","v":1}]],"cmp":"ordinal","cmp":"ordinal-ic"}}""", "node has field 'cmp' twice")]
    [InlineData("""{"e":5,"t":"hashtable","e":[["a",{"t":"i32","v":2}]]}}""", "node has field 'e' twice")]
    public void A_container_that_a_whole_restore_refuses_is_corrupt_for_selection_restore_into_and_compare_too(string state, string problem)
    {
        // (found by the attack on the one-pass state reader: these paths walk a document, which took the last field)
        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, new Hashtable { ["a"] = 1 }, step: 1);
        PlantState(ck, 1, state);
        Assert.Contains(problem, Assert.Throws<CorruptCheckpointException>(() => handler.Restore(ck, 1)).Message, StringComparison.Ordinal);
        Assert.Contains(problem, Assert.Throws<CorruptCheckpointException>(() => handler.Restore(ck, 1, ["*"])).Message, StringComparison.Ordinal);
        Assert.Contains(problem, Assert.Throws<CorruptCheckpointException>(() => handler.RestoreInto(ck, new Hashtable { ["a"] = 0 }, 1)).Message, StringComparison.Ordinal);
        Assert.Contains(problem, Assert.Throws<CorruptCheckpointException>(() => handler.Compare(ck, 1, 1)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_scalar_type_restores_bit_exact_through_the_reader()
    {
        var nan = BitConverter.UInt64BitsToDouble(0x7FF8_0000_DEAD_BEEF);
        var state = new Hashtable(StringComparer.OrdinalIgnoreCase)
        {
            ["i8"] = sbyte.MinValue, ["u8"] = byte.MaxValue, ["i16"] = short.MinValue, ["u16"] = ushort.MaxValue, ["i32"] = int.MinValue,
            ["u32"] = uint.MaxValue, ["i64"] = long.MinValue, ["u64"] = ulong.MaxValue, ["i128"] = Int128.MinValue, ["u128"] = UInt128.MaxValue,
            ["big"] = System.Numerics.BigInteger.Pow(-3, 200), ["f16"] = BitConverter.UInt16BitsToHalf(0x7E01), ["f32"] = BitConverter.UInt32BitsToSingle(0x7FC0_1234),
            ["f64"] = nan, ["neg0"] = -0.0, ["dec"] = -79228162514264337593543950335m, ["dec2"] = 1.000m, ["char"] = '\uffff', ["str"] = "a\"\\\n\u00e9\ud83d\ude00",
            ["lone"] = "x\udc00", ["\ud800"] = 1, ["dt"] = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Local), ["dto"] = new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.FromMinutes(-330)),
            ["ts"] = TimeSpan.MinValue, ["guid"] = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"), ["null"] = null, ["bool"] = true,
            ["nested"] = new Hashtable { ["list"] = new List<long> { 1, long.MaxValue }, ["arr"] = new object?[] { "a", null, 1.5 }, [7] = "int key" },
        };
        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, state, step: 1);
        var back = (Hashtable)handler.Restore(ck, 1)!;
        Assert.Equal(state.Count, back.Count);
        Assert.Equal(0x7FF8_0000_DEAD_BEEFUL, BitConverter.DoubleToUInt64Bits((double)back["F64"]!));
        Assert.Equal(0x7FC0_1234u, BitConverter.SingleToUInt32Bits((float)back["f32"]!));
        Assert.Equal((ushort)0x7E01, BitConverter.HalfToUInt16Bits((Half)back["f16"]!));
        Assert.Equal(0x8000_0000_0000_0000UL, BitConverter.DoubleToUInt64Bits((double)back["neg0"]!));
        Assert.Equal("1.000", ((decimal)back["dec2"]!).ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (DictionaryEntry entry in state)
        {
            if (entry.Value is not (double or Hashtable))
            {
                Assert.Equal(entry.Value, back[entry.Key]);
                Assert.Equal(entry.Value?.GetType(), back[entry.Key]?.GetType());
            }
        }

        Assert.Equal(((DateTime)state["dt"]!).Kind, ((DateTime)back["dt"]!).Kind);
        Assert.Equal(((DateTimeOffset)state["dto"]!).Offset, ((DateTimeOffset)back["dto"]!).Offset);
        var nested = (Hashtable)back["nested"]!;
        Assert.Equal(new List<long> { 1, long.MaxValue }, nested["list"]);
        Assert.Equal(new object?[] { "a", null, 1.5 }, nested["arr"]);
        Assert.Equal("int key", nested[7]);
    }
}
