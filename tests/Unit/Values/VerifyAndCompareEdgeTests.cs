using System.Collections.Specialized;
using System.Collections;
using System.Text;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// Verify and Compare over values the restore reads without trouble (typed lists of tensors, arrays of PRNG
/// keys) and over a step whose hashtable repeats a key (found by the attack on the one-pass state reader):
/// Verify never calls a valid step damaged, Compare answers or reports the step corrupt like Restore does.
/// </summary>
public sealed class VerifyAndCompareEdgeTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private static void PlantState(string ck, long step, string state)
    {
        var json = Encoding.UTF8.GetString(PlantedManifest.ReadJson(ck, step));
        var at = json.LastIndexOf("\"state\":", StringComparison.Ordinal);
        PlantedManifest.PlantFile(ck, step, PlantedManifest.Frame(Encoding.UTF8.GetBytes(json[..(at + 8)] + state)));
    }

    private static void FlipFirstChunkOf(string ck, long step, string itemName)
    {
        var folder = PlantedManifest.Folder(ck, step);
        var dataPath = Path.Combine(folder, StepFormat.DataFile);
        using var manifest = StepReader.ParseManifestFile(File.ReadAllBytes(Path.Combine(folder, StepFormat.ManifestFile)), new FileInfo(dataPath).Length);
        var index = manifest.Items.Single(i => i.Name == itemName).TensorIndex;
        var chunk = manifest.Tensors[index].Chunks[0];
        using var f = new FileStream(dataPath, FileMode.Open, FileAccess.ReadWrite);
        f.Position = chunk.Offset + (chunk.StoredLength / 2);
        var b = f.ReadByte();
        f.Position = chunk.Offset + (chunk.StoredLength / 2);
        f.WriteByte((byte)(b ^ 0x5A));
    }

    public static TheoryData<string, object> TypedListsOfTensors() => new()
    {
        { "List<float[]>", new List<float[]> { new float[] { 1, 2 }, Array.Empty<float>() } },
        { "List<List<double>>", new List<List<double>> { new() { 1 }, new() } },
        { "List<double[,]>", new List<double[,]> { new double[,] { { 1, 2 }, { 3, 4 } } } },
    };

    [Theory]
    [MemberData(nameof(TypedListsOfTensors))]
    public void Verify_finds_no_problem_in_a_valid_step_holding_a_typed_list_of_tensors(string name, object list)
    {
        var ck = _dir.Sub("ck");
        _handler.Save(ck, new Hashtable { ["lt"] = list }, step: 1);
        Assert.NotNull(_handler.Restore(ck, 1));

        var v = _handler.Verify(ck, 1);

        Assert.True(v.Ok, $"{name}: " + string.Join("; ", v.Problems.Select(p => $"{p.Item}: {p.Problem}")));
    }

    [Fact]
    public void Verify_reports_a_damaged_tensor_inside_a_typed_list()
    {
        var ck = _dir.Sub("ck");
        var data = Enumerable.Range(0, 4096).Select(i => (float)Math.Sin(i)).ToArray();
        _handler.Save(ck, new Hashtable { ["lt"] = new List<float[]> { new float[] { 1, 2 }, data } }, step: 1);
        FlipFirstChunkOf(ck, 1, "lt/1");

        var v = _handler.Verify(ck, 1);

        Assert.False(v.Ok);
        Assert.Contains(v.Problems, p => p.Item == "lt/1");
    }

    [Fact]
    public void Verify_reports_a_typed_list_element_whose_tensor_reference_the_manifest_lacks()
    {
        var ck = _dir.Sub("ck");
        _handler.Save(ck, new Hashtable { ["lt"] = new List<float[]> { new float[] { 1, 2 } } }, step: 1);
        var json = Encoding.UTF8.GetString(PlantedManifest.ReadJson(ck, 1));
        var at = json.LastIndexOf("\"state\":", StringComparison.Ordinal);
        var state = json[(at + 8)..];
        Assert.Contains("\"i\":0", state, StringComparison.Ordinal);
        PlantState(ck, 1, state.Replace("\"i\":0", "\"i\":99", StringComparison.Ordinal));
        Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(ck, 1));

        var v = _handler.Verify(ck, 1);

        Assert.False(v.Ok);
    }

    [Fact]
    public void Compare_reports_arrays_of_PRNG_keys_as_equal_or_changed()
    {
        var ck = _dir.Sub("ck");
        PrngKey Key(uint a) => new(PrngKey.Threefry2x32Impl, [a, 2u]);
        _handler.Save(ck, new Hashtable { ["keys"] = new PrngKey?[] { null, Key(1) }, ["same"] = new[] { Key(3) } }, step: 1);
        _handler.Save(ck, new Hashtable { ["keys"] = new PrngKey?[] { null, Key(2) }, ["same"] = new[] { Key(3) } }, step: 2);

        var differences = _handler.Compare(ck, 1, 2);

        var changed = Assert.Single(differences);
        Assert.Equal("keys", changed.Name);
        Assert.Equal("Changed", changed.Change);
        Assert.Empty(_handler.Compare(ck, 1, 1));
    }

    [Fact]
    public void Compare_of_a_step_whose_hashtable_repeats_a_key_is_corruption_of_that_step_as_for_restore()
    {
        var ck = _dir.Sub("ck");
        _handler.Save(ck, new Hashtable { ["a"] = 1 }, step: 1);
        _handler.Save(ck, new Hashtable { ["a"] = 1 }, step: 2);
        PlantState(ck, 2, """{"t":"hashtable","e":[["a",{"t":"i32","v":1}],["a",{"t":"i32","v":2}]]}}""");
        var restore = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(ck, 2));
        Assert.Equal(2, restore.Step);

        var forward = Assert.Throws<CorruptCheckpointException>(() => _handler.Compare(ck, 1, 2));
        var backward = Assert.Throws<CorruptCheckpointException>(() => _handler.Compare(ck, 2, 1));

        Assert.Equal(2, forward.Step);
        Assert.Equal(2, backward.Step);
    }

    private static void Plant(string ck, long step, string from, string to)
    {
        var json = Encoding.UTF8.GetString(PlantedManifest.ReadJson(ck, step));
        Assert.Contains(from, json, StringComparison.Ordinal);
        PlantedManifest.PlantFile(ck, step, PlantedManifest.Frame(Encoding.UTF8.GetBytes(json.Replace(from, to, StringComparison.Ordinal))));
    }

    private static Hashtable TypedLists() => new()
    {
        ["l"] = new List<float[]> { new float[] { 1, 2 } },
        ["m"] = new List<double[,]> { new double[,] { { 1 } } },
    };

    private static Hashtable CaseInsensitive() => new(StringComparer.OrdinalIgnoreCase) { ["a"] = 1, ["b"] = 2 };

    /// <summary>
    /// Plantings a restore refuses while every leaf still reads by name: a typed list whose element type no
    /// longer fits its tensors' containers, and a case-insensitive hashtable given a second key differing only
    /// in case (found by the attack on Compare, which decoded leaves by name and so reported the step unchanged,
    /// or as one leaf added and one removed).
    /// </summary>
    public static TheoryData<string, bool, string, string> PlantingsRestoreRefuses() => new()
    {
        { "list<f32[]> made list<f64[]>", false, "list\\u003Cf32[]", "list\\u003Cf64[]" },
        { "list<f32[]> made list<f32[,]>", false, "list\\u003Cf32[]", "list\\u003Cf32[,]" },
        { "list<f64[,]> made list<f64[,,]>", false, "list\\u003Cf64[,]", "list\\u003Cf64[,,]" },
        { "list<f32[]> made list<list<f32>>", false, "list\\u003Cf32[]\\u003E", "list\\u003Clist\\u003Cf32\\u003E\\u003E" },
        { "element container f32[] made list<f32>", false, "\"ct\":\"f32[]\"", "\"ct\":\"list\\u003Cf32\\u003E\"" },
        { "case-insensitive keys a and A", true, "[\"b\",", "[\"A\"," },
    };

    [Theory]
    [MemberData(nameof(PlantingsRestoreRefuses))]
    public void Compare_refuses_a_step_restore_refuses_with_the_same_corruption_naming_that_step(string name, bool caseInsensitive, string from, string to)
    {
        var ck = _dir.Sub("ck");
        _handler.Save(ck, caseInsensitive ? CaseInsensitive() : TypedLists(), step: 1);
        _handler.Save(ck, caseInsensitive ? CaseInsensitive() : TypedLists(), step: 2);
        Plant(ck, 2, from, to);
        var restore = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(ck, 2));
        Assert.Equal(2, restore.Step);

        foreach (var (before, after) in new[] { (1L, 2L), (2L, 1L), (2L, 2L) })
        {
            var compare = Assert.Throws<CorruptCheckpointException>(() => _handler.Compare(ck, before, after));

            Assert.True(compare.Step == 2 && compare.Item == restore.Item && compare.Problem == restore.Problem,
                $"{name}, {before} vs {after}: step {compare.Step}, item '{compare.Item}': {compare.Problem}; restore: item '{restore.Item}': {restore.Problem}");
        }
    }

    /// <summary>
    /// A leaf node that also carries a child array (<c>{"t":"i32","v":99,"e":[...]}</c>, a planted manifest): a
    /// restore reads it as the leaf its type says (the one-pass reader decides by type), so Compare, item
    /// listing and selection must see that leaf too, not the children (found by the attack on Compare: the
    /// name walk decided by the presence of the field, saw <c>a/b</c> unchanged where a restore gives a = 99).
    /// </summary>
    [Theory]
    [InlineData("e", "[[\"b\",{\"t\":\"i32\",\"v\":2}]]")]
    [InlineData("p", "[[\"b\",{\"t\":\"i32\",\"v\":2}]]")]
    [InlineData("i", "[{\"t\":\"i32\",\"v\":2}]")]
    public void Compare_and_items_read_a_leaf_node_carrying_a_child_array_as_the_leaf_a_restore_gives(string field, string children)
    {
        var ck = _dir.Sub("ck");
        var inner = field == "i" ? (object)new ArrayList { 2 } : new Hashtable { ["b"] = 2 };
        _handler.Save(ck, new Hashtable { ["a"] = inner }, step: 1);
        _handler.Save(ck, new Hashtable { ["a"] = 1 }, step: 2);
        PlantState(ck, 2, "{\"t\":\"hashtable\",\"e\":[[\"a\",{\"t\":\"i32\",\"v\":99,\"" + field + "\":" + children + "}]]}}");

        object? restored;
        try
        {
            restored = ((Hashtable)_handler.Restore(ck, 2)!)["a"];
        }
        catch (CorruptCheckpointException restore)
        {
            // Refused as corrupt: Compare must refuse it alike.
            var compare = Assert.Throws<CorruptCheckpointException>(() => _handler.Compare(ck, 1, 2));
            Assert.Equal(2, compare.Step);
            Assert.Equal(restore.Problem, compare.Problem);
            return;
        }

        Assert.Equal(99, restored);
        var differences = _handler.Compare(ck, 1, 2);
        // The path was a container in step 1 and is a leaf in step 2: one change of kind, from the container's type to the leaf's.
        Assert.Contains(differences, d => d.Name == "a" && d.Change == "Changed" && d.DTypeBefore == (field == "i" ? "arraylist" : "hashtable") && d.DTypeAfter == "i32");
        Assert.Empty(_handler.Compare(ck, 2, 2));
        Assert.Equal(new[] { "a" }, _handler.GetItems(ck, 2).Select(i => i.Name));
        Assert.Equal(99, _handler.Restore(ck, 2, ["a"]) is OrderedDictionary partial ? partial["a"] : null);
    }
}
