namespace DataraxCkpt.Bench;

/// <summary>A target of the issue, judged on this run's figures.</summary>
/// <param name="Goal">The target as the issue states it.</param>
/// <param name="Measured">What this run measured, with the figures behind it.</param>
/// <param name="Met">Whether the target is met; null when it could not be judged (a baseline is missing).</param>
internal sealed record Target(string Goal, string Measured, bool? Met);
