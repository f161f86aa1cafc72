using System.Collections.Specialized;
using DataraxCkpt.Format;
using DataraxCkpt.Values;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// A remote store whose refusals (403) reach callers as <see cref="StoreAccessDeniedException"/>, naming the
/// location, the refused operation and the right to grant, instead of the SDK's exception. Only the error is
/// changed: the store has already cleaned up after a refused save (nothing of it is listed) before it threw.
/// </summary>
internal sealed class AccessDeniedReportingStore : ICheckpointStore
{
    private readonly BlobCheckpointStore _inner;

    public AccessDeniedReportingStore(BlobCheckpointStore inner) => _inner = inner;

    public string Directory => _inner.Directory;

    private T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (RefusedRequestException e)
        {
            throw e.ToAccessDenied(_inner.Location);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0 && e.InnerExceptions[0] is RefusedRequestException r)
        {
            throw r.ToAccessDenied(_inner.Location);
        }
    }

    private void Guard(Action action) => Guard(() =>
    {
        action();
        return true;
    });

    public IStepReservation Reserve(long? step, bool overwrite) => Guard(() => _inner.Reserve(step, overwrite));

    public CheckpointInfo Expected(IStepReservation reservation, EncodedState state) => _inner.Expected(reservation, state);

    public CheckpointInfo Complete(IStepReservation reservation, EncodedState state, int? keep, Action<long>? onBytesWritten,
        bool pin = false, DateTimeOffset? createdUtc = null, CancellationToken cancellationToken = default) =>
        Guard(() => _inner.Complete(reservation, state, keep, onBytesWritten, pin, createdUtc, cancellationToken));

    public void Abandon(IStepReservation reservation) => Guard(() => _inner.Abandon(reservation));

    public object? Restore(long? step, IReadOnlyCollection<string>? patterns, Action<long>? onBytesRead, Action<long, long>? onStart,
        CancellationToken cancellationToken = default) => Guard(() => _inner.Restore(step, patterns, onBytesRead, onStart, cancellationToken));

    public void RestoreInto(long? step, object template, Action<long>? onBytesRead, Action<long, long>? onStart, CancellationToken cancellationToken) =>
        Guard(() => _inner.RestoreInto(step, template, onBytesRead, onStart, cancellationToken));

    public (CheckpointInfo Info, IReadOnlyDictionary<string, object?> Metadata, object? State) ReadForCopy(long step, Action<long>? onBytesRead,
        Action<long, long>? onStart, CancellationToken cancellationToken) => Guard(() => _inner.ReadForCopy(step, onBytesRead, onStart, cancellationToken));

    public IReadOnlyDictionary<string, object?> RestoreMetadata(long? step) => Guard(() => _inner.RestoreMetadata(step));

    public T ReadStep<T>(long step, Func<StepReader, T> read, CancellationToken cancellationToken) =>
        Guard(() => _inner.ReadStep(step, read, cancellationToken));

    public List<long> Steps() => Guard(_inner.Steps);

    public long? Latest() => Guard(_inner.Latest);

    public List<CheckpointInfo> List(int? first = null, int? last = null) => Guard(() => _inner.List(first, last));

    public CheckpointInfo Get(long step) => Guard(() => _inner.Get(step));

    public List<CheckpointItemInfo> Items(long step) => Guard(() => _inner.Items(step));

    public List<CheckpointInfo> Prune(RetentionPolicy policy, bool dryRun, CancellationToken cancellationToken = default) =>
        Guard(() => _inner.Prune(policy, dryRun, cancellationToken));

    public bool IsCheckpointDirectory() => Guard(_inner.IsCheckpointDirectory);

    public List<long> PeekSteps() => Guard(_inner.PeekSteps);

    public CheckpointInfo Remove(long step, bool force, bool dryRun) => Guard(() => _inner.Remove(step, force, dryRun));

    public CheckpointInfo? RemoveIfUnchanged(CheckpointInfo planned) => Guard(() => _inner.RemoveIfUnchanged(planned));

    public CheckpointInfo SetPinned(long step, bool pinned) => Guard(() => _inner.SetPinned(step, pinned));

    public StepVerification Verify(long step, CancellationToken cancellationToken = default) => Guard(() => _inner.Verify(step, cancellationToken));

    public (ComparedStep Before, ComparedStep After) ReadForCompare(long before, long after) =>
        Guard(() => _inner.ReadForCompare(before, after));

    public RepairReport Repair(bool dryRun, bool force, CancellationToken cancellationToken = default) => Guard(() => _inner.Repair(dryRun, force, cancellationToken));

    public void ThrowIfMissing() => Guard(_inner.ThrowIfMissing);
}
