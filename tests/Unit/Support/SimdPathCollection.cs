namespace DataraxCkpt.Tests.Support;

/// <summary>
/// Tests that switch the float32 kernels' vector width (a process-wide setting) run one at a time, so
/// each runs the path it names; other tests meanwhile take whichever path is set, both being correct.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SimdPathCollection
{
    /// <summary>The collection name the width-switching classes put in their [Collection] attribute.</summary>
    public const string Name = "SIMD path (not parallel)";
}
