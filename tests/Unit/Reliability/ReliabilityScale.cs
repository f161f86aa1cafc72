using System.Globalization;

namespace DataraxCkpt.Tests.Reliability;

/// <summary>
/// How hard the reliability suites push. CI runs the defaults (the whole suite in a few minutes on two
/// cores); tests/soak.ps1 raises them through these environment variables for a long soak.
/// </summary>
public static class ReliabilityScale
{
    /// <summary>Random-time SIGKILLs of a child saving in a loop.</summary>
    public static int Kills => Read("DATARAXCKPT_SOAK_KILLS", 10);

    /// <summary>Seconds the multi-process load runs.</summary>
    public static int LoadSeconds => Read("DATARAXCKPT_LOAD_SECONDS", 30);

    /// <summary>Cases of the manifest and frame mutation fuzzer.</summary>
    public static int FuzzCases => Read("DATARAXCKPT_FUZZ_CASES", 2000);

    /// <summary>Seed of the random choices; fixed so a failure reproduces.</summary>
    public static int Seed => Read("DATARAXCKPT_SOAK_SEED", 20261128);

    private static int Read(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
}
