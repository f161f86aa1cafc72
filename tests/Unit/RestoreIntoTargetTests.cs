using System.Collections;
using DataraxCkpt.Tests.Support;
using static DataraxCkpt.Tests.Pipelines.PipelineTestData;

namespace DataraxCkpt.Tests;

/// <summary>
/// <see cref="CheckpointHandler.Restore{T}(string, T, long?)"/> with a stored state that does not fit the
/// target: IncompatibleStateException (id IncompatibleState) naming the differing fields, and the target
/// left exactly as it was.
/// </summary>
public sealed class RestoreIntoTargetTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void A_stored_state_that_is_not_a_dictionary_is_refused_and_the_target_is_untouched()
    {
        _handler.Save(_dir.Path, new float[] { 1f, 2f, 3f }, step: 1);
        var target = new RecordingTarget();

        var error = Assert.Throws<IncompatibleStateException>(() => _handler.Restore(_dir.Path, target));

        Assert.Equal("IncompatibleState", error.ErrorId);
        Assert.Equal(["state"], error.DifferingFields);
        Assert.Contains("the stored state is a Single[], not a dictionary", error.Message, StringComparison.Ordinal);
        Assert.Contains("Differing fields: state", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, target.SetStateCalls);
        Assert.Equal(RecordingTarget.Initial, target.Value);
    }

    [Fact]
    public void A_stored_dictionary_with_a_non_string_key_is_refused_and_the_target_is_untouched()
    {
        _handler.Save(_dir.Path, new Hashtable { [7] = "seven", ["name"] = "x" }, step: 1);
        var target = new RecordingTarget();

        var error = Assert.Throws<IncompatibleStateException>(() => _handler.Restore(_dir.Path, target, step: 1));

        Assert.Equal("IncompatibleState", error.ErrorId);
        Assert.Equal(["keys"], error.DifferingFields);
        Assert.Matches("the stored state has a key of type Int(32|64), where a checkpointable target takes string keys", error.Message);
        Assert.Equal(0, target.SetStateCalls);
        Assert.Equal(RecordingTarget.Initial, target.Value);
    }

    [Fact]
    public void A_pipeline_built_with_another_batch_size_is_refused_by_name_and_keeps_its_position()
    {
        using var saved = Pipeline.FromSource(Source(40), 8, shuffle: true, seed: 5);
        Take(saved, 3);
        _handler.Save(_dir.Path, saved, step: 1);

        using var target = Pipeline.FromSource(Source(40), 4, shuffle: true, seed: 5);
        using var control = Pipeline.FromSource(Source(40), 4, shuffle: true, seed: 5);
        Take(target, 2);
        Take(control, 2);

        var error = Assert.Throws<IncompatibleStateException>(() => _handler.Restore(_dir.Path, target));

        Assert.Equal("IncompatibleState", error.ErrorId);
        Assert.Equal(["batchSize"], error.DifferingFields);
        Assert.Contains("batchSize", error.Message, StringComparison.Ordinal);
        Assert.Equal(Take(control, 15), Take(target, 15));
    }

    [Fact]
    public void A_fitting_state_is_restored_into_the_target()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["value"] = "restored" }, step: 3);
        var target = new RecordingTarget();

        Assert.Same(target, _handler.Restore(_dir.Path, target));

        Assert.Equal(1, target.SetStateCalls);
        Assert.Equal("restored", target.Value);
    }

    private sealed class RecordingTarget : ICheckpointable
    {
        public const string Initial = "initial";

        public string? Value { get; private set; } = Initial;

        public int SetStateCalls { get; private set; }

        public IDictionary<string, object?> GetState() => new Dictionary<string, object?> { ["value"] = Value };

        public void SetState(IDictionary<string, object?> state)
        {
            SetStateCalls++;
            Value = (string?)state["value"];
        }
    }
}
