namespace DataraxCkpt.Tests.Pipelines;

/// <summary>
/// A custom iterator that follows the fingerprint convention but, unlike <see cref="Pipeline{T}"/>,
/// does not validate its own state: what <see cref="IteratorCheckpoint"/> protects it from is tested.
/// </summary>
internal sealed class FingerprintedIterator : CheckpointableIterator<int>
{
    private readonly int _stride;

    public FingerprintedIterator(int stride) => _stride = stride;

    public long Position { get; private set; }

    public override int Current => (int)Position * _stride;

    public override bool MoveNext()
    {
        Position++;
        return true;
    }

    public override IDictionary<string, object?> Checkpoint() => new Dictionary<string, object?>
    {
        ["position"] = Position,
        ["fingerprint"] = new Dictionary<string, object?> { ["stride"] = (long)_stride, ["name"] = "counter" },
    };

    public override void Restore(IDictionary<string, object?> state) => Position = (long)state["position"]!;
}
