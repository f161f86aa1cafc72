namespace DataraxCkpt.Tests.Pipelines;

/// <summary>
/// The guide's <c>MyCheckpointableIterator</c> ("Checkpointable Iterator Pattern"), ported: iterates a
/// list and checkpoints only its position.
/// </summary>
internal sealed class MyCheckpointableIterator<T> : CheckpointableIterator<T>
{
    private readonly IReadOnlyList<T> _data;
    private long _position;
    private T? _current;

    public MyCheckpointableIterator(IReadOnlyList<T> data) => _data = data;

    public override T Current => _current!;

    public override bool MoveNext()
    {
        if (_position >= _data.Count)
        {
            return false; // Python raises StopIteration here.
        }

        _current = _data[(int)_position];
        _position++;
        return true;
    }

    public override IDictionary<string, object?> Checkpoint() =>
        new Dictionary<string, object?> { ["position"] = _position };

    public override void Restore(IDictionary<string, object?> state) => _position = (long)state["position"]!;
}
