using System.Buffers;
using DataraxCkpt.Faults;

namespace DataraxCkpt.Format;

/// <summary>
/// A frame's bytes on their way to a seekable, readable file through one 64 KiB buffer: what is written goes to
/// the file a buffer at a time, so an encoder can write a block of megabytes without holding its output. Bytes
/// decided later (a block's size word, known only after its block) are put in with <see cref="Patch"/>, and an
/// encoding given up is dropped with <see cref="RewindTo"/> (round 50 of docs/performance-notes.md). Made without a
/// file, the pieces are kept in memory instead (a frame compressed while its content is still being produced, round 69)
/// and go to their destination with <see cref="CopyTo"/> once the frame is complete.
/// </summary>
internal sealed class Lz4Pieces : IDisposable
{
    /// <summary>Bytes held before they go to the file; the most <see cref="Take"/> hands out at once.</summary>
    public const int PieceSize = 64 << 10;

    /// <summary>Bytes past what <see cref="Reserve"/> hands out that a wild copy may write over (left room for, never sent as such).</summary>
    public const int Slack = 16;

    private readonly FileStream? _file;
    private readonly long _origin;

    // Memory mode: the pieces flushed so far, in order, each a pooled array and the bytes of it that count.
    private readonly List<(byte[] Array, int Length)>? _kept;
    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(PieceSize);
    private int _count;

    // Frame bytes already in the file, before those in the buffer.
    private long _flushed;

    /// <param name="file">Written from its current position on, which is the frame's start.</param>
    public Lz4Pieces(FileStream file)
    {
        _file = file;
        _origin = file.Position;
    }

    /// <summary>Keeps the frame's pieces in memory (pooled 64 KiB arrays) until <see cref="CopyTo"/>.</summary>
    public Lz4Pieces()
    {
        _kept = [];
    }

    private FileStream TargetFile => _file ?? throw new InvalidOperationException("this frame is kept in memory");

    /// <summary>Frame bytes written so far, in the file or in the buffer.</summary>
    public long Position => _flushed + _count;

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(Lz4Pieces));

    /// <summary>
    /// The next <paramref name="length"/> bytes of the frame (at most <see cref="PieceSize"/>), which the caller
    /// fills completely; the buffer goes to the file first when they do not fit behind what it holds.
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
    /// <see cref="PieceSize"/> - <see cref="Slack"/>) go, as <see cref="Take"/> but as an offset: the buffer goes to the file first when they
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

    /// <summary>Appends <paramref name="bytes"/>, of any length: a run past the buffer goes to the file from where it lies.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > PieceSize - _count)
        {
            Flush();
            if (bytes.Length >= PieceSize)
            {
                if (_kept is not null)
                {
                    // In memory a long run is kept as pieces of its own, copied; the buffer stays the one a caller may have pinned.
                    for (var at = 0; at < bytes.Length; at += PieceSize)
                    {
                        var part = bytes.Slice(at, Math.Min(PieceSize, bytes.Length - at));
                        var kept = ArrayPool<byte>.Shared.Rent(PieceSize);
                        part.CopyTo(kept);
                        _kept.Add((kept, part.Length));
                    }
                }
                else
                {
                    TargetFile.Write(bytes);
                }

                _flushed += bytes.Length;
                return;
            }
        }

        bytes.CopyTo(Buffer.AsSpan(_count));
        _count += bytes.Length;
    }

    /// <summary>Writes the buffer's bytes to the file, or in memory copies them to a piece of their own (the buffer may be pinned).</summary>
    public void Flush()
    {
        if (_count == 0)
        {
            return;
        }

        if (_kept is not null)
        {
            var kept = ArrayPool<byte>.Shared.Rent(PieceSize);
            Buffer.AsSpan(0, _count).CopyTo(kept);
            _kept.Add((kept, _count));
            _flushed += _count;
            _count = 0;
            return;
        }

        TargetFile.Write(Buffer, 0, _count);
        _flushed += _count;
        _count = 0;
        // A save killed here leaves a manifest whose block words are still zero in its staging folder.
        FaultInjector.Hit("save.manifest.piece-written");
    }

    /// <summary>
    /// Drops every byte after frame position <paramref name="position"/>: the next write goes there. The caller
    /// then writes at least as many bytes as it dropped, so nothing dropped stays at the file's end.
    /// </summary>
    public void RewindTo(long position)
    {
        if (position >= _flushed)
        {
            _count = (int)(position - _flushed);
            return;
        }

        _count = 0;
        if (_kept is not null)
        {
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
            return;
        }

        _flushed = position;
        TargetFile.Seek(_origin + position, SeekOrigin.Begin);
    }

    /// <summary>Overwrites the frame's bytes at <paramref name="position"/> (written earlier), in the buffer or in the file; the file's position stays.</summary>
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

        if (_kept is not null)
        {
            PatchKept(position, bytes);
            return;
        }

        FlushStream();
        RandomAccess.Write(TargetFile.SafeFileHandle, bytes, _origin + position);
    }

    // Patch and Finish go to the file through its handle, past the FileStream: a FileStream opened with a buffer (the
    // engine's is not) must hold none of the frame then, or a patch lands beyond the file's end and the buffered bytes
    // overwrite it later. Getting SafeFileHandle flushes that buffer too, but only for as long as the handle is not kept
    // (keeping it broke A_buffered_file_stream_gets_the_same_frame_and_its_hash: checked); this does not depend on it.
    private void FlushStream() => TargetFile.Flush(flushToDisk: false);

    // A patch may fall across two kept pieces (they end where a sequence did not fit, not at fixed sizes).
    private void PatchKept(long position, ReadOnlySpan<byte> bytes)
    {
        long start = 0;
        foreach (var (array, length) in _kept!)
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
    /// Memory mode: writes the whole frame to <paramref name="destination"/> piece by piece and returns its length and
    /// the XXH64 of the bytes written, which are these bytes: a stream's write either takes all of a piece or throws.
    /// </summary>
    public (long Length, ulong Hash) CopyTo(Stream destination)
    {
        var kept = _kept ?? throw new InvalidOperationException("this frame went to its file as it was written");
        Flush();
        var hash = new K4os.Hash.xxHash.XXH64();
        foreach (var (array, length) in kept)
        {
            hash.Update(array.AsSpan(0, length));
            destination.Write(array, 0, length);
            // A save killed here leaves a staged manifest cut short, which no step is published from.
            FaultInjector.Hit("save.manifest.piece-written");
        }

        return (_flushed, hash.Digest());
    }

    /// <summary>
    /// Writes what is left (through any buffer of the FileStream too) and returns the XXH64 of the whole frame as the
    /// file now holds it. A frame that never left the buffer is hashed there; a longer one is read back through the
    /// buffer, since a word patched into bytes already written lies before bytes that are hashed in order.
    /// </summary>
    public ulong Finish()
    {
        var file = TargetFile;
        var buffer = Buffer;
        if (_flushed == 0)
        {
            var digest = K4os.Hash.xxHash.XXH64.DigestOf(buffer.AsSpan(0, _count));
            Flush();
            FlushStream();
            return digest;
        }

        Flush();
        FlushStream();
        var length = _flushed;
        var hash = new K4os.Hash.xxHash.XXH64();
        for (long at = 0; at < length;)
        {
            var read = RandomAccess.Read(file.SafeFileHandle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, length - at)), _origin + at);
            if (read <= 0)
            {
                throw new IOException($"the manifest file {file.Name} ended at byte {at} of its {length} while its hash was taken; save the step again");
            }

            hash.Update(buffer.AsSpan(0, read));
            at += read;
        }

        return hash.Digest();
    }

    /// <summary>Returns the buffer and every kept piece to the pool.</summary>
    public void Dispose()
    {
        if (_kept is not null)
        {
            foreach (var (array, _) in _kept)
            {
                ArrayPool<byte>.Shared.Return(array);
            }

            _kept.Clear();
        }

        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
