using System.Buffers;
using System.Text.Json;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// A manifest's JSON is decoded into a pooled buffer, which the manifest returns to the pool when it is
/// disposed (issue 15 (h): a restore of 100,000 leaves no longer allocates a 3 MiB array). The buffer must
/// go back once only, and nothing may read it through the manifest after it went back.
/// </summary>
public sealed class PooledManifestBufferTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private StepManifest ParseSavedManifest()
    {
        var ck = _dir.Sub("ck");
        using (var handler = new CheckpointHandler())
        {
            handler.Save(ck, new Dictionary<string, object?> { ["a"] = 1, ["b"] = "text" }, step: 3);
        }

        var folder = PlantedManifest.Folder(ck, 3);
        var dataLength = new FileInfo(Path.Combine(folder, StepFormat.DataFile)).Length;
        return StepReader.ParseManifestFile(File.ReadAllBytes(PlantedManifest.ManifestPath(ck, 3)), dataLength);
    }

    [Fact]
    public void A_manifest_disposed_twice_returns_its_buffer_to_the_pool_once()
    {
        var manifest = ParseSavedManifest();
        var length = manifest.Document.RootElement.GetRawText().Length;
        manifest.Dispose();
        manifest.Dispose();

        // Returned twice, the same array would be handed out to both of the next two rents of its size.
        var first = ArrayPool<byte>.Shared.Rent(length);
        var second = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Assert.NotSame(first, second);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(second);
            ArrayPool<byte>.Shared.Return(first);
        }
    }

    [Fact]
    public void A_disposed_manifest_refuses_to_read_its_state_rather_than_read_a_reused_buffer()
    {
        var manifest = ParseSavedManifest();
        var state = manifest.State;
        Assert.Equal(JsonValueKind.Object, state.ValueKind);
        manifest.Dispose();

        Assert.Throws<ObjectDisposedException>(() => state.GetRawText());
        Assert.Throws<ObjectDisposedException>(() => manifest.Metadata.GetRawText());
    }

    [Fact]
    public void A_parsed_manifest_reads_its_state_and_metadata_from_the_pooled_buffer()
    {
        using var manifest = ParseSavedManifest();
        Assert.Equal(3, manifest.Step);
        Assert.Contains("\"text\"", manifest.State.GetRawText(), StringComparison.Ordinal);
        Assert.StartsWith("{", manifest.MetadataJson, StringComparison.Ordinal);
    }
}
