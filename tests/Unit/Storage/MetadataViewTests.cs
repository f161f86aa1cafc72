using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// CheckpointOptions.MetadataView (the module's conversion of decoded metadata into PowerShell values) shapes what
/// records and RestoreMetadata show, and nothing the engine writes: a copy encodes the metadata as stored (attack of
/// session 20: with the view applied to the copy's read, Copy-Checkpoint of a step whose metadata held a PSCustomObject
/// handed the encoder a PSObject and failed).
/// </summary>
public sealed class MetadataViewTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A value no encoder accepts: what the view shows must never be written.</summary>
    private sealed class Shown(object? stored)
    {
        public object? Stored { get; } = stored;
    }

    private static IReadOnlyDictionary<string, object?> View(IReadOnlyDictionary<string, object?> metadata) =>
        metadata.ToDictionary(p => p.Key, p => (object?)new Shown(p.Value));

    [Fact]
    public void Records_and_metadata_reads_show_the_view_and_a_copy_writes_the_metadata_as_stored()
    {
        var from = _dir.Sub("from");
        var to = _dir.Sub("to");
        using (var plain = new CheckpointHandler())
        {
            plain.Save(from, new Dictionary<string, object?> { ["x"] = 1L }, step: 4,
                metadata: new Dictionary<string, object?> { ["cfg"] = new Dictionary<string, object?> { ["lr"] = 0.5 } });
        }

        using var viewing = new CheckpointHandler(new CheckpointOptions { MetadataView = View });
        Assert.IsType<Shown>(viewing.ListCheckpoints(from).Single().Metadata["cfg"]);
        Assert.IsType<Shown>(viewing.RestoreMetadata(from, 4)!["cfg"]);

        var copied = viewing.Copy(from, to, [4]).Single();

        Assert.IsType<Shown>(copied.Metadata["cfg"]);
        using var reader = new CheckpointHandler();
        var stored = Assert.IsAssignableFrom<IDictionary<string, object?>>(reader.RestoreMetadata(to, 4)!["cfg"]);
        Assert.Equal(0.5, stored["lr"]);
    }
}
