namespace DataraxCkpt.Format;

/// <summary>
/// Up to four stored chunks (of one step or of several) to be read into their targets and verified side
/// by side by <see cref="StepReader.ReadStoredGroup"/>: the one place where restore and inspection
/// (statistics, numeric diffs) read a group of stored chunks. A ref struct, so a target can be any span
/// (an array's bytes, a list's backing array, a pooled buffer) and a group costs no allocation.
/// </summary>
internal ref struct StoredChunkGroup
{
    /// <summary>The most chunks a group holds: the lanes of <see cref="XxHash32.AppendFour"/>.</summary>
    public const int Capacity = 4;

    private StepReader? _r0, _r1, _r2, _r3;
    private ChunkLayout _c0, _c1, _c2, _c3;
    private Span<byte> _t0, _t1, _t2, _t3;
    private string? _n0, _n1, _n2, _n3;

    public int Count { get; private set; }

    /// <summary>Adds a chunk to the group.</summary>
    /// <param name="reader">The step the chunk belongs to.</param>
    /// <param name="chunk">The chunk: one stored block, unshuffled (<see cref="StepReader.IsStoredCandidate"/>).</param>
    /// <param name="target">Where its bytes go: exactly its raw length.</param>
    /// <param name="itemName">The item the chunk belongs to, named by any error.</param>
    public void Add(StepReader reader, ChunkLayout chunk, Span<byte> target, string itemName)
    {
        if (target.Length != chunk.RawLength)
        {
            throw new ArgumentException($"the target holds {target.Length} bytes; the chunk decodes to {chunk.RawLength}", nameof(target));
        }

        switch (Count)
        {
            case 0:
                (_r0, _c0, _n0) = (reader, chunk, itemName);
                _t0 = target;
                break;
            case 1:
                (_r1, _c1, _n1) = (reader, chunk, itemName);
                _t1 = target;
                break;
            case 2:
                (_r2, _c2, _n2) = (reader, chunk, itemName);
                _t2 = target;
                break;
            case 3:
                (_r3, _c3, _n3) = (reader, chunk, itemName);
                _t3 = target;
                break;
            default: throw new InvalidOperationException($"a group holds at most {Capacity} chunks");
        }

        Count++;
    }

    public readonly StepReader Reader(int k) => k switch { 0 => _r0!, 1 => _r1!, 2 => _r2!, _ => _r3! };

    public readonly ChunkLayout Chunk(int k) => k switch { 0 => _c0, 1 => _c1, 2 => _c2, _ => _c3 };

    public readonly Span<byte> Target(int k) => k switch { 0 => _t0, 1 => _t1, 2 => _t2, _ => _t3 };

    public readonly string ItemName(int k) => k switch { 0 => _n0!, 1 => _n1!, 2 => _n2!, _ => _n3! };
}
