using System.Runtime.ExceptionServices;
using DataraxCkpt.Format;

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

    /// <summary>
    /// How many units one worker reads as a group (1 to <paramref name="maxUnits"/>): the most for which a
    /// worker per core, each holding <paramref name="blocksPerUnit"/> chunk buffers per unit and
    /// <paramref name="extraBlocks"/> more, fits <see cref="MemoryBudget"/>. Fewer cores leave room for larger
    /// groups; many cores get smaller ones rather than fewer workers.
    /// </summary>
    public static int GroupSize(int maxUnits, int blocksPerUnit, int extraBlocks)
    {
        var workers = Math.Max(1, Environment.ProcessorCount);
        for (var units = maxUnits; units > 1; units--)
        {
            if (workers * (long)(units * blocksPerUnit + extraBlocks) * Lz4Frame.BlockSize <= MemoryBudget)
            {
                return units;
            }
        }

        return 1;
    }

    /// <summary>
    /// Cuts units <c>[0, count)</c> into runs for one worker each: consecutive units that
    /// <paramref name="stored"/> accepts go together, up to <paramref name="perGroup"/> at a time; any other unit
    /// is a run of its own, flagged not stored.
    /// </summary>
    public static List<(int First, int Count, bool Stored)> Groups(int count, int perGroup, Func<int, bool> stored)
    {
        var groups = new List<(int, int, bool)>();
        for (var i = 0; i < count;)
        {
            if (!stored(i))
            {
                groups.Add((i, 1, false));
                i++;
                continue;
            }

            var n = 1;
            while (n < perGroup && i + n < count && stored(i + n))
            {
                n++;
            }

            groups.Add((i, n, true));
            i += n;
        }

        return groups;
    }

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
