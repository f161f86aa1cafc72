namespace DataraxCkpt.Tests.Support;

/// <summary>
/// The heavy reliability classes (multi-process load, random-time kills, the 1 GiB crash test, the
/// resource faults with a real tmpfs) run one at a time, after the parallel classes, so that their
/// timing-dependent parts and their kills do not compete with the rest of the suite for two cores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeavyReliabilityCollection
{
    /// <summary>The collection name the heavy classes put in their [Collection] attribute.</summary>
    public const string Name = "Heavy reliability (not parallel)";
}
