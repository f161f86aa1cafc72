namespace DataraxCkpt;

/// <summary>
/// Builds data pipelines: the port of Datarax's <c>from_source</c>.
/// </summary>
public static class Pipeline
{
    /// <summary>
    /// A pipeline that yields batches of <paramref name="batchSize"/> records of
    /// <paramref name="source"/>, epoch after epoch without end (see <see cref="Pipeline{T}"/>).
    /// </summary>
    /// <param name="source">The records.</param>
    /// <param name="batchSize">Records per batch; at least 1.</param>
    /// <param name="shuffle">When true, each epoch visits the records in a permutation drawn from
    /// <c>PrngKey.Create(seed).FoldIn(epoch)</c>; otherwise in index order.</param>
    /// <param name="seed">Seed of the shuffle key.</param>
    /// <param name="dropRemainder">When true, the last batch of an epoch is skipped if it would be
    /// smaller than <paramref name="batchSize"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is less than 1.</exception>
    public static Pipeline<T> FromSource<T>(MemorySource<T> source, int batchSize, bool shuffle = false, long seed = 0,
        bool dropRemainder = false) =>
        new(source, batchSize, shuffle, seed, dropRemainder);
}
