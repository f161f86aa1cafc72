using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Attack 20 (round 2) on CheckpointOptions.MetadataView: a listing stays lazy (the view runs once per record whose
/// Metadata is read, never for the others), and a C# caller without the option sees the engine's own types.
/// </summary>
public sealed class MetadataViewLazinessTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_listing_of_many_steps_runs_the_view_only_for_the_records_whose_metadata_is_read_and_once_each()
    {
        var dir = _dir.Sub("many");
        using (var plain = new CheckpointHandler())
        {
            for (var step = 0L; step < 150; step++)
            {
                plain.Save(dir, new Dictionary<string, object?> { ["x"] = step }, step: step,
                    metadata: new Dictionary<string, object?> { ["n"] = step });
            }
        }

        var calls = 0;
        using var viewing = new CheckpointHandler(new CheckpointOptions
        {
            MetadataView = m => { Interlocked.Increment(ref calls); return m; },
        });
        var records = viewing.ListCheckpoints(dir).ToList();
        Assert.Equal(150, records.Count);
        Assert.Equal(0, calls);

        Assert.Equal(7L, records[7].Metadata["n"]);
        Assert.Equal(7L, records[7].Metadata["n"]);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void Without_the_option_a_CSharp_caller_gets_the_generic_dictionary_with_integer_keys_as_saved()
    {
        var dir = _dir.Sub("plain");
        using var plain = new CheckpointHandler();
        plain.Save(dir, new Dictionary<string, object?> { ["x"] = 1L }, step: 1,
            metadata: new Dictionary<string, object?> { ["map"] = new Dictionary<int, string> { [5] = "five", [0] = "zero" } });

        var map = Assert.IsType<Dictionary<int, string>>(plain.ListCheckpoints(dir).Single().Metadata["map"]);
        Assert.Equal("zero", map[0]);
        var restored = Assert.IsType<Dictionary<int, string>>(plain.RestoreMetadata(dir, 1)!["map"]);
        Assert.Equal("five", restored[5]);
    }
}
