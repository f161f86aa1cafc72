using System.Text.Json;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// The decoder builds a node's item name only when it needs one (an error, a tensor loader); the names it
/// then gives must be the full paths of the item grammar, however deep the node.
/// </summary>
public sealed class DecoderItemPathTests
{
    private static InvalidDataException DecodeFails(string stateJson)
    {
        using var doc = JsonDocument.Parse(stateJson);
        var decoder = new StateDecoder((_, _, item) => throw new InvalidOperationException($"no tensor expected, asked for '{item}'"));
        return Assert.Throws<InvalidDataException>(() => decoder.Decode(doc.RootElement));
    }

    [Fact]
    public void A_corrupt_leaf_under_a_key_and_a_list_position_is_named_by_its_full_path()
    {
        var e = DecodeFails("""{"t":"hashtable","e":[["ok",{"t":"i32","v":1}],["cfg",{"t":"hashtable","e":[["layers",{"t":"any[]","i":[{"t":"i32","v":0},{"t":"i32","v":"x"}]}]]}]]}""");
        Assert.Equal("integer value is missing (item 'cfg/layers/1')", e.Message);
    }

    [Fact]
    public void A_corrupt_leaf_under_an_integer_key_of_a_hashtable_is_named_with_the_typed_key_segment()
    {
        var e = DecodeFails("""{"t":"hashtable","e":[[{"t":"i32","v":7},{"t":"arraylist","i":[null,{"t":"f64"}]}]]}""");
        Assert.Equal("field 'b' is missing (item '~i32:7/1')", e.Message);
    }

    [Fact]
    public void A_corrupt_leaf_under_an_object_property_is_named_by_the_property()
    {
        var e = DecodeFails("""{"t":"psobject","p":[["model",{"t":"psobject","p":[["lr",{"t":"i64","v":12}]]}]]}""");
        Assert.Equal("field 'v' is not a string (item 'model/lr')", e.Message);
    }

    [Fact]
    public void A_tensor_loader_is_given_the_full_item_name_of_its_node()
    {
        using var doc = JsonDocument.Parse("""{"t":"hashtable","e":[["net",{"t":"hashtable","e":[["w",{"t":"tensor","ct":"f32[]","i":0}]]}]]}""");
        string? asked = null;
        var decoder = new StateDecoder((_, _, item) =>
        {
            asked = item;
            return new float[1];
        });
        decoder.Decode(doc.RootElement);
        Assert.Equal("net/w", asked);
    }
}
