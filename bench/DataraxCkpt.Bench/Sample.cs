namespace DataraxCkpt.Bench;

/// <summary>One timed run of one operation: wall time and how far the process's peak RSS rose above its RSS just before.</summary>
internal readonly record struct Sample(double Seconds, long PeakGrowthBytes);
