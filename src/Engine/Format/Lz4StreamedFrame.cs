using System.Buffers;
using System.Buffers.Binary;

namespace DataraxCkpt.Format;

/// <summary>
/// Builds an LZ4 frame of docs/format.md §2.1 (4 MiB independent blocks, content size, content checksum) from content
/// that arrives in parts, in order, without ever holding the content whole: each part is compressed as it comes
/// (<see cref="Lz4BlockEncoder.Continue"/>) over a window of the block's last 64 KiB and its pending literals, and
/// hashed into the content checksum; the frame's bytes are kept in 64 KiB pieces (<see cref="Lz4Pieces"/>) until
/// <see cref="Finish"/> has patched the content size and the block words, and <see cref="CopyTo"/> writes them.
/// A save's manifest goes through it while the walk produces the state node (round 69 of docs/performance-notes.md).
/// Not thread-safe: one thread at a time, in order.
/// </summary>
internal sealed unsafe class Lz4StreamedFrame : IDisposable
{
    private const int Window = 64 << 10;
    private const int FirstWindowArray = 256 << 10;
    private const int TableBytes = Lz4BlockEncoder.StreamedTableEntries * sizeof(uint);

    private readonly Lz4Pieces _pieces = new();
    // 16 KiB, rented (a save's encode allocates under a byte a leaf, EncoderAllocationTests) and zeroed per block.
    private byte[]? _table = ArrayPool<byte>.Shared.Rent(TableBytes);
    private XxHash32 _checksum = new(0);
    private byte[]? _window = ArrayPool<byte>.Shared.Rent(FirstWindowArray);
    private long _content;
    private bool _finished;

    // The block being encoded: bytes of it so far, where its size word is, which of its bytes the window holds.
    private int _filled;
    private long _wordAt = -1;
    private int _windowStart;
    private int _windowLength;
    private int _next;
    private int _anchor;

    // Until the output so far plus the worst case of the rest is sure to fit in a block, the block's bytes are all
    // kept, so that a block that does not shrink can still be stored raw. Compressible content drops that within a
    // piece or two; a block that never compresses keeps up to its 4 MiB (Lz4Frame.Encode holds a whole block's input too).
    private bool _rawKept = true;

    // False on a big-endian host, whose word reads the block parse is not written for (Lz4BlockEncoder.Supported): every
    // block is then kept whole and stored raw, a frame of the same shape that every reader decodes.
    private readonly bool _compress;

    public Lz4StreamedFrame()
        : this(Lz4BlockEncoder.Supported)
    {
    }

    /// <summary>A frame whose blocks are compressed, or, with <paramref name="compress"/> false, all stored raw.</summary>
    internal Lz4StreamedFrame(bool compress)
    {
        _compress = compress;
        _table.AsSpan(0, TableBytes).Clear();
        _pieces.Take(Lz4Frame.HeaderLength).Clear();
    }

    /// <summary>Content bytes appended so far.</summary>
    public long ContentLength => _content;

    /// <summary>Appends the next content bytes.</summary>
    public void Append(ReadOnlySpan<byte> content)
    {
        if (_finished)
        {
            throw new InvalidOperationException("the frame is finished");
        }

        while (!content.IsEmpty)
        {
            if (_filled == 0)
            {
                _wordAt = _pieces.Position;
                _pieces.Take(4).Clear();
            }

            var part = content[..Math.Min(Lz4Frame.BlockSize - _filled, content.Length)];
            Hold(part);
            _checksum.Append(part);
            _filled += part.Length;
            _content += part.Length;
            content = content[part.Length..];
            if (_filled == Lz4Frame.BlockSize)
            {
                EndBlock();
            }
            else
            {
                Encode(final: false);
                if (_compress && _rawKept && _pieces.Position - (_wordAt + 4) + WorstCase(Lz4Frame.BlockSize - _anchor) <= Lz4Frame.BlockSize)
                {
                    _rawKept = false;
                }
            }
        }
    }

    /// <summary>Ends the last block and writes the end mark, the content checksum and the header's content size.</summary>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }

        if (_filled > 0)
        {
            EndBlock();
        }

        var trailer = _pieces.Take(8);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], _checksum.Digest());
        Span<byte> header = stackalloc byte[Lz4Frame.HeaderLength];
        Lz4Frame.WriteHeader(header, checked((int)_content));
        _pieces.Patch(0, header);
        _finished = true;
        ReturnWindow();
    }

    /// <summary>Writes the finished frame to <paramref name="destination"/>; returns its length and the XXH64 of its bytes.</summary>
    public (long Length, ulong Hash) CopyTo(Stream destination)
    {
        if (!_finished)
        {
            throw new InvalidOperationException("the frame is not finished");
        }

        return _pieces.CopyTo(destination);
    }

    /// <summary>Gives every pooled array back.</summary>
    public void Dispose()
    {
        ReturnWindow();
        _pieces.Dispose();
    }

    // LZ4's bound of a block's output for this many input bytes.
    private static long WorstCase(long input) => input + (input / 255) + 16;

    private void Encode(bool final)
    {
        if (!_compress)
        {
            return;
        }

        fixed (byte* window = _window)
        fixed (byte* table = _table)
        {
            Lz4BlockEncoder.Continue(window - _windowStart, window, _filled, final, (uint*)table, ref _next, ref _anchor, _pieces);
        }
    }

    private void EndBlock()
    {
        Encode(final: true);
        var encoded = _pieces.Position - (_wordAt + 4);
        Span<byte> word = stackalloc byte[4];
        if (_rawKept && (encoded >= _filled || !_compress))
        {
            // It did not shrink and all its bytes are still here: stored raw, as Lz4Frame.Encode stores such a block.
            _pieces.RewindTo(_wordAt + 4);
            _pieces.Write(_window.AsSpan(0, _filled));
            BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)_filled | Lz4Frame.RawBlockBit);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)encoded);
        }

        _pieces.Patch(_wordAt, word);
        _table.AsSpan(0, TableBytes).Clear();
        _filled = 0;
        _windowStart = 0;
        _windowLength = 0;
        _next = 0;
        _anchor = 0;
        _rawKept = true;
    }

    // Puts the block's next bytes behind those held, first dropping what no later match or literal can need.
    private void Hold(ReadOnlySpan<byte> part)
    {
        var window = _window ?? throw new ObjectDisposedException(nameof(Lz4StreamedFrame));
        if (_windowLength + part.Length > window.Length)
        {
            var keepFrom = _rawKept ? 0 : FirstNeeded(_anchor, _next);
            var drop = keepFrom - _windowStart;
            if (drop > 0)
            {
                window.AsSpan(drop, _windowLength - drop).CopyTo(window);
                _windowLength -= drop;
                _windowStart = keepFrom;
            }

            if (_windowLength + part.Length > window.Length)
            {
                var grown = ArrayPool<byte>.Shared.Rent(Math.Max(window.Length * 2, _windowLength + part.Length));
                window.AsSpan(0, _windowLength).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(window);
                _window = window = grown;
            }
        }

        part.CopyTo(window.AsSpan(_windowLength));
        _windowLength += part.Length;
    }

    /// <summary>
    /// The first byte of the block that <see cref="Lz4BlockEncoder.Continue"/> can still read once the parse stands at
    /// <paramref name="anchor"/> and <paramref name="next"/>: the pending literals from the anchor, and the 64 KiB a
    /// match found from <paramref name="next"/> on may reach back. Bytes before it may be dropped from the window.
    /// </summary>
    internal static int FirstNeeded(int anchor, int next) => Math.Min(anchor, Math.Max(0, next - Window));

    private void ReturnWindow()
    {
        if (_table is { } table)
        {
            _table = null;
            ArrayPool<byte>.Shared.Return(table);
        }

        if (_window is { } window)
        {
            _window = null;
            ArrayPool<byte>.Shared.Return(window);
        }
    }
}
