using DataraxCkpt.Tests.Support;
using static DataraxCkpt.Tests.Pipelines.PipelineTestData;

namespace DataraxCkpt.Tests.Pipelines;

/// <summary>
/// Exact resume through the engine: the state is saved with <see cref="IteratorCheckpoint"/> to a
/// checkpoint directory and restored into a freshly built pipeline.
/// </summary>
public sealed class PipelineCheckpointRoundTripTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Resuming_from_a_saved_step_reproduces_every_later_batch(bool shuffle, bool dropRemainder)
    {
        const int total = 40;
        using var dir = new TempDirectory();
        using var uninterrupted = Pipeline.FromSource(Source(23), 5, shuffle, seed: 99, dropRemainder);
        var reference = Take(uninterrupted, total);
        var random = new System.Random(777);
        using var checkpoint = new IteratorCheckpoint(dir.Path);

        var step = 0L;
        foreach (var stop in Enumerable.Range(0, 8).Select(_ => random.Next(0, total)).Append(0))
        {
            using var first = Pipeline.FromSource(Source(23), 5, shuffle, seed: 99, dropRemainder);
            Take(first, stop);
            checkpoint.Save(first, step);

            using var resumed = Pipeline.FromSource(Source(23), 5, shuffle, seed: 99, dropRemainder);
            checkpoint.Restore(resumed, step);

            Assert.Equal(reference.Skip(stop), Take(resumed, total - stop));
            step++;
        }
    }

    [Fact]
    public void Save_with_keep_retains_only_the_newest_steps_and_RestoreLatest_uses_the_highest()
    {
        using var dir = new TempDirectory();
        using var checkpoint = new IteratorCheckpoint(dir.Path);
        using var pipeline = Pipeline.FromSource(Source(50), 4, shuffle: true, seed: 1);

        for (var step = 0L; step < 6; step++)
        {
            Take(pipeline, 3);
            checkpoint.Save(pipeline, step, keep: 2);
        }

        Assert.Equal([4L, 5L], checkpoint.ListCheckpoints().Select(c => c.Step));
        Assert.Equal(5L, checkpoint.LatestStep());

        using var resumed = Pipeline.FromSource(Source(50), 4, shuffle: true, seed: 1);
        checkpoint.RestoreLatest(resumed);
        Assert.Equal(Take(pipeline, 10), Take(resumed, 10));
    }

    [Fact]
    public void SaveIfDue_saves_only_on_multiples_of_the_interval()
    {
        using var dir = new TempDirectory();
        using var checkpoint = new IteratorCheckpoint(dir.Path);
        using var pipeline = Pipeline.FromSource(Source(10), 2);

        for (var step = 0L; step < 7; step++)
        {
            Take(pipeline, 1);
            checkpoint.SaveIfDue(pipeline, step, interval: 3);
        }

        Assert.Equal([0L, 3L, 6L], checkpoint.ListCheckpoints().Select(c => c.Step));
    }

    [Fact]
    public void Restoring_a_saved_step_into_a_differently_configured_pipeline_fails_and_changes_nothing()
    {
        using var dir = new TempDirectory();
        using var checkpoint = new IteratorCheckpoint(dir.Path);
        using var saved = Pipeline.FromSource(Source(40), 8, shuffle: true, seed: 5);
        Take(saved, 3);
        checkpoint.Save(saved, 0);

        using var target = Pipeline.FromSource(Source(40), 4, shuffle: true, seed: 5);
        using var control = Pipeline.FromSource(Source(40), 4, shuffle: true, seed: 5);
        Take(target, 2);
        Take(control, 2);

        var error = Assert.Throws<IncompatibleStateException>(() => checkpoint.Restore(target, 0));

        Assert.Equal(["batchSize"], error.DifferingFields);
        Assert.Equal(Take(control, 15), Take(target, 15));
    }

    [Fact]
    public void The_guide_iterator_round_trips_through_the_engine()
    {
        using var dir = new TempDirectory();
        using var checkpoint = new IteratorCheckpoint(dir.Path);
        using var iterator = new MyCheckpointableIterator<int>([1, 2, 3, 4, 5]);
        iterator.MoveNext();
        iterator.MoveNext();
        checkpoint.Save(iterator, 1);
        iterator.MoveNext();

        checkpoint.Restore(iterator, 1);

        Assert.True(iterator.MoveNext());
        Assert.Equal(3, iterator.Current);
    }

    [Fact]
    public void RestoreLatest_in_an_empty_directory_reports_no_checkpoints()
    {
        using var dir = new TempDirectory();
        using var checkpoint = new IteratorCheckpoint(dir.Path);
        using var pipeline = Pipeline.FromSource(Source(3), 1);

        Assert.False(checkpoint.HasCheckpoint());
        Assert.Throws<NoCheckpointsException>(() => checkpoint.RestoreLatest(pipeline));
    }

    // The guide's "Checkpointing Datarax Modules" flow with the handler directly: a pipeline is an
    // ICheckpointable target for Save and Restore<T>, and its key comes back as a PrngKey.
    [Fact]
    public void A_pipeline_is_a_checkpointable_target_of_the_handler_itself()
    {
        using var dir = new TempDirectory();
        using var handler = new CheckpointHandler();
        using var pipeline = Pipeline.FromSource(Source(100), 10, shuffle: true, seed: 42);
        Take(pipeline, 13);
        handler.Save(dir.Path, pipeline, step: 13);

        var raw = Assert.IsAssignableFrom<IDictionary<string, object?>>(handler.Restore(dir.Path, 13));
        Assert.Equal(PrngKey.Create(42), raw["key"]);
        Assert.Equal(30L, raw["position"]); // 13 batches of 10 over 100 records: epoch 1, 3 batches in
        Assert.Equal(1L, raw["epoch"]);

        using var fresh = Pipeline.FromSource(Source(100), 10, shuffle: true, seed: 42);
        Assert.Same(fresh, handler.Restore(dir.Path, fresh, 13));
        Assert.Equal(Take(pipeline, 25), Take(fresh, 25));
    }
}
