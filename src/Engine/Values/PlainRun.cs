using System.Buffers;
using System.Text.Json;

namespace DataraxCkpt.Values;

/// <summary>
/// Plain entries or elements of one container written straight into the state node's buffer rather than one
/// <see cref="Utf8JsonWriter.WriteRawValue(ReadOnlySpan{byte}, bool)"/> each (its state checks, the copy out of a
/// stack buffer). A run starts only after the writer itself wrote a value into the container, and then flushes it:
/// the writer's state (a value written at this depth, a separator due before the next) is then what every further
/// raw value would have left it in, so each value of the run carries its own leading comma, and whatever the writer
/// writes after <see cref="End"/> (a separator, a general entry, the closing bracket) follows the same bytes as if
/// the writer had written the run itself.
/// </summary>
/// <remarks>
/// Only <see cref="IBufferWriter{T}.GetSpan(int)"/> and <see cref="IBufferWriter{T}.Advance(int)"/> are used: each span
/// is filled while it has room for one more value, then committed, and the next one asked for; the buffer need not be
/// contiguous, and no request is larger than one value (a larger hint could grow a buffer sized to the state).
/// </remarks>
internal ref struct PlainRun
{
    private readonly IBufferWriter<byte> _output;
    private Span<byte> _span;
    private int _used;

    public PlainRun(IBufferWriter<byte> output) => _output = output;

    /// <summary>Whether the writer is flushed and values go straight into the buffer.</summary>
    public bool Active { get; private set; }

    /// <summary>Starts a run after the writer's last value: its pending bytes are committed first.</summary>
    public void Start(Utf8JsonWriter writer)
    {
        writer.Flush();
        Active = true;
    }

    /// <summary>Room for <paramref name="bytes"/> bytes at the end of the node; what is written there counts once <see cref="Commit"/> says so.</summary>
    public Span<byte> Room(int bytes)
    {
        if (_span.Length - _used < bytes)
        {
            if (_used > 0)
            {
                _output.Advance(_used);
            }

            _span = _output.GetSpan(bytes);
            _used = 0;
        }

        return _span[_used..];
    }

    /// <summary>Keeps the first <paramref name="bytes"/> bytes written into the last <see cref="Room"/>.</summary>
    public void Commit(int bytes) => _used += bytes;

    /// <summary>Commits the run's bytes to the buffer: the writer may write again.</summary>
    public void End()
    {
        if (_used > 0)
        {
            _output.Advance(_used);
        }

        _span = default;
        _used = 0;
        Active = false;
    }
}
