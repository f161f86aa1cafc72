using System.Text;
using System.Text.Json.Nodes;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// Every number a manifest holds (version, step, lengths, sizes, shapes, chunk offsets, lengths and
/// checksums, tensor indexes and the numbers inside state nodes), replaced by a string, a bool, null, a
/// fraction, a negative or a huge value: reading the manifest and decoding its state either succeeds or
/// fails with the engine's corruption error (InvalidDataException, reported as CorruptCheckpointException),
/// never InvalidOperationException, FormatException or OverflowException from the JSON reader.
/// </summary>
public sealed class ManifestNumberFieldTests : IDisposable
{
    private static readonly Lazy<(JsonObject Manifest, long DataLength)> Sample = new(Build);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (JsonObject, long) Build()
    {
        using var dir = new TempDirectory();
        var ck = dir.Sub("ck");
        using var h = new CheckpointHandler();
        var state = new Dictionary<string, object?>
        {
            // Scalars first: the decoder below loads no tensor, so it stops at the first one.
            ["when"] = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)),
            ["d"] = 12.5m,
            ["n"] = 7L,
            ["s"] = "text",
            ["w"] = new float[] { 1, 2, 3 },
            ["m"] = new double[,] { { 1, 2 }, { 3, 4 } },
        };
        h.Save(ck, state, step: 3);
        return (StepFiles.ReadManifest(ck, 3), new FileInfo(Path.Combine(ck, "3", StepFormat.DataFile)).Length);
    }

    private static readonly string[] BadValues = ["\"12\"", "true", "null", "1.5", "-1", "-9223372036854775809", "1e30", "18446744073709551616"];

    /// <summary>Every path (a JSON pointer) to a number in the sample manifest.</summary>
    public static TheoryData<string> NumberPaths() => new(NumberPathList());

    private static List<string> NumberPathList()
    {
        var paths = new List<string>();
        void Walk(JsonNode? node, string path)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (k, v) in o)
                    {
                        Walk(v, path + "/" + k);
                    }

                    break;
                case JsonArray a:
                    for (var i = 0; i < a.Count; i++)
                    {
                        Walk(a[i], path + "/" + i);
                    }

                    break;
                case JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.Number:
                    paths.Add(path);
                    break;
            }
        }

        Walk(Sample.Value.Manifest, "");
        return paths;
    }

    [Fact]
    public void The_table_covers_the_header_the_tensor_table_and_the_state()
    {
        var paths = NumberPathList();
        foreach (var expected in new[] { "/version", "/step", "/dataLength", "/size", "/tensors/0/shape/0", "/tensors/0/chunks/0/0", "/tensors/0/chunks/0/1", "/tensors/0/chunks/0/2", "/tensors/0/chunks/0/3" })
        {
            Assert.Contains(expected, paths);
        }

        Assert.Contains(paths, p => p.StartsWith("/state/", StringComparison.Ordinal) && p.EndsWith("/i", StringComparison.Ordinal));
        Assert.Contains(paths, p => p.EndsWith("/offsetMinutes", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(NumberPaths))]
    public void A_number_field_holding_anything_else_reads_as_a_valid_manifest_or_as_corruption(string path)
    {
        foreach (var bad in BadValues)
        {
            var manifest = (JsonObject)Sample.Value.Manifest.DeepClone();
            Replace(manifest, path, JsonNode.Parse(bad));
            var json = Encoding.UTF8.GetBytes(manifest.ToJsonString());
            try
            {
                using var parsed = ManifestCodec.Parse(json, Sample.Value.DataLength);
                _ = parsed.Items;
                _ = new StateDecoder((_, _, _) => throw new InvalidDataException("no tensor is loaded here")).Decode(parsed.State);
            }
            catch (InvalidDataException)
            {
                // The engine's corruption error: what every reader reports as a corrupt step.
            }
            catch (Exception e)
            {
                Assert.Fail($"{path} = {bad}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    [Fact]
    public void A_chunk_offset_that_is_a_string_fails_the_restore_as_corruption_and_repair_reports_the_step()
    {
        var ck = _dir.Sub("ck");
        using var h = new CheckpointHandler();
        h.Save(ck, new Dictionary<string, object?> { ["w"] = new float[] { 1, 2 } }, step: 1);
        h.Save(ck, new Dictionary<string, object?> { ["w"] = new float[] { 3, 4 } }, step: 2);
        StepFiles.Plant(ck, 2, m => m["tensors"]![0]!["chunks"]![0]![0] = "0");

        var e = Assert.Throws<CorruptCheckpointException>(() => h.Restore(ck, 2));
        Assert.Equal(2, e.Step);
        var report = h.RepairIndex(ck, dryRun: true);
        Assert.Contains(report.Problems, p => p.Contains("step 2", StringComparison.Ordinal));
    }

    private static void Replace(JsonObject root, string path, JsonNode? value)
    {
        var parts = path.Split('/')[1..];
        JsonNode parent = root;
        foreach (var part in parts[..^1])
        {
            parent = parent is JsonArray a ? a[int.Parse(part, System.Globalization.CultureInfo.InvariantCulture)]! : parent[part]!;
        }

        var last = parts[^1];
        if (parent is JsonArray array)
        {
            array[int.Parse(last, System.Globalization.CultureInfo.InvariantCulture)] = value;
        }
        else
        {
            parent[last] = value;
        }
    }
}
