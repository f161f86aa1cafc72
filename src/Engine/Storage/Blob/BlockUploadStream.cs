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
/// </summary>
internal sealed class BlockUploadStream : Stream
{
    private readonly BlockBlobClient _blob;
    private readonly BlobSettings _settings;
    private readonly CancellationToken _cancellationToken;
    private readonly List<string> _blockIds = [];
    private readonly List<Task> _inFlight = [];
    private byte[]? _buffer;
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
            _buffer ??= ArrayPool<byte>.Shared.Rent(_settings.BlockSize);
            var n = Math.Min(buffer.Length, _settings.BlockSize - _filled);
            buffer[..n].CopyTo(_buffer.AsSpan(_filled));
            _filled += n;
            _length += n;
            buffer = buffer[n..];
            if (_filled == _settings.BlockSize)
            {
                StageBuffer();
            }
        }
    }

    private void StageBuffer()
    {
        if (_buffer is null || _filled == 0)
        {
            return;
        }

        // Block ids are equal-length base64 strings, numbered in order.
        var id = Convert.ToBase64String(BitConverter.GetBytes((long)_blockIds.Count));
        _blockIds.Add(id);
        var buffer = _buffer;
        var length = _filled;
        _buffer = null;
        _filled = 0;
        while (_inFlight.Count >= _settings.Concurrency)
        {
            var done = Task.WhenAny(_inFlight).GetAwaiter().GetResult();
            _inFlight.Remove(done);
            done.GetAwaiter().GetResult();
        }

        _inFlight.Add(Task.Run(async () =>
        {
            try
            {
                using var content = new MemoryStream(buffer, 0, length, writable: false);
                await _blob.StageBlockAsync(id, content, new BlockBlobStageBlockOptions(), _cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }, _cancellationToken));
    }

    /// <summary>Uploads what is buffered, waits for every block and commits the blob (once).</summary>
    public override void Flush() => CommitAsync().GetAwaiter().GetResult();

    /// <summary>
    /// Stages what is buffered and returns the commit, which finishes in the background: it waits for the staged
    /// blocks and commits the block list, creating the blob only if it does not exist. A file that fits in one
    /// block is created by one Put Blob instead (one request and one round trip fewer). Once called, the stream
    /// takes no more bytes.
    /// </summary>
    public Task CommitAsync()
    {
        if (_commit is not null)
        {
            return _commit;
        }

        _committed = true;
        var conditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
        if (_blockIds.Count == 0)
        {
            var buffer = _buffer;
            var length = _filled;
            _buffer = null;
            _filled = 0;
            return _commit = UploadWhole(buffer, length, conditions);
        }

        StageBuffer();
        var blocks = _inFlight.ToArray();
        _inFlight.Clear();
        return _commit = CommitBlocks(blocks, conditions);
    }

    private async Task UploadWhole(byte[]? buffer, int length, BlobRequestConditions conditions)
    {
        try
        {
            using var content = new MemoryStream(buffer ?? [], 0, length, writable: false);
            await _blob.UploadAsync(content, new BlobUploadOptions { Conditions = conditions }, _cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
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

            if (_buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = null;
            }
        }

        base.Dispose(disposing);
    }
}
