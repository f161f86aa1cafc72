using System.Collections;
using System.Text;
using System.Text.Json;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// A state node of balanced brackets but bad JSON is refused by whichever reader checks it first: the decoder's
/// reader (a whole-state restore), the document of <see cref="StepManifest.State"/> (selection, restore into a
/// state) or the open itself (a node no reader would check, here one a second state field replaces). The error was
/// built in each of the three places; these prove they give one exception type and one message shape.
/// </summary>
public sealed class StateNodeErrorTests : IDisposable
{
    private const string BadNode = """{"t":"hashtable","e":[["a" {"t":"i32","v":1}]]}""";

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Every_reader_of_a_state_node_that_is_not_json_refuses_it_with_the_same_exception_type_and_message_shape()
    {
        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, new Hashtable { ["a"] = 1 }, step: 1);
        var json = Encoding.UTF8.GetString(PlantedManifest.ReadJson(ck, 1));
        var dataLength = PlantedManifest.ReadNode(ck, 1)["dataLength"]!.GetValue<long>();
        var at = json.LastIndexOf("\"state\":", StringComparison.Ordinal) + 8;
        var goodNode = json[at..^1];

        var fromDecoder = Assert.ThrowsAny<Exception>(() =>
            new StateDecoder((_, _, _) => throw new InvalidOperationException("no tensor")).Decode(Encoding.UTF8.GetBytes(BadNode).AsMemory()));
        var fromDocument = Assert.ThrowsAny<Exception>(() =>
        {
            using var manifest = ManifestCodec.Parse(Encoding.UTF8.GetBytes(json[..at] + BadNode + "}"), dataLength);
            _ = manifest.State;
        });
        var fromOpen = Assert.ThrowsAny<Exception>(() =>
        {
            using var manifest = ManifestCodec.Parse(Encoding.UTF8.GetBytes(json[..at] + BadNode + ",\"state\":" + goodNode + "}"), dataLength);
        });

        foreach (var e in new[] { fromDecoder, fromDocument, fromOpen })
        {
            Assert.IsType<InvalidDataException>(e);
            var inner = Assert.IsAssignableFrom<JsonException>(e.InnerException);
            Assert.Equal($"{StateNodeErrors.NotJsonPrefix} ({inner.Message})", e.Message);
        }
    }

    [Fact]
    public void A_manifest_whose_second_state_field_replaces_a_good_node_opens_and_the_first_node_is_never_refused()
    {
        // The counterpart of the open's check above: it refuses the replaced node only when that node is bad.
        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, new Hashtable { ["a"] = 1 }, step: 1);
        var json = Encoding.UTF8.GetString(PlantedManifest.ReadJson(ck, 1));
        var dataLength = PlantedManifest.ReadNode(ck, 1)["dataLength"]!.GetValue<long>();
        var at = json.LastIndexOf("\"state\":", StringComparison.Ordinal) + 8;
        var goodNode = json[at..^1];

        using var manifest = ManifestCodec.Parse(Encoding.UTF8.GetBytes(json[..at] + goodNode + ",\"state\":" + goodNode + "}"), dataLength);
        Assert.Equal(JsonValueKind.Object, manifest.State.ValueKind);
    }
}
