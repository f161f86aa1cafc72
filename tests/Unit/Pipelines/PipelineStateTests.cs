using System.Collections.Specialized;
using static DataraxCkpt.Tests.Pipelines.PipelineTestData;

namespace DataraxCkpt.Tests.Pipelines;

/// <summary>The pipeline's state: what it holds, and what restoring it accepts and refuses.</summary>
public sealed class PipelineStateTests
{
    [Fact]
    public void State_holds_position_epoch_key_and_fingerprint_but_no_records()
    {
        using var pipeline = Pipeline.FromSource(Source(25), batchSize: 4, shuffle: true, seed: 77, dropRemainder: true);
        Take(pipeline, 8); // epoch 0 has 6 batches: now in epoch 1 after 2 batches

        var state = pipeline.GetState();

        Assert.Equal(["epoch", "fingerprint", "key", "position"], state.Keys.Order());
        Assert.Equal(8L, state["position"]);
        Assert.Equal(1L, state["epoch"]);
        Assert.Equal(PrngKey.Create(77), state["key"]);
        var fingerprint = Assert.IsType<Dictionary<string, object?>>(state["fingerprint"]);
        Assert.Equal(25L, fingerprint["recordCount"]);
        Assert.Equal(4L, fingerprint["batchSize"]);
        Assert.Equal(true, fingerprint["shuffle"]);
        Assert.Equal(77L, fingerprint["seed"]);
        Assert.Equal(true, fingerprint["dropRemainder"]);
        Assert.Equal(5, fingerprint.Count);
    }

    [Fact]
    public void Restoring_into_a_pipeline_with_another_configuration_names_the_differing_fields()
    {
        using var saved = Pipeline.FromSource(Source(100), batchSize: 10, shuffle: true, seed: 1);
        Take(saved, 3);
        var state = saved.GetState();
        using var target = Pipeline.FromSource(Source(90), batchSize: 5, shuffle: true, seed: 2);

        var error = Assert.Throws<IncompatibleStateException>(() => target.SetState(state));

        Assert.Equal(["recordCount", "batchSize", "seed"], error.DifferingFields);
        Assert.Equal("IncompatibleState", error.ErrorId);
        Assert.Contains("recordCount: checkpoint 100, this pipeline 90", error.Message, StringComparison.Ordinal);
        Assert.Contains("seed: checkpoint 1, this pipeline 2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, 0L, false)]
    [InlineData(true, 0L, true)]
    public void Shuffle_and_dropRemainder_are_part_of_the_fingerprint(bool shuffle, long seed, bool dropRemainder)
    {
        using var saved = Pipeline.FromSource(Source(10), batchSize: 3, shuffle: !shuffle, seed: seed, dropRemainder: !dropRemainder);
        using var target = Pipeline.FromSource(Source(10), batchSize: 3, shuffle: shuffle, seed: seed, dropRemainder: dropRemainder);

        var error = Assert.Throws<IncompatibleStateException>(() => target.SetState(saved.GetState()));

        Assert.Equal(["shuffle", "dropRemainder"], error.DifferingFields);
    }

    [Fact]
    public void A_refused_restore_leaves_the_pipeline_untouched()
    {
        using var control = Pipeline.FromSource(Source(30), batchSize: 4, shuffle: true, seed: 8);
        using var target = Pipeline.FromSource(Source(30), batchSize: 4, shuffle: true, seed: 8);
        Take(control, 9);
        Take(target, 9);
        var lastBatch = target.Current.ToArray();

        using var other = Pipeline.FromSource(Source(30), batchSize: 4, shuffle: true, seed: 9);
        Take(other, 2);
        Assert.Throws<IncompatibleStateException>(() => target.SetState(other.GetState()));

        Assert.Equal(lastBatch, target.Current);
        Assert.Equal(control.Epoch, target.Epoch);
        Assert.Equal(control.Position, target.Position);
        Assert.Equal(Take(control, 12), Take(target, 12));
    }

    [Fact]
    public void A_state_whose_fingerprint_matches_but_whose_position_is_off_a_batch_boundary_is_refused_without_change()
    {
        using var target = Pipeline.FromSource(Source(30), batchSize: 4, shuffle: true, seed: 8);
        Take(target, 2);
        var state = target.GetState();
        state["position"] = 5L;
        state["epoch"] = -1L;

        var error = Assert.Throws<IncompatibleStateException>(() => target.SetState(state));

        Assert.Equal(["epoch", "position"], error.DifferingFields);
        Assert.Equal(8, target.Position);
        Assert.Equal(0, target.Epoch);
    }

    [Fact]
    public void A_state_with_a_foreign_key_or_no_fingerprint_is_refused()
    {
        using var target = Pipeline.FromSource(Source(30), batchSize: 4, shuffle: true, seed: 8);
        var state = target.GetState();
        state["key"] = PrngKey.Create(8).FoldIn(1);
        Assert.Equal(["key"], Assert.Throws<IncompatibleStateException>(() => target.SetState(state)).DifferingFields);

        state.Remove("fingerprint");
        state["key"] = PrngKey.Create(8);
        Assert.Equal(["fingerprint"], Assert.Throws<IncompatibleStateException>(() => target.SetState(state)).DifferingFields);
    }

    // PowerShell, or the engine's decoder, may hand the state back as an OrderedDictionary with int
    // counters; the pipeline accepts every faithful form.
    [Fact]
    public void A_state_returned_as_ordered_dictionaries_with_narrower_integers_restores()
    {
        using var saved = Pipeline.FromSource(Source(50), batchSize: 7, shuffle: true, seed: 4);
        Take(saved, 10);
        var state = saved.GetState();
        var fingerprint = new OrderedDictionary();
        foreach (var (k, v) in (Dictionary<string, object?>)state["fingerprint"]!)
        {
            fingerprint[k] = v is long l ? (object)(int)l : v;
        }

        var converted = new Dictionary<string, object?>
        {
            ["position"] = (int)(long)state["position"]!,
            ["epoch"] = (int)(long)state["epoch"]!,
            ["key"] = state["key"],
            ["fingerprint"] = fingerprint,
        };
        using var restored = Pipeline.FromSource(Source(50), batchSize: 7, shuffle: true, seed: 4);

        restored.SetState(converted);

        Assert.Equal(Take(saved, 20), Take(restored, 20));
    }

    [Fact]
    public void Current_is_cleared_by_a_restore()
    {
        using var pipeline = Pipeline.FromSource(Source(10), batchSize: 2);
        Take(pipeline, 1);

        pipeline.SetState(pipeline.GetState());

        Assert.Throws<InvalidOperationException>(() => pipeline.Current);
    }

    [Fact]
    public void A_different_batch_size_is_reported_alone_not_also_as_an_unreachable_position()
    {
        using var saved = Pipeline.FromSource(Source(30), batchSize: 4);
        Take(saved, 2); // position 8: not a boundary of batches of 3
        using var target = Pipeline.FromSource(Source(30), batchSize: 3);

        var error = Assert.Throws<IncompatibleStateException>(() => target.SetState(saved.GetState()));

        Assert.Equal(["batchSize"], error.DifferingFields);
    }
}
