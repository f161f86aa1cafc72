using System.Buffers;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// A write-only stream into a new block blob: bytes are cut into blocks staged in parallel (up to
/// <see cref="BlobSettings.Concurrency"/> at once) while the writer goes on; <see cref="Flush"/> waits for
/// them and commits the block list, creating the blob only if it does not exist (<see cref="CommitAsync"/> lets
/// that run while the writer goes on to the next file). Disposed uncommitted, the blob is never created (staged
/// blocks expire on their own).
/// A block is a list of slices of pooled buffers (<see cref="UploadSegments"/>): the writer's own frame buffers,
/// taken by <see cref="WriteRented"/> without a copy, or buffers that <see cref="Write(ReadOnlySpan{byte})"/> copies
/// into. Each buffer goes back to its pool once every block holding a slice of it is sent.
/// A full block is staged only once more than <see cref="MergeLimit"/> bytes after it arrive (<see cref="_held"/>): a tail of at most
/// <see cref="MergeLimit"/> bytes then goes up in the last full block instead of a request of its own (a data blob
/// of whole 4 MiB chunks is a little longer than whole blocks: its frames' prefixes and trailers), and a file of
/// one block and such a tail is one Put Blob.
/// </summary>
internal sealed class BlockUploadStream : Stream
{
    /// <summary>Least bytes of a buffer that copied writes go into (the manifest, a writer's small writes).</summary>
    private const int MinCopyBuffer = 64 << 10;

    private readonly BlockBlobClient _blob;
    private readonly BlobSettings _settings;
    private readonly CancellationToken _cancellationToken;
    private readonly List<string> _blockIds = [];
    private readonly List<Task> _inFlight = [];
    private List<UploadSegment> _block = [];

    /// <summary>A full block not staged yet: no more than <see cref="MergeLimit"/> bytes after it have arrived, so it may still take them as its tail.</summary>
    private List<UploadSegment>? _held;
    private LentBuffer? _copy;
    private int _filled;
    private long _length;
    private bool _committed;
    private Task? _commit;

    public BlockUploadStream(BlockBlobClient blob, BlobSettings settings, CancellationToken cancellationToken)
    {
        _blob = blob;
        _settings = settings;
        _cancellationToken = cancellationToken;
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_committed;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        while (buffer.Length > 0)
        {
            if (_copy is null || _copy.Used == _copy.Array.Length)
            {
                _copy?.Release();
                _copy = null;
                var size = Math.Min(_settings.BlockSize, Math.Max(MinCopyBuffer, buffer.Length));
                _copy = new LentBuffer(ArrayPool<byte>.Shared.Rent(size), ArrayPool<byte>.Shared);
            }

            var n = Math.Min(buffer.Length, Math.Min(_copy.Array.Length - _copy.Used, _settings.BlockSize - _filled));
            buffer[..n].CopyTo(_copy.Array.AsSpan(_copy.Used));
            var at = _copy.Used;
            _copy.Used += n;
            buffer = buffer[n..];
            Append(_copy, at, n);
        }
    }

    /// <summary>
    /// Appends <paramref name="length"/> bytes of <paramref name="buffer"/>, rented from <paramref name="pool"/>,
    /// without copying them: the buffer is the upload's from here on (also when this throws) and goes back to
    /// <paramref name="pool"/> once the blocks holding it are sent. The caller must not touch it again.
    /// </summary>
    public void WriteRented(byte[] buffer, int length, ArrayPool<byte> pool)
    {
        var lent = new LentBuffer(buffer, pool);
        try
        {
            ObjectDisposedException.ThrowIf(_committed, this);
            for (var offset = 0; offset < length;)
            {
                var n = Math.Min(length - offset, _settings.BlockSize - _filled);
                Append(lent, offset, n);
                offset += n;
            }
        }
        finally
        {
            // This call's own reference: the blocks holding slices keep theirs.
            lent.Release();
        }
    }

    private void Append(LentBuffer lent, int offset, int count)
    {
        if (_block.Count > 0 && _block[^1].Buffer == lent && _block[^1].Offset + _block[^1].Count == offset)
        {
            _block[^1] = _block[^1] with { Count = _block[^1].Count + count };
        }
        else
        {
            lent.AddReference();
            _block.Add(new UploadSegment(lent, offset, count));
        }

        _filled += count;
        _length += count;
        // The block held before this one has more bytes after it than it may take: it goes up as it is, now, not once
        // the next block is full (found by the attack on remote13: each held block waited for a whole block more, one
        // block more of buffers kept and each Put Block started a block's writing later than before the change).
        if (_held is { } previous && _filled > MergeLimit)
        {
            _held = null;
            StageBlock(previous);
        }

        if (_filled == _settings.BlockSize)
        {
            _held = TakeBlock();
        }
    }

    /// <summary>Most bytes of a last partial block sent in the full block before it (an eighth of a block).</summary>
    private int MergeLimit => _settings.BlockSize / 8;

    /// <summary>Takes the block being filled (its segments' references with it).</summary>
    private List<UploadSegment> TakeBlock()
    {
        var block = _block;
        _block = [];
        _filled = 0;
        return block;
    }

    /// <summary>Starts the Put Block of <paramref name="block"/> (its references are the request's from here on).</summary>
    private void StageBlock(List<UploadSegment> block)
    {
        // Block ids are equal-length base64 strings, numbered in order.
        var id = Convert.ToBase64String(BitConverter.GetBytes((long)_blockIds.Count));
        _blockIds.Add(id);
        try
        {
            while (_inFlight.Count >= _settings.Concurrency)
            {
                var done = Task.WhenAny(_inFlight).GetAwaiter().GetResult();
                _inFlight.Remove(done);
                done.GetAwaiter().GetResult();
            }
        }
        catch
        {
            UploadSegments.Release(block);
            throw;
        }

        _inFlight.Add(Task.Run(async () =>
        {
            try
            {
                using var content = new UploadSegments(block);
                await _blob.StageBlockAsync(id, content, new BlockBlobStageBlockOptions(), _cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                UploadSegments.Release(block);
            }
        }, CancellationToken.None));
    }

    /// <summary>Uploads what is buffered, waits for every block and commits the blob (once).</summary>
    public override void Flush() => CommitAsync().GetAwaiter().GetResult();

    /// <summary>
    /// Stages what is buffered and returns the commit, which finishes in the background: it waits for the staged
    /// blocks and commits the block list, creating the blob only if it does not exist. A file that fits in one
    /// block (with a tail of up to <see cref="MergeLimit"/> bytes) is created by one Put Blob instead (one request
    /// and one round trip fewer). Once called, the stream takes no more bytes.
    /// </summary>
    public Task CommitAsync()
    {
        if (_commit is not null)
        {
            return _commit;
        }

        _committed = true;
        // The copy buffer's own reference: slices of it in blocks keep it until they are sent.
        _copy?.Release();
        _copy = null;
        var conditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
        var tail = TakeBlock();
        var held = _held;
        _held = null;
        if (held is not null && tail.Count > 0 && Sum(tail) <= MergeLimit)
        {
            // The small tail rides in the last full block: one request fewer (the block is at most an eighth larger).
            held.AddRange(tail);
            tail.Clear();
        }

        if (_blockIds.Count == 0 && (held is null || tail.Count == 0))
        {
            return _commit = UploadWhole(held ?? tail, conditions);
        }

        if (held is not null)
        {
            try
            {
                StageBlock(held);
            }
            catch
            {
                // A block before it failed: the held block is released by StageBlock, the tail here.
                UploadSegments.Release(tail);
                throw;
            }
        }

        if (tail.Count > 0)
        {
            StageBlock(tail);
        }

        var blocks = _inFlight.ToArray();
        _inFlight.Clear();
        return _commit = CommitBlocks(blocks, conditions);
    }

    private static long Sum(List<UploadSegment> block)
    {
        long n = 0;
        foreach (var s in block)
        {
            n += s.Count;
        }

        return n;
    }

    private async Task UploadWhole(List<UploadSegment> block, BlobRequestConditions conditions)
    {
        try
        {
            using var content = new UploadSegments(block);
            await _blob.UploadAsync(content, new BlobUploadOptions { Conditions = conditions }, _cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            UploadSegments.Release(block);
        }
    }

    private async Task CommitBlocks(Task[] blocks, BlobRequestConditions conditions)
    {
        await Task.WhenAll(blocks).ConfigureAwait(false);
        await _blob.CommitBlockListAsync(_blockIds, new CommitBlockListOptions { Conditions = conditions }, _cancellationToken).ConfigureAwait(false);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // Once committing, the commit owns the staged blocks (its caller waits for it).
            if (_commit is null)
            {
                try
                {
                    Task.WhenAll(_inFlight).Wait();
                }
                catch (AggregateException)
                {
                    // Unflushed: the blob is abandoned; the failure that stopped the writer is already raised.
                }
            }

            UploadSegments.Release(TakeBlock());
            if (_held is { } held)
            {
                _held = null;
                UploadSegments.Release(held);
            }

            _copy?.Release();
            _copy = null;
        }

        base.Dispose(disposing);
    }
}
