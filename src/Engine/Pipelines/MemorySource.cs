namespace DataraxCkpt;

/// <summary>
/// A data source over records held in memory: the port of Datarax's <c>MemorySource</c>. Records are
/// addressed by index; a <see cref="Pipeline{T}"/> reads them in the order of its epoch permutation.
/// </summary>
/// <remarks>
/// The source keeps a reference to the list rather than copying it, so that large datasets are not
/// held twice. Do not change the list while a pipeline reads it: a checkpoint records positions, not
/// data, so resuming over changed records yields different batches (only a change of the record count
/// is detected, through the pipeline's fingerprint).
/// </remarks>
/// <typeparam name="T">Type of a record.</typeparam>
public sealed class MemorySource<T>
{
    private readonly IReadOnlyList<T> _records;

    /// <summary>Creates a source over <paramref name="records"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="records"/> is null.</exception>
    public MemorySource(IReadOnlyList<T> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        _records = records;
    }

    /// <summary>Number of records.</summary>
    public int Count => _records.Count;

    /// <summary>The record at <paramref name="index"/>.</summary>
    public T this[int index] => _records[index];
}
