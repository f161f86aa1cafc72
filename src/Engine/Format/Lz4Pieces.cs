using System.Buffers;
using DataraxCkpt.Faults;

namespace DataraxCkpt.Format;

/// <summary>
/// A frame's bytes kept in memory in pooled 64 KiB pieces while the frame is compressed, its content still being
/// produced (round 69 of docs/performance-notes.md): an encoder writes through one 64 KiB buffer, which is copied to a
/// piece of its own when full, so a block of megabytes never needs one array of its output's size. Bytes decided later
/// (the header's content size, a block's size word, known only after its block) are put in with <see cref="Patch"/>, and
/// an encoding given up is dropped with <see cref="RewindTo"/>; the finished frame goes to its destination with
/// <see cref="CopyTo"/>.
/// </summary>
internal sealed class Lz4Pieces : IDisposable
{
    /// <summary>Bytes held in the buffer before they go to a piece; the most <see cref="Take"/> hands out at once.</summary>
    public const int PieceSize = 64 << 10;

    /// <summary>Bytes past what <see cref="Reserve"/> hands out that a wild copy may write over (left room for, never sent as such).</summary>
    public const int Slack = 16;

    // The pieces flushed so far, in order, each a pooled array and the bytes of it that count.
    private readonly List<(byte[] Array, int Length)> _kept = [];
    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(PieceSize);
    private int _count;

    // Frame bytes already in pieces, before those in the buffer.
    private long _flushed;

    /// <summary>Frame bytes written so far, in pieces or in the buffer.</summary>
    public long Position => _flushed + _count;

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(Lz4Pieces));

    /// <summary>
    /// The next <paramref name="length"/> bytes of the frame (at most <see cref="PieceSize"/>), which the caller
    /// fills completely; the buffer goes to a piece first when they do not fit behind what it holds.
    /// </summary>
    public Span<byte> Take(int length)
    {
        if (PieceSize - _count < length)
        {
            Flush();
        }

        var taken = Buffer.AsSpan(_count, length);
        _count += length;
        return taken;
    }

    /// <summary>The buffer itself, for an encoder that pins it and writes what <see cref="Reserve"/> hands out through a pointer.</summary>
    public byte[] Pinnable => Buffer;

    /// <summary>
    /// Where in <see cref="Pinnable"/> the next <paramref name="length"/> bytes of the frame (at most
    /// <see cref="PieceSize"/> - <see cref="Slack"/>) go, as <see cref="Take"/> but as an offset: the buffer goes to a piece first when they
    /// do not fit behind what it holds. The caller writes all of them, and may write up to <see cref="Slack"/>
    /// bytes past them, which the next bytes overwrite.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public int Reserve(int length)
    {
        // Room is kept for the slack too, so the buffer stays a 64 KiB array (a larger one would be a pool array on the LOH).
        if (PieceSize - _count < length + Slack)
        {
            Flush();
        }

        var at = _count;
        _count += length;
        return at;
    }

    /// <summary>Appends <paramref name="bytes"/>, of any length: a run past the buffer is copied into pieces of its own.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > PieceSize - _count)
        {
            Flush();
            if (bytes.Length >= PieceSize)
            {
                // Copied to pieces directly; the buffer stays the one a caller may have pinned.
                for (var at = 0; at < bytes.Length; at += PieceSize)
                {
                    var part = bytes.Slice(at, Math.Min(PieceSize, bytes.Length - at));
                    var kept = ArrayPool<byte>.Shared.Rent(PieceSize);
                    part.CopyTo(kept);
                    _kept.Add((kept, part.Length));
                }

                _flushed += bytes.Length;
                return;
            }
        }

        bytes.CopyTo(Buffer.AsSpan(_count));
        _count += bytes.Length;
    }

    /// <summary>Copies the buffer's bytes to a piece of their own (the buffer may be pinned, so it stays).</summary>
    public void Flush()
    {
        if (_count == 0)
        {
            return;
        }

        var kept = ArrayPool<byte>.Shared.Rent(PieceSize);
        Buffer.AsSpan(0, _count).CopyTo(kept);
        _kept.Add((kept, _count));
        _flushed += _count;
        _count = 0;
    }

    /// <summary>Drops every byte after frame position <paramref name="position"/>: the next write goes there.</summary>
    public void RewindTo(long position)
    {
        if (position >= _flushed)
        {
            _count = (int)(position - _flushed);
            return;
        }

        _count = 0;
        // Pieces wholly past the position go back to the pool; the one it falls in is cut there.
        var start = _flushed;
        for (var k = _kept.Count - 1; k >= 0; k--)
        {
            var (array, length) = _kept[k];
            start -= length;
            if (start >= position)
            {
                ArrayPool<byte>.Shared.Return(array);
                _kept.RemoveAt(k);
                continue;
            }

            _kept[k] = (array, (int)(position - start));
            break;
        }

        _flushed = position;
    }

    /// <summary>Overwrites the frame's bytes at <paramref name="position"/> (written earlier), in the buffer or in the pieces.</summary>
    public void Patch(long position, ReadOnlySpan<byte> bytes)
    {
        if (position >= _flushed)
        {
            bytes.CopyTo(Buffer.AsSpan((int)(position - _flushed)));
            return;
        }

        if (position + bytes.Length > _flushed)
        {
            Flush();
        }

        // A patch may fall across two pieces (they end where a sequence did not fit, not at fixed sizes).
        long start = 0;
        foreach (var (array, length) in _kept)
        {
            if (bytes.IsEmpty)
            {
                return;
            }

            if (position < start + length)
            {
                var at = (int)(position - start);
                var n = Math.Min(bytes.Length, length - at);
                bytes[..n].CopyTo(array.AsSpan(at));
                bytes = bytes[n..];
                position += n;
            }

            start += length;
        }
    }

    /// <summary>
    /// Writes the whole frame to <paramref name="destination"/> piece by piece and returns its length and the XXH64 of
    /// the bytes written, which are these bytes: a stream's write either takes all of a piece or throws.
    /// </summary>
    public (long Length, ulong Hash) CopyTo(Stream destination)
    {
        Flush();
        var hash = new K4os.Hash.xxHash.XXH64();
        foreach (var (array, length) in _kept)
        {
            hash.Update(array.AsSpan(0, length));
            destination.Write(array, 0, length);
            // A save killed here leaves a staged manifest cut short, which no step is published from.
            FaultInjector.Hit("save.manifest.piece-written");
        }

        return (_flushed, hash.Digest());
    }

    /// <summary>Returns the buffer and every kept piece to the pool.</summary>
    public void Dispose()
    {
        foreach (var (array, _) in _kept)
        {
            ArrayPool<byte>.Shared.Return(array);
        }

        _kept.Clear();
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
