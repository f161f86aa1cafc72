using DataraxCkpt.Storage;

namespace DataraxCkpt.Retention;

/// <summary>
/// The check a store makes, under its write lock or conditional delete, just before it removes a step that
/// a retention plan chose earlier: the plan was made on a listing that may be stale by then. One copy for
/// every store, so a local directory and a remote one keep the same steps for the same reasons.
/// </summary>
internal static class RetentionRecheck
{
    /// <summary>
    /// Why the step <paramref name="planned"/> named must be kept now, or null when it may be removed.
    /// </summary>
    /// <param name="now">The step's row as the store holds it now, or null when it is gone.</param>
    /// <param name="planned">The record the plan chose.</param>
    /// <param name="newestStep">The store's newest step now; asked only when the other reasons do not hold,
    /// because a remote store answers it with a listing.</param>
    public static string? ReasonToKeep(StepRow? now, CheckpointInfo planned, Func<long?> newestStep) =>
        now is null ? "it is gone"
        : now.Pinned ? "it is pinned"
        // A save with -Overwrite since the plan replaced the step the plan judged.
        : now.CreatedUtc != planned.CreatedUtc || now.Size != planned.Size || now.StoredSize != planned.StoredSize ? "it was overwritten"
        // Retention never removes the newest step; steps removed by others since the plan can make this one it.
        : newestStep() == now.Step ? "it is now the newest step"
        : null;
}
