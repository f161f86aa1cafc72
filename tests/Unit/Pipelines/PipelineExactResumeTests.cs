using static DataraxCkpt.Tests.Pipelines.PipelineTestData;

namespace DataraxCkpt.Tests.Pipelines;

/// <summary>
/// Exact resume in memory: stop at many random points (fixed seed), take the state, build a fresh
/// pipeline, restore, and compare every later batch with the uninterrupted run. The same through the
/// engine on disk is in <see cref="PipelineCheckpointRoundTripTests"/>.
/// </summary>
public sealed class PipelineExactResumeTests
{
    public static TheoryData<int, int, bool, bool> Configurations()
    {
        var data = new TheoryData<int, int, bool, bool>();
        foreach (var (count, batchSize) in new[] { (23, 5), (40, 8), (9, 10), (1, 1) })
        {
            foreach (var shuffle in new[] { false, true })
            {
                foreach (var dropRemainder in new[] { false, true })
                {
                    if (dropRemainder && count < batchSize)
                    {
                        continue; // no batch at all; covered by the batching tests
                    }

                    data.Add(count, batchSize, shuffle, dropRemainder);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Resuming_from_any_point_reproduces_every_later_batch(int count, int batchSize, bool shuffle, bool dropRemainder)
    {
        const long seed = 20261128;
        const int total = 60; // spans several epochs in every configuration
        using var uninterrupted = Pipeline.FromSource(Source(count), batchSize, shuffle, seed, dropRemainder);
        var reference = Take(uninterrupted, total);
        var random = new System.Random(12345);

        var stops = Enumerable.Range(0, 25).Select(_ => random.Next(0, total)).Append(0).Append(total - 1);
        foreach (var stop in stops)
        {
            using var first = Pipeline.FromSource(Source(count), batchSize, shuffle, seed, dropRemainder);
            Take(first, stop);
            var state = first.GetState();

            using var resumed = Pipeline.FromSource(Source(count), batchSize, shuffle, seed, dropRemainder);
            resumed.SetState(state);

            Assert.Equal(reference.Skip(stop), Take(resumed, total - stop));
        }
    }

    [Fact]
    public void Resuming_exactly_at_an_epoch_boundary_starts_the_next_epoch()
    {
        using var uninterrupted = Pipeline.FromSource(Source(12), batchSize: 4, shuffle: true, seed: 3);
        var reference = Take(uninterrupted, 9);

        using var first = Pipeline.FromSource(Source(12), batchSize: 4, shuffle: true, seed: 3);
        Take(first, 3); // exactly one epoch
        Assert.Equal(0, first.Epoch);
        Assert.Equal(12, first.Position);

        using var resumed = Pipeline.FromSource(Source(12), batchSize: 4, shuffle: true, seed: 3);
        resumed.SetState(first.GetState());

        Assert.Equal(reference.Skip(3), Take(resumed, 6));
        Assert.Equal(2, resumed.Epoch);
    }
}
