using System.Text.Json.Nodes;
using DataraxCkpt.Format;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// Reads and rewrites a committed step's manifest, to plant what a hostile or newer writer would
/// leave. The index is deleted afterwards so the next operation rebuilds it from the folders, as it
/// would for a directory copied from elsewhere.
/// </summary>
internal static class StepFiles
{
    public static JsonObject ReadManifest(string checkpointDir, long step)
    {
        var file = File.ReadAllBytes(ManifestPath(checkpointDir, step));
        var json = new byte[Lz4Frame.ReadContentSize(file)];
        Lz4Frame.Decode(file, json);
        return JsonNode.Parse(json)!.AsObject();
    }

    /// <summary>
    /// Replaces a step's manifest. With <paramref name="keepIndex"/> the index row is kept and its
    /// manifest hash updated, so the planted manifest is what a restore of the indexed step reads;
    /// otherwise the index is deleted and rebuilt from the folders on next use.
    /// </summary>
    public static void WriteManifest(string checkpointDir, long step, JsonObject manifest, bool keepIndex)
    {
        var json = System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString());
        var frame = new byte[Lz4Frame.MaxFrameLength(json.Length)];
        var length = Lz4Frame.Encode(json, frame);
        var file = frame.AsSpan(0, length).ToArray();
        File.WriteAllBytes(ManifestPath(checkpointDir, step), file);
        if (!keepIndex)
        {
            DropIndex(checkpointDir);
            return;
        }

        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(checkpointDir, "index.sqlite")};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "UPDATE steps SET manifest_hash = $h WHERE step = $s";
        cmd.Parameters.AddWithValue("$h", StepWriter.ManifestHashOf(file));
        cmd.Parameters.AddWithValue("$s", step);
        if (cmd.ExecuteNonQuery() != 1)
        {
            throw new InvalidOperationException($"step {step} has no index row to update");
        }
    }

    /// <summary>Edits a step's manifest in place (see <see cref="WriteManifest"/> for <paramref name="keepIndex"/>).</summary>
    public static void Plant(string checkpointDir, long step, Action<JsonObject> edit, bool keepIndex = true)
    {
        var manifest = ReadManifest(checkpointDir, step);
        edit(manifest);
        WriteManifest(checkpointDir, step, manifest, keepIndex);
    }

    public static void DropIndex(string checkpointDir)
    {
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(Path.Combine(checkpointDir, "index.sqlite" + suffix));
        }
    }

    private static string ManifestPath(string checkpointDir, long step) => Path.Combine(checkpointDir, step.ToString(System.Globalization.CultureInfo.InvariantCulture), StepFormat.ManifestFile);
}
