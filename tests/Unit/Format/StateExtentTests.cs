using System.Collections;
using System.Text;
using System.Text.Json;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// Opening a step finds the state node's end by its brackets and quotes alone (round 27 of
/// docs/performance-notes.md) and leaves the JSON check to whoever reads the node. These tests prove the end is
/// the one the JSON tokenizer finds, that cut-off and too-deep nodes are still refused at open, and that a node of
/// balanced brackets but bad JSON is refused as corrupt by every reader of it (restore, selection, items, verify).
/// </summary>
public sealed class StateExtentTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Where the tokenizer ends the value at the start of <paramref name="json"/>.</summary>
    private static int SkipEnd(byte[] json)
    {
        var r = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = StateEncoder.MaxJsonDepth });
        r.Read();
        r.Skip();
        return (int)r.BytesConsumed;
    }

    [Theory]
    [InlineData("""{"t":"i32","v":1}""")]
    [InlineData("""[]""")]
    [InlineData("""{"t":"str","v":"a]}\"\\}\\","x":[1,[2,{"y":"{["}]]}""")]
    [InlineData("""{"t":"str","v":"\\\""}""")]
    [InlineData("""{ "t" : "hashtable" , "e" : [ [ "k\u00e9\ud83d\ude00" , { "t" : "f64" , "b" : "8000000000000000" } ] ] }""")]
    public void The_extent_of_a_node_ends_where_the_json_tokenizer_ends_it(string node)
    {
        var bytes = Encoding.UTF8.GetBytes(node + ""","after":"]}"}""");
        Assert.Equal(SkipEnd(bytes), ManifestCodec.StateExtent(bytes, StateEncoder.MaxJsonDepth - 1));
    }

    [Fact]
    public void The_extent_of_an_encoded_state_with_escapes_and_surrogates_ends_where_the_tokenizer_ends_it()
    {
        var state = new Hashtable(StringComparer.OrdinalIgnoreCase)
        {
            ["s"] = "q\"b\\]}{[\u0001\ud83d\ude00x\udc00", ["n"] = new Hashtable { ["\"]"] = new object?[] { -0.0, double.NaN, "[", 1L } }, ["i"] = 7,
        };
        var encoded = StateEncoder.Encode(state, null);
        try
        {
            var node = EncodedNode.Of(encoded);
            Assert.Equal(node.Length, ManifestCodec.StateExtent(node, StateEncoder.MaxJsonDepth - 1));
            Assert.Equal(SkipEnd(node), node.Length);
        }
        finally
        {
            encoded.Release();
        }
    }

    [Theory]
    [InlineData("""{"t":"i32","v":1""")]
    [InlineData("""{"t":"str","v":"abc}""")]
    [InlineData("""{"t":"str","v":"abc\""")]
    [InlineData("[\"a\\")]
    [InlineData("""[[{}]""")]
    public void A_node_cut_off_before_its_end_is_refused(string node) =>
        Assert.Throws<JsonException>(() => ManifestCodec.StateExtent(Encoding.UTF8.GetBytes(node), StateEncoder.MaxJsonDepth - 1));

    [Fact]
    public void The_depth_limit_of_the_extent_is_the_one_the_manifest_tokenizer_applied()
    {
        // The manifest's root object is one level; a state node of limit-1 levels was accepted, one more refused.
        foreach (var levels in new[] { StateEncoder.MaxJsonDepth - 1, StateEncoder.MaxJsonDepth })
        {
            var node = new string('[', levels) + new string(']', levels);
            var manifest = Encoding.UTF8.GetBytes("{\"state\":" + node + "}");
            var tokenizerAccepts = true;
            try
            {
                var r = new Utf8JsonReader(manifest, new JsonReaderOptions { MaxDepth = StateEncoder.MaxJsonDepth });
                while (r.Read())
                {
                }
            }
            catch (JsonException)
            {
                tokenizerAccepts = false;
            }

            var bytes = Encoding.UTF8.GetBytes(node);
            if (tokenizerAccepts)
            {
                Assert.Equal(bytes.Length, ManifestCodec.StateExtent(bytes, StateEncoder.MaxJsonDepth - 1));
            }
            else
            {
                Assert.Throws<JsonException>(() => ManifestCodec.StateExtent(bytes, StateEncoder.MaxJsonDepth - 1));
            }

            Assert.Equal(levels == StateEncoder.MaxJsonDepth - 1, tokenizerAccepts);
        }
    }

    /// <summary>The step's manifest with its state node replaced by <paramref name="state"/> (the writer puts it last).</summary>
    private static void PlantState(string ck, long step, string state)
    {
        var json = Encoding.UTF8.GetString(PlantedManifest.ReadJson(ck, step));
        var at = json.LastIndexOf("\"state\":", StringComparison.Ordinal);
        PlantedManifest.PlantFile(ck, step, PlantedManifest.Frame(Encoding.UTF8.GetBytes(json[..(at + 8)] + state)));
    }

    [Theory]
    [InlineData("""{"t":"hashtable","e":[["a" {"t":"i32","v":1}]]}}""")]
    [InlineData("""{"t":"hashtable","e":[["a",{"t":"i32","v":01}]]}}""")]
    [InlineData("""{"t":"hashtable","e":[["a",{"t":"i32","v":1,}]]}}""")]
    [InlineData("""{"t":"hashtable","e":[["a",{"t":"i32","v":1}]}]}""")]
    public void A_state_node_of_balanced_brackets_but_bad_json_is_corrupt_for_every_reader_of_it(string state)
    {
        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, new Hashtable { ["a"] = 1 }, step: 1);
        PlantState(ck, 1, state);
        Assert.Contains("not valid JSON", Assert.Throws<CorruptCheckpointException>(() => handler.Restore(ck, 1)).Message, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", Assert.Throws<CorruptCheckpointException>(() => handler.Restore(ck, 1, ["*"])).Message, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", Assert.Throws<CorruptCheckpointException>(() => handler.RestoreInto(ck, new Hashtable { ["a"] = 0 }, 1)).Message, StringComparison.Ordinal);
        Assert.NotEmpty(handler.Verify(ck, 1).Problems);
    }

    [Fact]
    public void A_manifest_with_fields_after_its_state_node_opens_and_restores()
    {
        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, new Hashtable { ["a"] = 1 }, step: 1);
        // Another writer may order the root's fields differently: what follows the node is still read.
        PlantState(ck, 1, """{"t":"hashtable","e":[["a",{"t":"i32","v":5}]]},"x-extra":{"k":"]"}}""");
        Assert.Equal(5, Assert.IsType<Hashtable>(handler.Restore(ck, 1))["a"]);
        Assert.Empty(handler.Verify(ck, 1).Problems);
    }

    [Theory]
    [InlineData("""{"t":"hashtable","e":[]},"x-extra":]}""")]
    [InlineData("""{"t":"hashtable","e":[]}}{}""")]
    [InlineData("""{"t":"hashtable","e":[]}""")]
    public void Bad_json_after_the_state_node_is_refused_when_the_step_is_opened(string state)
    {
        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, new Hashtable { ["a"] = 1 }, step: 1);
        PlantState(ck, 1, state);
        var e = Assert.Throws<CorruptCheckpointException>(() => handler.Restore(ck, 1));
        Assert.Equal(StepFormat.ManifestFile, e.Item);
    }
}
