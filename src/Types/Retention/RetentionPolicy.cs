namespace DataraxCkpt;

/// <summary>
/// Which committed steps to keep. A step survives when any rule keeps it; pinned steps always survive.
/// A policy with no rule set keeps everything.
/// </summary>
public sealed record RetentionPolicy
{
    /// <summary>Keep the <c>Keep</c> highest step numbers.</summary>
    public int? Keep { get; init; }

    /// <summary>Keep every step whose number is a multiple of this.</summary>
    public long? KeepEvery { get; init; }

    /// <summary>Keep every step committed less than this long ago.</summary>
    public TimeSpan? KeepNewerThan { get; init; }

    /// <summary>True when no rule is set, so that nothing would be removed.</summary>
    public bool KeepsEverything => Keep is null && KeepEvery is null && KeepNewerThan is null;
}
