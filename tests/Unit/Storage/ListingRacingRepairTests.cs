using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Readers of a writable directory open the index without the directory lock. A repair (another process,
/// here another handler) moves the damaged index file, its log and shared memory aside and renames the
/// rebuilt one in: an open racing that failed with a bare "SQLite Error 14: unable to open database file"
/// or "I/O error writing the index", and the repair itself with FileNotFoundException when a reader's
/// closing connection deleted the log it had just found (found by the attack on indexlist).
/// </summary>
public sealed class ListingRacingRepairTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Listings_racing_repairs_that_swap_the_index_file_list_every_step_and_every_repair_succeeds()
    {
        var ck = _dir.Sub("ck");
        using (var h0 = new CheckpointHandler())
        {
            for (var s = 1; s <= 20; s++)
            {
                h0.Save(ck, new Dictionary<string, object?> { ["v"] = s }, step: s);
            }
        }

        using var stop = new CancellationTokenSource();
        var repairs = 0;
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        var repairer = Task.Run(() =>
        {
            using var h = new CheckpointHandler();
            while (!stop.IsCancellationRequested)
            {
                // A malformed save id (which a listing never reads) makes each repair rebuild and swap the file.
                using (var c = PlantedManifest.OpenIndex(ck))
                using (var cmd = c.CreateCommand())
                {
                    cmd.CommandText = "UPDATE steps SET save_id = 'bad' WHERE step = 7;";
                    cmd.ExecuteNonQuery();
                }

                try
                {
                    _ = h.RepairIndex(ck);
                    Interlocked.Increment(ref repairs);
                }
                catch (Exception e)
                {
                    errors.Add("repair: " + e.GetType().Name + ": " + e.Message);
                }
            }
        });

        var listings = 0;
        try
        {
            using var h = new CheckpointHandler();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(20) && errors.Count < 5)
            {
                try
                {
                    var steps = h.ListCheckpoints(ck).Select(i => i.Step).ToList();
                    if (!steps.SequenceEqual(Enumerable.Range(1, 20).Select(i => (long)i)))
                    {
                        errors.Add("listed " + string.Join(",", steps));
                    }

                    var last = h.ListLastCheckpoints(ck, 3).Select(i => i.Step).ToList();
                    if (!last.SequenceEqual([18L, 19L, 20L]))
                    {
                        errors.Add("listed last " + string.Join(",", last));
                    }
                }
                catch (Exception e)
                {
                    errors.Add("list: " + e);
                }

                listings++;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await repairer;
        }

        Assert.True(errors.IsEmpty, $"{listings} listings, {repairs} repairs: " + string.Join("\n", errors.Take(5)));
        Assert.True(repairs > 5, $"only {repairs} repairs ran");
    }
}
