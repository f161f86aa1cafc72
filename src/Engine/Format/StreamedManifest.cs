using System.Buffers;
using System.Runtime.ExceptionServices;

namespace DataraxCkpt.Format;

/// <summary>
/// The buffer writer a save's walk writes the manifest's state node into: the manifest's first member
/// (<c>{"state":</c>, written here) and the node go out in 64 KiB pieces to a pool thread that compresses and checksums
/// them in order (<see cref="Lz4StreamedFrame"/>) and gives each raw piece back to the pool, so the raw node (3.3 MB for
/// 100,000 ints) is never held whole. <see cref="Complete"/> appends the rest of the manifest (its other members, known
/// only after the data file) and ends the frame. Round 69 of docs/performance-notes.md.
/// </summary>
/// <remarks>
/// One writer thread. <see cref="Dispose"/> waits for the pool's work before anything goes back to the pool, on every
/// path (a walk refused mid-state leaves nothing written: the frame was only ever in memory).
/// </remarks>
internal sealed class StreamedManifest : IBufferWriter<byte>, IDisposable
{
    /// <summary>Raw bytes handed to the compressing thread at a time.</summary>
    public const int PieceSize = 64 << 10;

    // Pieces waiting for the compressor past which the writer waits for it: the walk outrunning the compression on a
    // busy machine would otherwise queue the whole node again.
    private const int MostQueued = 8;

    private static ReadOnlySpan<byte> Opening => "{\"state\":"u8;

    private readonly Lz4StreamedFrame _frame;
    private readonly object _gate = new();
    private readonly Queue<(byte[] Array, int Length)> _queue = new();

    // Pieces the compressor is done with, for the walk to write into again: pieces are rented and given back on the
    // walk's thread only, so a save's next encode finds them in that thread's pool cache instead of allocating.
    private readonly Stack<byte[]> _spare = new();
    private bool _running;
    private Task? _worker;
    private ExceptionDispatchInfo? _failure;

    private byte[]? _piece;
    private int _count;
    private long _written;
    private bool _done;

    public StreamedManifest()
        : this(new Lz4StreamedFrame())
    {
    }

    /// <summary>Writes into <paramref name="frame"/>, which the writer then owns (a test hands it one that fails).</summary>
    internal StreamedManifest(Lz4StreamedFrame frame)
    {
        _frame = frame;
        Opening.CopyTo(GetSpan(Opening.Length));
        Advance(Opening.Length);
    }

    /// <summary>Bytes of the state node written so far (what followed the opening).</summary>
    public long StateNodeLength => _written - Opening.Length;

    /// <summary>Raw pieces holding node bytes not yet compressed (the one being written and those queued): 0 once disposed.</summary>
    internal int PiecesHeld
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count + (_piece is null ? 0 : 1);
            }
        }
    }

    /// <summary>Rented arrays of this writer's not yet back in the pool (pieces in use, queued or spare): 0 once disposed.</summary>
    internal int PiecesRented
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count + _spare.Count + (_piece is null ? 0 : 1);
            }
        }
    }

    public void Advance(int count)
    {
        if (count < 0 || _piece is null || _count + count > _piece.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        _count += count;
        _written += count;
        if (_count >= PieceSize)
        {
            HandOff();
        }
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => Room(sizeHint).AsMemory(_count);

    public Span<byte> GetSpan(int sizeHint = 0) => Room(sizeHint).AsSpan(_count);

    private byte[] Room(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        var hint = Math.Max(sizeHint, 1);
        if (_piece is { } piece && piece.Length - _count >= hint)
        {
            return piece;
        }

        if (_count > 0)
        {
            HandOff();
        }
        else if (_piece is { } empty)
        {
            _piece = null;
            ArrayPool<byte>.Shared.Return(empty);
        }

        if (hint <= PieceSize)
        {
            lock (_gate)
            {
                _spare.TryPop(out _piece);
            }
        }

        // A value longer than a piece (a long string) gets a piece of its own size.
        _piece ??= ArrayPool<byte>.Shared.Rent(Math.Max(PieceSize, hint));
        return _piece;
    }

    private void HandOff()
    {
        var piece = (_piece!, _count);
        _piece = null;
        _count = 0;
        bool start;
        int queued;
        lock (_gate)
        {
            _queue.Enqueue(piece);
            queued = _queue.Count;
            start = !_running;
            _running = true;
        }

        if (start)
        {
            _worker = PoolOrWaiter.Run(Compress);
        }
        else if (queued > MostQueued)
        {
            // Runs the queue here if no pool thread has started on it.
            _worker!.GetAwaiter().GetResult();
        }
    }

    // Never throws: a failure is kept for the writer's thread, and every later piece still goes back to the pool.
    private void Compress()
    {
        while (true)
        {
            (byte[] Array, int Length) piece;
            lock (_gate)
            {
                if (!_queue.TryDequeue(out piece))
                {
                    _running = false;
                    return;
                }
            }

            try
            {
                if (_failure is null)
                {
                    _frame.Append(piece.Array.AsSpan(0, piece.Length));
                }
            }
            catch (Exception e)
            {
                _failure = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                lock (_gate)
                {
                    _spare.Push(piece.Array);
                }
            }
        }
    }

    /// <summary>
    /// Appends <paramref name="rest"/> (the manifest after its state node: <c>,"format":…}</c>) behind what the walk
    /// wrote and ends the frame; a failure of the compressing thread is thrown here as itself. The frame stays this
    /// writer's: it goes back to the pool with <see cref="Dispose"/>.
    /// </summary>
    public Lz4StreamedFrame Complete(ReadOnlySpan<byte> rest)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        WaitForCompressor();
        _failure?.Throw();
        if (_piece is { } piece)
        {
            _frame.Append(piece.AsSpan(0, _count));
            _count = 0;
        }

        _frame.Append(rest);
        _frame.Finish();
        _done = true;
        return _frame;
    }

    private void WaitForCompressor() => _worker?.GetAwaiter().GetResult();

    /// <summary>Waits for the compressing thread, then gives the pieces, the window and the frame back to the pool.</summary>
    public void Dispose()
    {
        _done = true;
        PoolOrWaiter.WaitIgnoringFailure(_worker);
        lock (_gate)
        {
            // The compressor drains the queue before it stops; this is for a worker that never ran.
            while (_queue.TryDequeue(out var left))
            {
                ArrayPool<byte>.Shared.Return(left.Array);
            }

            while (_spare.TryPop(out var spare))
            {
                ArrayPool<byte>.Shared.Return(spare);
            }
        }

        if (_piece is { } piece)
        {
            _piece = null;
            ArrayPool<byte>.Shared.Return(piece);
        }

        _frame.Dispose();
    }
}
