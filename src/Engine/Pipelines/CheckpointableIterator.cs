using System.Collections;

namespace DataraxCkpt;

/// <summary>
/// An iterator whose position can be captured and restored: the port of Datarax's
/// <c>CheckpointableIteratorModule</c>. Subclasses implement <see cref="MoveNext"/>/<see cref="Current"/>
/// and the pair <see cref="Checkpoint"/>/<see cref="Restore"/>; <see cref="ICheckpointable"/> is wired to
/// that pair so a <see cref="CheckpointHandler"/> or <see cref="IteratorCheckpoint"/> can save and
/// restore any iterator without knowing its type.
/// </summary>
/// <typeparam name="T">Type of the items the iterator yields.</typeparam>
public abstract class CheckpointableIterator<T> : IEnumerator<T>, ICheckpointable
{
    /// <summary>The item the last successful <see cref="MoveNext"/> produced.</summary>
    public abstract T Current { get; }

    object? IEnumerator.Current => Current;

    /// <summary>Advances to the next item; false when the iterator is exhausted.</summary>
    public abstract bool MoveNext();

    /// <summary>
    /// Returns to the beginning. Not supported unless a subclass says otherwise: restoring a
    /// checkpoint taken at the start is the general way back.
    /// </summary>
    /// <exception cref="NotSupportedException">The iterator cannot reset.</exception>
    public virtual void Reset() =>
        throw new NotSupportedException($"{GetType().Name} cannot reset; restore a checkpoint taken at the start instead.");

    /// <summary>
    /// Returns the state needed to resume from the current position (Datarax's <c>checkpoint()</c>).
    /// Values must be storable by the engine: long, int, bool, string, <see cref="PrngKey"/> and nested
    /// <c>Dictionary&lt;string, object?&gt;</c>. Never the data itself. A new dictionary on every call.
    /// </summary>
    public abstract IDictionary<string, object?> Checkpoint();

    /// <summary>
    /// Returns to the position captured by <see cref="Checkpoint"/> (Datarax's <c>restore()</c>).
    /// Implementations validate the whole state before changing anything, so a rejected state leaves
    /// the iterator as it was.
    /// </summary>
    /// <exception cref="IncompatibleStateException">The state does not fit this iterator.</exception>
    public abstract void Restore(IDictionary<string, object?> state);

    /// <inheritdoc />
    public IDictionary<string, object?> GetState() => Checkpoint();

    /// <inheritdoc />
    public void SetState(IDictionary<string, object?> state) => Restore(state);

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources a subclass holds; the base holds none.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
