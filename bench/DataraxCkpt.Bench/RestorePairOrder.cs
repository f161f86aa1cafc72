namespace DataraxCkpt.Bench;

/// <summary>The two restore comparisons of scenarios (a) and (b).</summary>
internal enum RestoreComparison
{
    /// <summary>The engine's restore against a raw read, each into arrays it allocates.</summary>
    NewArrays,

    /// <summary>The engine's restore into existing arrays against a raw read into a preallocated buffer.</summary>
    ExistingMemory,
}

/// <summary>
/// The order of the measured restore pairs of scenarios (a) and (b): every pair of the comparison into new arrays,
/// back to back, then every pair into existing memory; in each, the engine first in every other pair (A B, B A, ...).
/// </summary>
/// <remarks>
/// Back to back, each read into new arrays starts one collection after the read before it gave back its GiB, whichever
/// side it is. Interleaved with the pairs into existing memory (until session 28), the collector had the time and the
/// collections to decommit that GiB before each pair: its first read met memory the system had to back again and its
/// second reused the first's, so whichever side went first paid, and with an odd number of pairs the engine went first
/// once more than the raw read (round 74 of docs/performance-notes.md).
/// </remarks>
internal static class RestorePairOrder
{
    /// <summary>Each measured operation in the order it runs: its comparison and whether it is the engine's side.</summary>
    public static IEnumerable<(RestoreComparison Comparison, bool Engine)> Measured(int pairs)
    {
        foreach (var comparison in new[] { RestoreComparison.NewArrays, RestoreComparison.ExistingMemory })
        {
            for (var pair = 0; pair < pairs; pair++)
            {
                var engineFirst = pair % 2 == 0;
                yield return (comparison, engineFirst);
                yield return (comparison, !engineFirst);
            }
        }
    }
}
