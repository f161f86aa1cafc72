using System.Runtime.ExceptionServices;

namespace DataraxCkpt.Inspection;

/// <summary>
/// Runs one body per unit on a bounded number of cores. The bound keeps the chunk buffers in use (each
/// worker holds a few of at most 4 MiB) within the inspection's memory budget whatever the tensor size
/// or core count; results are written per unit and merged by the caller in unit order, so they do not
/// depend on which core ran what.
/// </summary>
internal static class ChunkWork
{
    /// <summary>What inspection may hold in chunk buffers at once, beyond what the process held before.</summary>
    public const long MemoryBudget = 48L << 20;

    public static void Run(int units, long bytesPerWorker, Action<int> body, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var workers = (int)Math.Clamp(MemoryBudget / bytesPerWorker, 1, Environment.ProcessorCount);
        if (units == 1 || workers == 1)
        {
            for (var i = 0; i < units; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                body(i);
            }

            return;
        }

        try
        {
            Parallel.For(0, units, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken }, body);
        }
        catch (AggregateException e)
        {
            ExceptionDispatchInfo.Capture(e.Flatten().InnerExceptions[0]).Throw();
            throw;
        }
    }
}
