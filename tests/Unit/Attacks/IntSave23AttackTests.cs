using System.Collections;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Attack on round 64 (intsave23): the index's item list finished on a pool thread beside the manifest's compression
/// and write. An error from a pool task must reach the caller as itself (not an AggregateException), with nothing
/// published; a starved pool must not hang a save. (Its attacks on the manifest checksum's pool task went with that
/// task: since round 69 the checksum is taken on the thread that compresses the streamed frame.)
/// Not parallel: one test changes the process's pool.
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class IntSave23AttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// A list between the early bound and the index's limit is refused only when it is finished, now on a pool thread:
    /// the save fails with that UnsupportedValueException itself (the finished list's message, not the early check's,
    /// not an AggregateException), nothing is published, the staging folder is gone, no task exception goes
    /// unobserved, and the directory takes the next save. Synchronous and through the asynchronous queue.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_list_refused_on_the_pool_thread_fails_the_save_with_its_own_error_and_nothing_published(bool async)
    {
        var ck = Path.GetFullPath(_dir.Sub("ck"));
        using (var h = new CheckpointHandler())
        {
            h.Save(ck, new Hashtable { ["epoch"] = 1 }, step: 1);
        }

        // 2,000 leaves with long names that share little: the early bound is 14,001 bytes, the payload above 40,000.
        var state = new Hashtable { ["w"] = new float[300_000] };
        for (var i = 0; i < 2_000; i++)
        {
            state[$"n{(uint)(i * 2654435761u):x8}{i * 7919:x6}"] = i;
        }

        var unobserved = new List<Exception>();
        EventHandler<UnobservedTaskExceptionEventArgs> onUnobserved = (_, e) =>
        {
            lock (unobserved)
            {
                unobserved.Add(e.Exception);
            }
        };
        TaskScheduler.UnobservedTaskException += onUnobserved;
        try
        {
            using var limited = new CheckpointHandler(new CheckpointOptions { MaxItemListBytes = 20_000, Async = async });
            for (var attempt = 0; attempt < 5; attempt++)
            {
                Exception error;
                if (async)
                {
                    limited.Save(ck, state, step: 2);
                    error = Assert.ThrowsAny<Exception>(limited.WaitUntilFinished);
                }
                else
                {
                    error = Assert.ThrowsAny<Exception>(() => limited.Save(ck, state, step: 2));
                }

                var refused = Assert.IsType<UnsupportedValueException>(error);
                Assert.Contains("20,000 bytes", refused.Message, StringComparison.Ordinal);
                Assert.Contains("nothing was published", refused.Message, StringComparison.Ordinal);
                Assert.DoesNotContain("at least", refused.Message, StringComparison.Ordinal);
                Assert.Equal(new long[] { 1 }, limited.GetCheckpointSteps(ck));
                Assert.False(Directory.Exists(Path.Combine(ck, "2")));
                var staging = Path.Combine(ck, ".staging");
                Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0,
                    string.Join(", ", Directory.Exists(staging) ? Directory.GetFileSystemEntries(staging) : []));
            }

            limited.Save(ck, new Hashtable { ["epoch"] = 2, ["w"] = new float[] { 1.5f } }, step: 2);
            limited.WaitUntilFinished();
            Assert.Equal(new long[] { 1, 2 }, limited.GetCheckpointSteps(ck));
            Assert.True(limited.Verify(ck, 2).Ok);
        }
        finally
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            TaskScheduler.UnobservedTaskException -= onUnobserved;
        }

        Assert.Empty(unobserved);
    }

    /// <summary>
    /// A state of 150,000 ints (a manifest of megabytes: the frame's compressing task, the list's task, many 64 KiB pieces) saved
    /// with every pool thread blocked: both tasks must run on the saving thread, and the step must verify and restore.
    /// The starvation tests before used states whose manifests are under 64 KiB (then no manifest task ran on the pool).
    /// </summary>
    [Fact]
    public void A_save_of_many_ints_on_a_starved_pool_finishes_on_the_calling_thread_and_verifies()
    {
        var ck = Path.GetFullPath(_dir.Sub("ck"));
        var state = new Hashtable();
        for (var i = 0; i < 150_000; i++)
        {
            state[$"k{i}"] = i;
        }

        state["w"] = new float[(1 << 20) + 3];
        using var handler = new CheckpointHandler();
        handler.Save(ck, new Hashtable { ["epoch"] = 1 }, step: 1);
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

        var verification = handler.Verify(ck, 2);
        Assert.True(verification.Ok, string.Join("; ", verification.Problems));
        var restored = (IDictionary)handler.Restore(ck, 2)!;
        Assert.Equal(150_001, restored.Count);
        Assert.Equal(149_999, restored["k149999"]);
        Assert.Equal(150_001, handler.GetItems(ck, 2).Count);
    }
}
