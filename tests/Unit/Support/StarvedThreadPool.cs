namespace DataraxCkpt.Tests.Support;

/// <summary>
/// Starves the process's thread pool for real: its maximum lowered to its minimum and every thread that
/// maximum allows blocked, so a work item queued now starts only after <see cref="Release"/>. Queuing many
/// blocking tasks is not enough: the pool injects threads above its minimum, and a test built that way passed
/// with the bug it was written for. The pool is the process's, so a class using this belongs to
/// <see cref="HeavyReliabilityCollection"/> (not parallel).
/// </summary>
internal sealed class StarvedThreadPool : IDisposable
{
    private readonly int _maxWorkers;
    private readonly int _maxIo;

    // Never disposed: a blocker queued behind the pool's full set may start only after the test ends and wait on it.
    private readonly ManualResetEventSlim _release = new();
    private readonly CountdownEvent _finished;
    private bool _released;

    private StarvedThreadPool(int maxWorkers, int maxIo, int blockers)
    {
        _maxWorkers = maxWorkers;
        _maxIo = maxIo;
        _finished = new CountdownEvent(blockers);
    }

    /// <summary>Lowers the pool's maximum and blocks its threads, each for at most <paramref name="blockFor"/>.</summary>
    public static StarvedThreadPool Start(TimeSpan blockFor)
    {
        ThreadPool.GetMaxThreads(out var maxWorkers, out var maxIo);
        ThreadPool.GetMinThreads(out var minWorkers, out _);
        var pool = new StarvedThreadPool(maxWorkers, maxIo, minWorkers);
        if (!ThreadPool.SetMaxThreads(minWorkers, maxIo))
        {
            throw new InvalidOperationException("could not lower the thread pool's maximum to its minimum");
        }

        var started = new CountdownEvent(minWorkers);
        for (var i = 0; i < minWorkers; i++)
        {
            ThreadPool.QueueUserWorkItem(_ =>
            {
                started.Signal();
                pool._release.Wait(blockFor);
                pool._finished.Signal();
            });
        }

        // Either every pool thread the maximum allows is now blocked, or the pool was already full of the caller's work.
        _ = started.Wait(TimeSpan.FromSeconds(5));
        return pool;
    }

    /// <summary>Gives the pool its maximum back and lets the blockers go; once only.</summary>
    public void Release()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        ThreadPool.SetMaxThreads(_maxWorkers, _maxIo);
        _release.Set();
    }

    /// <summary>After <see cref="Release"/>: waits until every blocker has returned its thread to the pool.</summary>
    public bool WaitForBlockersToReturn(TimeSpan timeout) => _finished.Wait(timeout);

    public void Dispose() => Release();
}
