namespace DataraxCkpt;

/// <summary>
/// Which committed steps to keep. A step survives when any rule keeps it; pinned steps always survive,
/// and so does the newest committed step (the one a resume would use): only removing a step by number
/// removes it. A policy with no rule set keeps everything.
/// </summary>
/// <remarks>
/// A rule that would keep nothing by itself (<c>Keep = 0</c>, <c>KeepEvery = 0</c>, a zero or negative
/// <c>KeepNewerThan</c>) is refused when it is set: such a value is almost always an unset setting read
/// as zero, and a cleanup job must not turn it into "remove everything". To remove every step on
/// purpose, remove them by number (<c>CheckpointHandler.Remove</c>).
/// </remarks>
public sealed record RetentionPolicy
{
    /// <summary>What to write instead of a rule that keeps nothing; shared with the error messages.</summary>
    internal const string RemoveAllAdvice =
        "To remove every step on purpose, remove them by number (CheckpointHandler.Remove for each step; in PowerShell: Get-Checkpoint <dir> | Remove-Checkpoint).";

    private readonly int? _keep;
    private readonly long? _keepEvery;
    private readonly TimeSpan? _keepNewerThan;

    /// <summary>Keep the <c>Keep</c> highest step numbers; 1 or more.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int? Keep
    {
        get => _keep;
        init => _keep = value is < 1
            ? throw new ArgumentOutOfRangeException(nameof(Keep), value, $"Keep must be 1 or more; Keep = {value} would keep no step by count. {RemoveAllAdvice}")
            : value;
    }

    /// <summary>Keep every step whose number is a multiple of this; 1 or more.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public long? KeepEvery
    {
        get => _keepEvery;
        init => _keepEvery = value is < 1
            ? throw new ArgumentOutOfRangeException(nameof(KeepEvery), value, $"KeepEvery must be 1 or more; KeepEvery = {value} names no multiple to keep. {RemoveAllAdvice}")
            : value;
    }

    /// <summary>Keep every step committed less than this long ago; more than zero.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The span is zero or negative.</exception>
    public TimeSpan? KeepNewerThan
    {
        get => _keepNewerThan;
        init => _keepNewerThan = value is { } span && span <= TimeSpan.Zero
            ? throw new ArgumentOutOfRangeException(nameof(KeepNewerThan), value, $"KeepNewerThan must be more than zero; {span} would keep no step by age. {RemoveAllAdvice}")
            : value;
    }

    /// <summary>
    /// Count only finite steps for <see cref="Keep"/> and <see cref="KeepEvery"/>: a step is finite when no
    /// element of any of its floating-point tensors is NaN or ±∞ (a step without float tensors is finite).
    /// <c>Keep = 5</c> then keeps the five newest finite steps, and <c>KeepEvery</c> only the finite multiples;
    /// a non-finite step that no other rule keeps is removed. A step that cannot be read (corrupt) does not
    /// count as finite. Pinned steps, the newest committed step and steps within <see cref="KeepNewerThan"/>
    /// still always survive, finite or not. Not a rule of its own: with no other rule set nothing is removed.
    /// </summary>
    public bool KeepFinite { get; init; }

    /// <summary>True when no rule is set, so that nothing would be removed.</summary>
    public bool KeepsEverything => Keep is null && KeepEvery is null && KeepNewerThan is null;
}
