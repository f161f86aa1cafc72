using static DataraxCkpt.Tests.Pipelines.PipelineTestData;

namespace DataraxCkpt.Tests.Pipelines;

/// <summary>What a pipeline yields: batch sizes, epoch boundaries and orders.</summary>
public sealed class PipelineBatchingTests
{
    [Fact]
    public void Without_shuffle_batches_follow_index_order_and_continue_into_the_next_epoch()
    {
        using var pipeline = Pipeline.FromSource(Source(7), batchSize: 3);

        var batches = Take(pipeline, 5);

        Assert.Equal([0, 1, 2], batches[0]);
        Assert.Equal([3, 4, 5], batches[1]);
        Assert.Equal([6], batches[2]); // an epoch's short last batch is not merged with the next epoch
        Assert.Equal([0, 1, 2], batches[3]);
        Assert.Equal([3, 4, 5], batches[4]);
        Assert.Equal(1, pipeline.Epoch);
        Assert.Equal(3, pipeline.BatchesPerEpoch);
    }

    [Fact]
    public void DropRemainder_skips_the_short_last_batch_of_each_epoch()
    {
        using var pipeline = Pipeline.FromSource(Source(7), batchSize: 3, dropRemainder: true);

        var batches = Take(pipeline, 4);

        Assert.Equal([0, 1, 2], batches[0]);
        Assert.Equal([3, 4, 5], batches[1]);
        Assert.Equal([0, 1, 2], batches[2]);
        Assert.Equal([3, 4, 5], batches[3]);
        Assert.Equal(2, pipeline.BatchesPerEpoch);
    }

    [Theory]
    [InlineData(0, 4, false)]
    [InlineData(3, 4, true)]
    public void A_pipeline_with_no_batch_per_epoch_ends_instead_of_spinning(int count, int batchSize, bool dropRemainder)
    {
        using var pipeline = Pipeline.FromSource(Source(count), batchSize, shuffle: true, dropRemainder: dropRemainder);

        Assert.False(pipeline.MoveNext());
        Assert.Throws<InvalidOperationException>(() => pipeline.Current);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(10, 3)]
    [InlineData(64, 8)]
    [InlineData(101, 7)]
    [InlineData(1000, 32)]
    public void With_shuffle_each_epoch_visits_every_record_exactly_once(int count, int batchSize)
    {
        using var pipeline = Pipeline.FromSource(Source(count), batchSize, shuffle: true, seed: 17);

        foreach (var epoch in Epochs(pipeline, 5))
        {
            Assert.Equal(Enumerable.Range(0, count), epoch.Order());
        }
    }

    [Fact]
    public void With_shuffle_and_dropRemainder_each_epoch_yields_distinct_records_in_whole_batches()
    {
        using var pipeline = Pipeline.FromSource(Source(103), batchSize: 10, shuffle: true, seed: 3, dropRemainder: true);

        foreach (var epoch in Epochs(pipeline, 4))
        {
            Assert.Equal(100, epoch.Length);
            Assert.Equal(100, epoch.Distinct().Count());
            Assert.All(epoch, r => Assert.InRange(r, 0, 102));
        }
    }

    [Fact]
    public void Distinct_epochs_give_different_orders()
    {
        using var pipeline = Pipeline.FromSource(Source(50), batchSize: 5, shuffle: true, seed: 42);

        var epochs = Epochs(pipeline, 10);

        Assert.Equal(10, epochs.Select(e => string.Join(",", e)).Distinct().Count());
        Assert.NotEqual(Enumerable.Range(0, 50), epochs[0]); // shuffled, not index order
    }

    [Fact]
    public void The_order_depends_only_on_seed_and_epoch()
    {
        using var a = Pipeline.FromSource(Source(40), batchSize: 6, shuffle: true, seed: 9);
        using var b = Pipeline.FromSource(Source(40), batchSize: 6, shuffle: true, seed: 9);
        using var other = Pipeline.FromSource(Source(40), batchSize: 6, shuffle: true, seed: 10);

        var first = Epochs(a, 3);
        Assert.Equal(first, Epochs(b, 3));
        Assert.NotEqual(first[0], Epochs(other, 1)[0]);
    }

    [Fact]
    public void Epoch_e_is_the_permutation_drawn_from_the_key_folded_with_e()
    {
        using var pipeline = Pipeline.FromSource(Source(30), batchSize: 30, shuffle: true, seed: 5);

        var epochs = Epochs(pipeline, 3);

        for (var e = 0; e < epochs.Count; e++)
        {
            Assert.Equal(EpochPermutation.Create(PrngKey.Create(5).FoldIn((uint)e), 30), epochs[e]);
        }
    }

    [Fact]
    public void Reset_returns_to_the_start_of_epoch_zero()
    {
        using var pipeline = Pipeline.FromSource(Source(20), batchSize: 6, shuffle: true, seed: 1);
        var first = Take(pipeline, 6);

        pipeline.Reset();

        Assert.Equal(first, Take(pipeline, 6));
    }

    [Fact]
    public void Invalid_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Pipeline.FromSource(Source(3), batchSize: 0));
        Assert.Throws<ArgumentNullException>(() => Pipeline.FromSource<int>(null!, batchSize: 1));
        Assert.Throws<ArgumentNullException>(() => new MemorySource<int>(null!));
    }
}
