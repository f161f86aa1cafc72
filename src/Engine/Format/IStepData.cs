using DataraxCkpt.Storage;

namespace DataraxCkpt.Format;

/// <summary>
/// Random access to a step's data (<c>tensors.lz4</c>), wherever it lives: the reader's one way to its
/// bytes. Reads may run on several threads at once.
/// </summary>
internal interface IStepData : IDisposable
{
    /// <summary>The data's length in bytes.</summary>
    long Length { get; }

    /// <summary>
    /// How many chunk reads to run at once: a local file is bound by the cores that decode, a remote blob
    /// by the round trips of its ranged reads, which need many in flight to fill the link.
    /// </summary>
    int ReadParallelism { get; }

    /// <summary>
    /// Stored chunks read by one thread as a group, so that their checksums can be computed side by side
    /// (<see cref="XxHash32.AppendFour"/>) and, where they lie end to end, fetched together
    /// (<see cref="ReadStoredFrames"/>): a local file, whose read costs about its copy, takes four; a remote
    /// source as many as fill one of its ranged reads.
    /// </summary>
    int StoredChunksPerRead => 1;

    /// <summary>
    /// Whether a restore reads this data in batches with a pause between them. Data another host can remove
    /// or replace while it is read (a remote store, which has no lock) is: a progress callback between two
    /// batches runs while no read is in flight, and the reads after it see the store as it then is. A local
    /// file, read under the directory's lock, is one queue that no thread waits in.
    /// </summary>
    bool ReadsInBatches => false;

    /// <summary>Fills <paramref name="target"/> from <paramref name="offset"/>.</summary>
    /// <exception cref="InvalidDataException">The data ends before <paramref name="target"/> is filled.</exception>
    void ReadExactly(Span<byte> target, long offset);

    /// <summary>
    /// Fills three contiguous ranges from <paramref name="offset"/> on: a stored chunk's prefix, its bytes
    /// (straight into their destination) and its trailer. A remote source makes this one request, not three.
    /// </summary>
    void ReadExactly(Span<byte> first, Span<byte> second, Span<byte> third, long offset)
    {
        ReadExactly(first, offset);
        ReadExactly(second, offset + first.Length);
        ReadExactly(third, offset + first.Length + second.Length);
    }

    /// <summary>
    /// Fills the frames of chunks [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>)
    /// of <paramref name="group"/>, which belong to this data and lie end to end from the first one's offset:
    /// chunk k's prefix into <paramref name="prefixes"/> at k × <see cref="Lz4Frame.StoredPrefixLength"/>, its
    /// bytes into its target, its trailer into <paramref name="trailers"/> at k × <see cref="Lz4Frame.StoredTrailerLength"/>.
    /// Nothing is checked here; the caller verifies every chunk. A remote source fetches a run in as few ranged
    /// reads as its range size allows, not one per chunk.
    /// </summary>
    /// <exception cref="InvalidDataException">The data ends before the last frame is filled.</exception>
    void ReadStoredFrames(scoped ref StoredChunkGroup group, int first, int count, scoped Span<byte> prefixes, scoped Span<byte> trailers)
    {
        for (var k = first; k < first + count; k++)
        {
            ReadExactly(
                prefixes.Slice(k * Lz4Frame.StoredPrefixLength, Lz4Frame.StoredPrefixLength),
                group.Target(k),
                trailers.Slice(k * Lz4Frame.StoredTrailerLength, Lz4Frame.StoredTrailerLength),
                group.Chunk(k).Offset);
        }
    }
}

/// <summary>A step's data file in a local step folder.</summary>
internal sealed class FileStepData : IStepData
{
    private readonly StepFiles _files;

    public FileStepData(StepFiles files) => _files = files;

    public long Length => _files.DataLength;

    public int ReadParallelism => Environment.ProcessorCount;

    public int StoredChunksPerRead => 4;

    public void ReadExactly(Span<byte> target, long offset)
    {
        var read = 0;
        while (read < target.Length)
        {
            int n;
            try
            {
                n = RandomAccess.Read(_files.Data, target[read..], offset + read);
            }
            catch (IOException e)
            {
                throw StepReadFailure.Marked(e, Path.Combine(_files.Folder, StepFormat.DataFile));
            }

            if (n == 0)
            {
                throw new InvalidDataException($"{StepFormat.DataFile} ends before the chunk at offset {offset}");
            }

            read += n;
        }
    }

    public void Dispose() => _files.Dispose();
}
