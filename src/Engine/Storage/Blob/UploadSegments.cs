using System.Buffers;

namespace DataraxCkpt.Storage.Blob;

/// <summary>A slice of a lent buffer in a block.</summary>
internal readonly record struct UploadSegment(LentBuffer Buffer, int Offset, int Count);

/// <summary>
/// One block's bytes as a read-only, seekable stream over its segments (the SDK rewinds it to retry a request),
/// read straight from the lent buffers: no block-sized copy is made.
/// </summary>
internal sealed class UploadSegments : Stream
{
    private readonly List<UploadSegment> _segments;
    private readonly long _length;
    private long _position;
    private int _segment;
    private int _within;

    public UploadSegments(List<UploadSegment> segments)
    {
        _segments = segments;
        foreach (var s in segments)
        {
            _length += s.Count;
        }
    }

    /// <summary>Releases a block's references to its buffers (once its request is done or abandoned).</summary>
    public static void Release(List<UploadSegment> block)
    {
        foreach (var s in block)
        {
            s.Buffer.Release();
        }

        block.Clear();
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = Math.Min(value, _length);
            // Found again from the start: a block has a handful of segments, and only a retry seeks.
            var left = _position;
            _segment = 0;
            while (_segment < _segments.Count && left >= _segments[_segment].Count)
            {
                left -= _segments[_segment++].Count;
            }

            _within = (int)left;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var done = 0;
        while (done < buffer.Length && _segment < _segments.Count)
        {
            var s = _segments[_segment];
            var n = Math.Min(buffer.Length - done, s.Count - _within);
            s.Buffer.Array.AsSpan(s.Offset + _within, n).CopyTo(buffer[done..]);
            done += n;
            _within += n;
            if (_within == s.Count)
            {
                _segment++;
                _within = 0;
            }
        }

        _position += done;
        return done;
    }

    // In-memory reads complete at once: the base class would queue them to the thread pool.
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(Read(buffer.Span));

    /// <summary>Writes the segments themselves to <paramref name="destination"/> (no bounce buffer).</summary>
    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        while (_segment < _segments.Count)
        {
            var s = _segments[_segment];
            await destination.WriteAsync(s.Buffer.Array.AsMemory(s.Offset + _within, s.Count - _within), cancellationToken).ConfigureAwait(false);
            _position += s.Count - _within;
            _segment++;
            _within = 0;
        }
    }

    public override void CopyTo(Stream destination, int bufferSize)
    {
        while (_segment < _segments.Count)
        {
            var s = _segments[_segment];
            destination.Write(s.Buffer.Array, s.Offset + _within, s.Count - _within);
            _position += s.Count - _within;
            _segment++;
            _within = 0;
        }
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => _length + offset,
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
