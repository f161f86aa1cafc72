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
    /// Stored chunks read one after another on one thread, a few at a time, so that their checksums can be
    /// computed side by side (<see cref="XxHash32.AppendFour"/>): right for a local file, whose read costs
    /// about its copy; wrong for a remote source, whose reads must all be in flight at once.
    /// </summary>
    int StoredChunksPerRead => 1;

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
            var n = RandomAccess.Read(_files.Data, target[read..], offset + read);
            if (n == 0)
            {
                throw new InvalidDataException($"{StepFormat.DataFile} ends before the chunk at offset {offset}");
            }

            read += n;
        }
    }

    public void Dispose() => _files.Dispose();
}
