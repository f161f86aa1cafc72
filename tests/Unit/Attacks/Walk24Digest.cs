using System.Reflection;
using System.Runtime.Loader;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// The bytes an encoder writes for a state: the state node (as the manifest holds it), the metadata node and the item
/// list blob, or the refusal's type and message. This engine's through its internals; main's (a DataraxCkpt.Engine.dll
/// built from 068ca73) loaded into a context of its own and called by reflection, in the same process.
/// </summary>
internal static class Walk24Digest
{
    public sealed record Bytes(string Node, string Meta, byte[] Items, string? Error);

    public static Bytes Head(object? state, IReadOnlyDictionary<string, object?>? meta)
    {
        EncodedState encoded;
        try
        {
            encoded = StateEncoder.Encode(state, meta);
        }
        catch (Exception e)
        {
            return new Bytes(string.Empty, string.Empty, [], e.GetType().Name + ": " + e.Message);
        }

        try
        {
            var items = encoded.ItemList.ToArray(_ => 0);
            var metaText = Encoding.UTF8.GetString(encoded.MetadataNode.Span);
            var manifest = DataraxCkpt.Format.ManifestCodec.Write(1, "0123456789abcdef0123456789abcdef", DateTimeOffset.UnixEpoch, encoded, [], 0);
            using var doc = JsonDocument.Parse(manifest, new JsonDocumentOptions { MaxDepth = StateEncoder.MaxJsonDepth + 8 });
            return new Bytes(doc.RootElement.GetProperty("state").GetRawText(), metaText, items, null);
        }
        finally
        {
            encoded.Release();
        }
    }

    /// <summary>SHA-256 of a group's bytes, case after case.</summary>
    public static string Hash(IEnumerable<Bytes> cases)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var b in cases)
        {
            if (b.Error is not null)
            {
                sha.AppendData(Encoding.UTF8.GetBytes("error\0" + b.Error + "\0"));
                continue;
            }

            sha.AppendData(Encoding.UTF8.GetBytes(b.Node + "\0" + b.Meta + "\0"));
            sha.AppendData(b.Items);
            sha.AppendData([0]);
        }

        return Convert.ToHexString(sha.GetHashAndReset());
    }

    /// <summary>Where two encodings differ first, or null.</summary>
    public static string? Difference(Bytes main, Bytes head)
    {
        if (main.Error != head.Error)
        {
            return $"refusal: main {main.Error ?? "none"}, this {head.Error ?? "none"}";
        }

        if (main.Node != head.Node)
        {
            var at = main.Node.AsSpan().CommonPrefixLength(head.Node);
            return $"state node differs at {at}: main …{Slice(main.Node, at)}…, this …{Slice(head.Node, at)}…";
        }

        if (main.Meta != head.Meta)
        {
            var at = main.Meta.AsSpan().CommonPrefixLength(head.Meta);
            return $"metadata node differs at {at}: main …{Slice(main.Meta, at)}…, this …{Slice(head.Meta, at)}…";
        }

        return main.Items.AsSpan().SequenceEqual(head.Items) ? null : $"item list blob differs ({main.Items.Length} vs {head.Items.Length} bytes)";
    }

    private static string Slice(string s, int at) => s.Substring(Math.Max(0, at - 40), Math.Min(s.Length - Math.Max(0, at - 40), 80));
}
