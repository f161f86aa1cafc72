using DataraxCkpt.Bench;

namespace DataraxCkpt.Tests.Bench;

/// <summary>
/// Scenarios (a) and (b) run their restore pairs in RestorePairOrder's order (bench/DataraxCkpt.Bench/RestorePairOrder.cs):
/// interleaved with the pairs into existing memory, the first read of each pair into new arrays met memory the collector
/// had given back and paid for it, so the side that went first in more pairs lost the median (round 74 of
/// docs/performance-notes.md).
/// </summary>
public sealed class RestorePairOrderTests
{
    [Fact]
    public void Every_pair_into_new_arrays_runs_before_any_pair_into_existing_memory()
    {
        var order = RestorePairOrder.Measured(11).ToList();

        Assert.Equal(44, order.Count);
        Assert.All(order.Take(22), o => Assert.Equal(RestoreComparison.NewArrays, o.Comparison));
        Assert.All(order.Skip(22), o => Assert.Equal(RestoreComparison.ExistingMemory, o.Comparison));
    }

    [Fact]
    public void Each_comparison_pairs_the_engine_with_the_raw_read_and_alternates_which_goes_first()
    {
        foreach (var comparison in new[] { RestoreComparison.NewArrays, RestoreComparison.ExistingMemory })
        {
            var sides = RestorePairOrder.Measured(5).Where(o => o.Comparison == comparison).Select(o => o.Engine).ToList();

            Assert.Equal([true, false, false, true, true, false, false, true, true, false], sides);
        }
    }
}
