using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using DataraxCkpt.Format;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// A step's data blob read by ranged GETs straight into the reader's buffers (the destination arrays
/// for chunks stored raw). The reader decodes chunks in parallel, so ranges are fetched in parallel; stored
/// chunks that lie end to end are fetched together, up to one range of the upload's block size of chunk bytes
/// per GET (as the SDK's own download reads a blob), instead of one GET per chunk.
/// A data blob is never rewritten (its name is unique to its save), so a range is of the one version.
/// </summary>
internal sealed class BlobStepData : IStepData
{
    private readonly BlobClient _blob;
    private readonly int _rangeBytes;
    private readonly CancellationToken _cancellationToken;

    /// <param name="blob">The data blob.</param>
    /// <param name="length">Its length, from the commit record.</param>
    /// <param name="readParallelism">Ranged reads in flight at once.</param>
    /// <param name="rangeBytes">Chunk bytes one ranged read of stored chunks may carry (at least one chunk's).</param>
    /// <param name="cancellationToken">Stops a read in flight.</param>
    public BlobStepData(BlobClient blob, long length, int readParallelism, int rangeBytes, CancellationToken cancellationToken)
    {
        _blob = blob;
        Length = length;
        ReadParallelism = Math.Max(1, readParallelism);
        _rangeBytes = Math.Max(1, rangeBytes);
        _cancellationToken = cancellationToken;
    }

    public long Length { get; }

    public int ReadParallelism { get; }

    /// <summary>
    /// As many full chunks as fill one range (two 4 MiB chunks at the default 8 MiB; never fewer than two, so that
    /// small stored chunks pair up too): one group is one GET, and the reader keeps a group per read in flight.
    /// Larger groups would read their ranges one after another on one thread and halve the GETs in flight.
    /// </summary>
    public bool ReadsInBatches => true;

    public int StoredChunksPerRead => Math.Clamp(_rangeBytes / Lz4Frame.BlockSize, 2, StoredChunkGroup.Capacity);

    public void ReadExactly(Span<byte> target, long offset) => ReadExactly(target, [], [], offset);

    public void ReadExactly(Span<byte> first, Span<byte> second, Span<byte> third, long offset)
    {
        long total = (long)first.Length + second.Length + third.Length;
        if (total == 0)
        {
            return;
        }

        try
        {
            using var content = Open(offset, total);
            Fill(content, first, offset);
            Fill(content, second, offset);
            Fill(content, third, offset);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412 or 416)
        {
            throw Vanished(e);
        }
    }

    public void ReadStoredFrames(scoped ref StoredChunkGroup group, int first, int count, scoped Span<byte> prefixes, scoped Span<byte> trailers)
    {
        var end = first + count;
        while (first < end)
        {
            // As many whole frames as fit the range (always at least one), read by one GET in order.
            var last = first + 1;
            long bytes = group.Target(first).Length;
            while (last < end && bytes + group.Target(last).Length <= _rangeBytes)
            {
                bytes += group.Target(last++).Length;
            }

            var offset = group.Chunk(first).Offset;
            var total = bytes + (long)(last - first) * (Lz4Frame.StoredPrefixLength + Lz4Frame.StoredTrailerLength);
            try
            {
                using var content = Open(offset, total);
                for (var k = first; k < last; k++)
                {
                    var at = group.Chunk(k).Offset;
                    Fill(content, prefixes.Slice(k * Lz4Frame.StoredPrefixLength, Lz4Frame.StoredPrefixLength), at);
                    Fill(content, group.Target(k), at);
                    Fill(content, trailers.Slice(k * Lz4Frame.StoredTrailerLength, Lz4Frame.StoredTrailerLength), at);
                }
            }
            catch (RequestFailedException e) when (e.Status is 404 or 412 or 416)
            {
                throw Vanished(e);
            }

            first = last;
        }
    }

    /// <summary>The body of one ranged GET of <paramref name="total"/> bytes from <paramref name="offset"/>.</summary>
    private Stream Open(long offset, long total)
    {
        if (offset < 0 || offset + total > Length)
        {
            throw new InvalidDataException($"{StepFormat.DataFile} ends before the chunk at offset {offset}");
        }

        var options = new BlobDownloadOptions
        {
            Range = new HttpRange(offset, total),
        };
        return _blob.DownloadStreaming(options, _cancellationToken).Value.Content;
    }

    /// <summary>A data blob gone under the read (another host removed or overwrote the step): not corruption.</summary>
    private static InvalidDataException Vanished(RequestFailedException e)
    {
        var message = $"{StepFormat.DataFile} of this step was removed or replaced while it was read ({e.ErrorCode ?? e.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)})";
        return new InvalidDataException(message, new StepDataVanishedException(message, e));
    }

    private static void Fill(Stream content, Span<byte> target, long offset)
    {
        var read = 0;
        while (read < target.Length)
        {
            var n = content.Read(target[read..]);
            if (n == 0)
            {
                throw new InvalidDataException($"{StepFormat.DataFile} ends before the chunk at offset {offset}");
            }

            read += n;
        }
    }

    public void Dispose()
    {
    }
}

/// <summary>
/// Marks (as the inner exception of the reader's InvalidDataException) a data blob that went away under a
/// reader because another host removed or overwrote the step: the store reads the step again from its
/// current commit record instead of reporting corruption.
/// </summary>
internal sealed class StepDataVanishedException : Exception
{
    public StepDataVanishedException(string message, Exception inner) : base(message, inner)
    {
    }
}
