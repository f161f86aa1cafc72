using System.Text.Json.Nodes;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The engine against the committed conformance corpus (docs/format-samples): every committed step
/// restores to exactly its expected values, so a reader that drifts from the format fails here.
/// </summary>
public sealed class ConformanceSampleTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<long> Steps => new(ConformanceSamples.States().Select(s => s.Step));

    [Theory]
    [MemberData(nameof(Steps))]
    public void A_committed_sample_step_restores_to_its_expected_values(long step)
    {
        var samples = ConformanceSamples.SamplesDirectory();
        var checkpointDir = CopySteps(samples);
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(samples, $"{step}.expected.json")))!;
        using var handler = new CheckpointHandler();

        var actual = ConformanceSamples.Expected(handler, checkpointDir, step);

        Assert.True(handler.Verify(checkpointDir, step).Ok);
        foreach (var field in new[] { "step", "size", "storedSize", "itemCount", "items", "metadata", "shared", "state" })
        {
            Assert.True(JsonNode.DeepEquals(expected[field], actual[field]), $"step {step}, {field}: expected {expected[field]?.ToJsonString()}, got {actual[field]?.ToJsonString()}");
        }
    }

    [Fact]
    public void The_generator_states_restore_to_the_committed_expected_values()
    {
        var samples = ConformanceSamples.SamplesDirectory();
        if (Environment.GetEnvironmentVariable(ConformanceSamples.RegenerateVariable) == "1")
        {
            ConformanceSamples.Generate(samples, _dir.Sub("generate"));
        }

        // Saved afresh, the generator's states restore to what the corpus records: the expected values
        // are the values that were saved, not merely what some reader returned. (Stored sizes depend on
        // the compressor and are left out.)
        var fresh = _dir.Sub("fresh");
        using var handler = new CheckpointHandler();
        foreach (var (step, state, metadata) in ConformanceSamples.States())
        {
            handler.Save(fresh, state, step: step, metadata: metadata);
            var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(samples, $"{step}.expected.json")))!;
            var actual = ConformanceSamples.Expected(handler, fresh, step);
            Assert.True(JsonNode.DeepEquals(expected["state"], actual["state"]), $"step {step}: the committed expected state is not the generator's state");
            Assert.True(JsonNode.DeepEquals(expected["metadata"], actual["metadata"]));
            Assert.True(JsonNode.DeepEquals(expected["shared"], actual["shared"]));
            Assert.True(JsonNode.DeepEquals(expected["size"], actual["size"]));
        }
    }

    [Fact]
    public void A_reader_that_drifts_fails_the_comparison()
    {
        // The comparison is not vacuous: one changed bit of one value is a difference.
        var samples = ConformanceSamples.SamplesDirectory();
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(samples, "1.expected.json")))!;
        var drifted = JsonNode.Parse(expected.ToJsonString())!;
        var entries = drifted["state"]!["entries"]!.AsArray();
        var f64 = entries.First(e => e![0]!["value"]!.GetValue<string>() == "f64")!;
        f64[1]!["value"] = "400921fb54442d19";

        Assert.False(JsonNode.DeepEquals(expected["state"], drifted["state"]));
    }

    private string CopySteps(string samples)
    {
        var target = _dir.Sub("corpus");
        Directory.CreateDirectory(target);
        foreach (var folder in Directory.GetDirectories(samples))
        {
            var name = Path.GetFileName(folder);
            Directory.CreateDirectory(Path.Combine(target, name));
            foreach (var file in Directory.GetFiles(folder))
            {
                File.Copy(file, Path.Combine(target, name, Path.GetFileName(file)));
            }
        }

        return target;
    }
}
