using System.Text;
using System.Text.Json;
using DataraxCkpt.Format;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Support;

/// <summary>
/// The state node an encoder wrote, read back from the manifest it makes: the walk's node is compressed as it is
/// written and never held whole (round 69), so a test that wants its text ends the manifest and takes the member.
/// Ends the state's manifest: call once per encoded state.
/// </summary>
internal static class EncodedNode
{
    public static byte[] Of(EncodedState encoded)
    {
        var manifest = ManifestCodec.Write(1, "0123456789abcdef0123456789abcdef", DateTimeOffset.UnixEpoch, encoded, [], 0);
        Assert.StartsWith("{\"state\":", Encoding.UTF8.GetString(manifest, 0, Math.Min(9, manifest.Length)));
        using var doc = JsonDocument.Parse(manifest, new JsonDocumentOptions { MaxDepth = StateEncoder.MaxJsonDepth });
        return Encoding.UTF8.GetBytes(doc.RootElement.GetProperty("state").GetRawText());
    }

    public static string TextOf(EncodedState encoded) => Encoding.UTF8.GetString(Of(encoded));
}
