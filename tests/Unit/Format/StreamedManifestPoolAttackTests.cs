using System.Collections;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// Attack (session 24) on the state node compressed on a pool thread (round 69): a state whose node is megabytes
/// (well past the writer's queue of 8 pieces) saved with every pool thread blocked must finish on the calling thread;
/// two handlers saving big states at once, each twice, must each get a step that restores and verifies.
/// Not parallel: one test changes the process's pool.
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class StreamedManifestPoolAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Hashtable Ints(int count, int salt)
    {
        var state = new Hashtable();
        for (var i = 0; i < count; i++)
        {
            state["key" + i] = (i * 7) + salt;
        }

        return state;
    }

    [Fact]
    public void A_multi_megabyte_state_node_saves_on_a_starved_pool()
    {
        var ck = Path.GetFullPath(_dir.Sub("ck"));
        using var handler = new CheckpointHandler();
        handler.Save(ck, new Hashtable { ["epoch"] = 1 }, step: 1);
        var state = Ints(200_000, 3);
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
            Assert.True(saver.Join(TimeSpan.FromSeconds(30)), "the save did not finish on a starved pool");
            Assert.Null(failure);
        }

        var back = (IDictionary)handler.Restore(ck, 2)!;
        Assert.Equal(200_000, back.Count);
        Assert.Equal((199_999 * 7) + 3, back["key199999"]);
        Assert.True(handler.Verify(ck, 2).Ok);
    }

    [Fact]
    public void Two_handlers_saving_big_states_at_once_each_twice_get_their_own_steps()
    {
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, 2).Select(n => new Thread(() =>
        {
            try
            {
                var ck = Path.GetFullPath(_dir.Sub("ck" + n));
                using var handler = new CheckpointHandler();
                var state = Ints(120_000, n);
                handler.Save(ck, state, step: 1);
                handler.Save(ck, state, step: 2);
                foreach (var step in new long[] { 1, 2 })
                {
                    var back = (IDictionary)handler.Restore(ck, step)!;
                    Assert.Equal(120_000, back.Count);
                    Assert.Equal((119_999 * 7) + n, back["key119999"]);
                    Assert.True(handler.Verify(ck, step).Ok);
                }

                // The same state twice: the same state node (the frames' lengths may differ by a few bytes, since
                // the save id and the time differ and compress differently).
                Assert.Equal(StateNodeOf(ck, 1), StateNodeOf(ck, 2));
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(60))));
        Assert.Empty(failures);
    }

    private static string StateNodeOf(string ck, long step)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(Reliability.PlantedManifest.ReadStoredJson(ck, step),
            new System.Text.Json.JsonDocumentOptions { MaxDepth = DataraxCkpt.Values.StateEncoder.MaxJsonDepth });
        return doc.RootElement.GetProperty("state").GetRawText();
    }
}
