using System.Collections;
using System.Text;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The attack on round 27's open (the state node's end found by brackets and quotes, its JSON checked by whoever
/// reads it): a step whose state node is not JSON must stay refused wherever the open used to refuse it, not
/// only where a reader of the node happens to run.
/// </summary>
public sealed class StateExtentAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private const string BadNode = """{"t":"hashtable","e":[["a" {"t":"i32","v":1}]]}""";

    /// <summary>The manifest's JSON with its state node (the last field) replaced by <paramref name="state"/>.</summary>
    private static string WithState(string json, string state)
    {
        var at = json.LastIndexOf("\"state\":", StringComparison.Ordinal);
        return json[..(at + 8)] + state + "}";
    }

    /// <summary>Steps 1 and 2 of <c>{a: n}</c> (and a tensor <c>w</c> when asked): the planted nodes below differ from step 1's only in their JSON.</summary>
    private string SavedStep(bool withTensor = true)
    {
        var ck = _dir.Sub("ck");
        _handler.Save(ck, withTensor ? new Hashtable { ["a"] = 1, ["w"] = new[] { 1f, 2f } } : new Hashtable { ["a"] = 1 }, step: 1);
        _handler.Save(ck, new Hashtable { ["a"] = 2, ["w"] = new[] { 1f, 2f } }, step: 2);
        return ck;
    }

    [Fact]
    public void A_legacy_step_whose_state_node_is_not_json_is_not_listed_by_an_index_rebuild()
    {
        var ck = SavedStep();
        var legacy = PlantedManifest.ToLegacy(PlantedManifest.ReadNode(ck, 1)).ToJsonString();
        File.WriteAllBytes(PlantedManifest.ManifestPath(ck, 1), PlantedManifest.Frame(Encoding.UTF8.GetBytes(WithState(legacy, BadNode))));
        StepFiles.DropIndex(ck);

        Assert.Equal([2L], _handler.ListCheckpoints(ck).Select(c => c.Step));
        var report = _handler.RepairIndex(ck);
        Assert.Contains(report.Problems, p => p.Contains("step 1", StringComparison.Ordinal) && p.Contains("not valid JSON", StringComparison.Ordinal));
        Assert.Equal([2L], _handler.ListCheckpoints(ck).Select(c => c.Step));
    }

    [Fact]
    public void A_newer_step_whose_state_node_is_not_json_is_corrupt_not_newer()
    {
        var ck = SavedStep();
        var json = Encoding.UTF8.GetString(PlantedManifest.ReadJson(ck, 1)).Replace("\"version\":1,", "\"version\":2,", StringComparison.Ordinal);
        PlantedManifest.PlantFile(ck, 1, PlantedManifest.Frame(Encoding.UTF8.GetBytes(WithState(json, BadNode))));

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(ck, 1));
        Assert.Equal(1L, e.Step);
        StepFiles.DropIndex(ck);
        Assert.Equal([2L], _handler.ListCheckpoints(ck).Select(c => c.Step));
    }

    [Fact]
    public void A_state_node_that_is_not_json_followed_by_a_second_state_field_is_refused()
    {
        var ck = SavedStep();
        var json = Encoding.UTF8.GetString(PlantedManifest.ReadJson(ck, 1));
        var at = json.LastIndexOf("\"state\":", StringComparison.Ordinal);
        var good = json[(at + 8)..^1];
        // The first state node is bad JSON of balanced brackets; the second, which the document keeps, is valid.
        PlantedManifest.PlantFile(ck, 1, PlantedManifest.Frame(Encoding.UTF8.GetBytes(json[..(at + 8)] + BadNode + ",\"state\":" + good + "}")));

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(ck, 1));
        Assert.Equal(1L, e.Step);
        Assert.False(_handler.Verify(ck, 1).Ok);
    }

    public static TheoryData<string> BadNodes() => new()
    {
        BadNode,
        """{"t":"hashtable","e":[["a",{"t":"i32","v":1}],]}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":1}]],}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":1}]]  x}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":1}]],"x":tru}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":+1}]]}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":1.}]]}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":-}]]}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":NaN}]]}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":1}]],"x":"\q"}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":1}]],"x":"\u12"}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":1}]],"x" "y"}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":1}]],"x":1 "y":2}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":1}]],"x"}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":1}]],1:2}""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":1}]]]""",
        """{"t":"hashtable","e":[["a",{"t":"i32","v":1}}]]""",
        "{\"t\":\"hashtable\",\"e\":[[\"a\",{\"t\":\"i32\",\"v\":1}]],\"x\":\"a\nb\"}",
        "{\"t\":\"hashtable\",\"e\":[[\"a\",{\"t\":\"i32\",\"v\":1}]],\"x\":\"a\0b\"}",
        "{\"t\":\"hashtable\",\"e\":[[\"a\",{\"t\":\"i32\",\"v\":1}]],\0\"x\":1}",
        "{\"t\":\"hashtable\",\"e\":[[\"a\",{\"t\":\"i32\",\"v\":1}]],\"x\":1}//",
    };

    [Theory]
    [MemberData(nameof(BadNodes))]
    public void A_state_node_that_is_not_json_is_corrupt_for_every_consumer_and_names_the_step(string node)
    {
        var ck = SavedStep(withTensor: false);
        var json = Encoding.UTF8.GetString(PlantedManifest.ReadJson(ck, 1));
        PlantedManifest.PlantFile(ck, 1, PlantedManifest.Frame(Encoding.UTF8.GetBytes(WithState(json, node))));

        void Corrupt(Action act)
        {
            var e = Assert.Throws<CorruptCheckpointException>(act);
            Assert.Equal(1L, e.Step);
        }

        Corrupt(() => _handler.Restore(ck, 1));
        Corrupt(() => _handler.Restore(ck, 1, ["a"]));
        Corrupt(() => _handler.RestoreInto(ck, new Hashtable { ["a"] = 0 }, 1));
        Corrupt(() => _handler.Compare(ck, 1, 2));
        Corrupt(() => _handler.Compare(ck, 2, 1));
        Corrupt(() => _handler.GetStatistics(ck, 1));
        Corrupt(() => _handler.CompareNumeric(ck, 1, 2));
        Assert.False(_handler.Verify(ck, 1).Ok);
        StepFiles.DropIndex(ck);
        Assert.Equal([2L], _handler.ListCheckpoints(ck).Select(c => c.Step));
    }

    [Fact]
    public void The_valid_node_the_bad_ones_are_made_from_restores_lists_and_verifies()
    {
        var ck = SavedStep(withTensor: false);
        var json = Encoding.UTF8.GetString(PlantedManifest.ReadJson(ck, 1));
        PlantedManifest.PlantFile(ck, 1, PlantedManifest.Frame(Encoding.UTF8.GetBytes(WithState(json, """{"t":"hashtable","e":[["a",{"t":"i32","v":7}]]}"""))));

        Assert.Equal(7, Assert.IsType<Hashtable>(_handler.Restore(ck, 1))["a"]);
        Assert.Empty(_handler.CompareNumeric(ck, 1, 2));
        Assert.True(_handler.Verify(ck, 1).Ok);
        StepFiles.DropIndex(ck);
        Assert.Equal([1L, 2L], _handler.ListCheckpoints(ck).Select(c => c.Step));
    }

    [Fact]
    public void A_state_node_with_invalid_utf8_is_corrupt_for_every_consumer()
    {
        var ck = SavedStep(withTensor: false);
        var json = PlantedManifest.ReadJson(ck, 1);
        var text = Encoding.UTF8.GetString(json);
        var at = text.LastIndexOf("\"state\":", StringComparison.Ordinal);
        var head = Encoding.UTF8.GetBytes(text[..(at + 8)]);
        byte[] node = [.. "{\"t\":\"hashtable\",\"e\":[[\"a\",{\"t\":\"str\",\"v\":\"x"u8, 0xC3, 0x28, 0xFF, .. "\"}]]}}"u8];
        PlantedManifest.PlantFile(ck, 1, PlantedManifest.Frame([.. head, .. node]));

        void Corrupt(Action act)
        {
            var e = Assert.Throws<CorruptCheckpointException>(act);
            Assert.Equal(1L, e.Step);
        }

        Corrupt(() => _handler.Restore(ck, 1));
        Corrupt(() => _handler.Restore(ck, 1, ["a"]));
        Corrupt(() => _handler.Compare(ck, 1, 2));
        Assert.False(_handler.Verify(ck, 1).Ok);
        StepFiles.DropIndex(ck);
        Assert.Equal([2L], _handler.ListCheckpoints(ck).Select(c => c.Step));
    }

    [Theory]
    [InlineData(62)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    public void A_state_node_nesting_about_the_limit_is_corrupt_naming_the_step_for_every_consumer(int levels)
    {
        var ck = SavedStep(withTensor: false);
        var json = Encoding.UTF8.GetString(PlantedManifest.ReadJson(ck, 1));
        // The node's object and the entry array are two levels, the entry list a third: the rest is an array nest.
        var inner = levels - 3;
        PlantedManifest.PlantFile(ck, 1, PlantedManifest.Frame(Encoding.UTF8.GetBytes(
            WithState(json, "{\"t\":\"hashtable\",\"e\":[[\"a\"," + new string('[', inner) + new string(']', inner) + "]]}"))));

        void Corrupt(Action act)
        {
            var e = Assert.Throws<CorruptCheckpointException>(act);
            Assert.Equal(1L, e.Step);
        }

        Corrupt(() => _handler.Restore(ck, 1));
        Corrupt(() => _handler.Restore(ck, 1, ["a"]));
        Corrupt(() => _handler.RestoreInto(ck, new Hashtable { ["a"] = 0 }, 1));
        Corrupt(() => _handler.Compare(ck, 2, 1));
        Corrupt(() => _handler.CompareNumeric(ck, 1, 2));
        Corrupt(() => _handler.GetStatistics(ck, 1));
        Assert.False(_handler.Verify(ck, 1).Ok);
        StepFiles.DropIndex(ck);
        Assert.Equal([2L], _handler.ListCheckpoints(ck).Select(c => c.Step));
    }
}
