namespace DataraxCkpt.Bench;

/// <summary>Set by <c>--trace</c>: scenarios print the engine's log lines with timestamps.</summary>
internal static class Trace
{
    public static bool Enabled { get; set; }
}
