using System.Collections;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The data file's fsync overlapping the manifest runs on a pool thread; a save must not depend on one being
/// free (found by the attack on scalars): a state without tensors never used the pool before, and with every
/// pool thread the maximum allows blocked, its save hung in the wait for the fsync that no thread would run. A
/// save with tensors hung the same way on its first compression. The writer now runs the fsync, or the batch it
/// waits for, itself when no pool thread has taken it by then. Not parallel: it changes the process's pool.
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class OverlappedSealStarvationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_save_of_scalars_on_a_starved_pool_finishes_on_the_calling_thread() =>
        SaveOnAStarvedPool(new Hashtable { ["epoch"] = 2, ["lr"] = 0.5, ["name"] = "run" });

    [Fact]
    public void A_save_with_tensors_on_a_starved_pool_finishes_on_the_calling_thread()
    {
        var weights = new float[(3 << 20) + 5]; // two chunks, the second odd-sized
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = i * 0.25f;
        }

        var restored = SaveOnAStarvedPool(new Hashtable { ["epoch"] = 2, ["name"] = "run", ["w"] = weights, ["b"] = new double[] { 1.5 } });
        Assert.Equal(weights, (float[])restored["w"]!);
        Assert.Equal(new double[] { 1.5 }, (double[])restored["b"]!);
    }

    private IDictionary SaveOnAStarvedPool(Hashtable state)
    {
        var ck = Path.GetFullPath(_dir.Sub("ck"));
        using var handler = new CheckpointHandler();
        handler.Save(ck, new Hashtable { ["epoch"] = 1 }, step: 1); // the store exists: only the save is timed below
        Exception? failure = null;
        using (StarvedThreadPool.Start(blockFor: TimeSpan.FromSeconds(60)))
        {
            var saver = new Thread(() =>
            {
                try
                {
                    handler.Save(ck, state, step: 2);
                }
                catch (Exception e)
                {
                    failure = e;
                }
            });
            saver.Start();
            Assert.True(saver.Join(TimeSpan.FromSeconds(20)), "the save did not finish on a starved pool");
            Assert.Null(failure);
        }

        var restored = (IDictionary)handler.Restore(ck, 2)!;
        Assert.Equal(2, restored["epoch"]);
        Assert.Equal("run", restored["name"]);
        return restored;
    }
}
