using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using DataraxCkpt.Format;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// A step's data blob read by ranged GETs straight into the reader's buffers (the destination arrays
/// for chunks stored raw). The reader decodes chunks in parallel, so ranges are fetched in parallel.
/// A data blob is never rewritten (its name is unique to its save), so a range is of the one version.
/// </summary>
internal sealed class BlobStepData : IStepData
{
    private readonly BlobClient _blob;
    private readonly CancellationToken _cancellationToken;

    public BlobStepData(BlobClient blob, long length, int readParallelism, CancellationToken cancellationToken)
    {
        _blob = blob;
        Length = length;
        ReadParallelism = Math.Max(1, readParallelism);
        _cancellationToken = cancellationToken;
    }

    public long Length { get; }

    public int ReadParallelism { get; }

    public void ReadExactly(Span<byte> target, long offset) => ReadExactly(target, [], [], offset);

    public void ReadExactly(Span<byte> first, Span<byte> second, Span<byte> third, long offset)
    {
        long total = (long)first.Length + second.Length + third.Length;
        if (total == 0)
        {
            return;
        }

        if (offset < 0 || offset + total > Length)
        {
            throw new InvalidDataException($"{StepFormat.DataFile} ends before the chunk at offset {offset}");
        }

        try
        {
            var options = new BlobDownloadOptions
            {
                Range = new HttpRange(offset, total),
            };
            using var response = _blob.DownloadStreaming(options, _cancellationToken).Value;
            Fill(response.Content, first, offset);
            Fill(response.Content, second, offset);
            Fill(response.Content, third, offset);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412 or 416)
        {
            var message = $"{StepFormat.DataFile} of this step was removed or replaced while it was read ({e.ErrorCode ?? e.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)})";
            throw new InvalidDataException(message, new StepDataVanishedException(message, e));
        }
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
