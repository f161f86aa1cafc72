using System.Globalization;
using System.Text.Json.Nodes;
using DataraxCkpt.Format;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Reliability;

/// <summary>
/// Reads and plants step manifests the way a careful attacker would: the JSON is re-framed with a valid
/// LZ4 checksum and the index row is updated to the new manifest's hash, so the engine's JSON reader,
/// validator and decoder are really exercised instead of stopping at the first checksum.
/// </summary>
public static class PlantedManifest
{
    public static string Folder(string ck, long step) => Path.Combine(ck, step.ToString(CultureInfo.InvariantCulture));

    public static string ManifestPath(string ck, long step) => Path.Combine(Folder(ck, step), StepFormat.ManifestFile);

    /// <summary>The raw JSON inside a step's manifest frame.</summary>
    /// <summary>
    /// The manifest's JSON with its state node last, as engines before round 69 wrote it (a save now writes it first):
    /// tests that plant text by position (after <c>"state":</c>) keep working, and every planted step is one in the
    /// older member order, which readers must still read. <see cref="ReadStoredJson"/> is the file's own text.
    /// </summary>
    public static byte[] ReadJson(string ck, long step)
    {
        var json = ReadStoredJson(ck, step);
        var start = "{\"state\":"u8;
        if (!json.AsSpan().StartsWith(start))
        {
            return json;
        }

        var nodeEnd = start.Length + ManifestCodec.StateExtent(json.AsSpan(start.Length), DataraxCkpt.Values.StateEncoder.MaxJsonDepth - 1);
        // {"state":NODE,OTHERS} -> {OTHERS,"state":NODE}
        return [.. "{"u8, .. json.AsSpan(nodeEnd + 1, json.Length - nodeEnd - 2), .. ",\"state\":"u8, .. json.AsSpan(start.Length, nodeEnd - start.Length), .. "}"u8];
    }

    /// <summary>The manifest's JSON as the file holds it.</summary>
    public static byte[] ReadStoredJson(string ck, long step)
    {
        var frame = File.ReadAllBytes(ManifestPath(ck, step));
        var json = new byte[Lz4Frame.ReadContentSize(frame)];
        Lz4Frame.Decode(frame, json);
        return json;
    }

    public static JsonObject ReadNode(string ck, long step) => (JsonObject)JsonNode.Parse(ReadJson(ck, step))!;

    /// <summary>
    /// Rewrites a manifest of the current writer (items derived from the state, feature
    /// <c>items-from-state</c>) the way an engine before that feature wrote it: with the per-leaf
    /// <c>items</c> array and no <c>requires</c>, so that tests of the old form can tamper with its items.
    /// </summary>
    public static JsonObject ToLegacy(JsonObject root)
    {
        var json = System.Text.Encoding.UTF8.GetBytes(root.ToJsonString());
        using var manifest = ManifestCodec.Parse(json, root["dataLength"]!.GetValue<long>());
        var items = new JsonArray();
        foreach (var i in manifest.Items)
        {
            items.Add(new JsonArray(i.Name, i.Kind, i.DType, i.Shape is null ? null : new JsonArray(i.Shape.Select(d => (JsonNode?)d).ToArray()), i.Size, i.TensorIndex));
        }

        root.Remove("requires");
        root.Remove("items");
        var rebuilt = new JsonObject();
        foreach (var (key, value) in root.ToList())
        {
            root.Remove(key);
            if (key == "metadata")
            {
                rebuilt["items"] = items;
            }

            rebuilt[key] = value;
        }

        foreach (var (key, value) in rebuilt.ToList())
        {
            rebuilt.Remove(key);
            root[key] = value;
        }

        return root;
    }

    /// <summary>Frames <paramref name="json"/> with a valid checksum.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> json)
    {
        var frame = new byte[Lz4Frame.MaxFrameLength(json.Length)];
        var length = Lz4Frame.Encode(json, frame);
        return frame.AsSpan(0, length).ToArray();
    }

    /// <summary>Writes <paramref name="manifestFile"/> as the step's manifest and makes the index agree with it.</summary>
    public static void PlantFile(string ck, long step, byte[] manifestFile, SqliteConnection? index = null)
    {
        File.WriteAllBytes(ManifestPath(ck, step), manifestFile);
        var own = index is null;
        index ??= OpenIndex(ck);
        try
        {
            using var cmd = index.CreateCommand();
            cmd.CommandText = "UPDATE steps SET manifest_hash = $h WHERE step = $s;";
            cmd.Parameters.AddWithValue("$h", StepWriter.ManifestHashOf(manifestFile));
            cmd.Parameters.AddWithValue("$s", step);
            cmd.ExecuteNonQuery();
        }
        finally
        {
            if (own)
            {
                index.Dispose();
            }
        }
    }

    public static void Plant(string ck, long step, JsonNode manifest) =>
        PlantFile(ck, step, Frame(System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString())));

    /// <summary>An open connection to a directory's index, without fsync (test set-up only).</summary>
    public static SqliteConnection OpenIndex(string ck)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(ck, "index.sqlite"), Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA synchronous = OFF;";
        cmd.ExecuteNonQuery();
        return c;
    }
}
