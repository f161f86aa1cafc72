namespace DataraxCkpt;

/// <summary>One leaf of a stored step, read from the index without decompressing anything.</summary>
public sealed class CheckpointItemInfo
{
    /// <summary>Creates a record.</summary>
    public CheckpointItemInfo(long step, string name, string kind, string? dtype, IReadOnlyList<long>? shape, long size, long storedSize)
    {
        Step = step;
        Name = name;
        Kind = kind;
        DType = dtype;
        Shape = shape;
        Size = size;
        StoredSize = storedSize;
    }

    /// <summary>The step the item belongs to.</summary>
    public long Step { get; }

    /// <summary>Slash-separated path of the leaf, e.g. <c>params/linear/kernel</c>.</summary>
    public string Name { get; }

    /// <summary>What the leaf is: <c>tensor</c>, <c>scalar</c>, <c>string</c>, <c>key</c>, <c>null</c>, …</summary>
    public string Kind { get; }

    /// <summary>Element or value type code (<c>f32</c>, <c>i64</c>, <c>str</c>, …).</summary>
    public string? DType { get; }

    /// <summary>Shape of a tensor or key array; null for scalars.</summary>
    public IReadOnlyList<long>? Shape { get; }

    /// <summary>Bytes of the leaf's value.</summary>
    public long Size { get; }

    /// <summary>Bytes the leaf occupies in the data file (0 for leaves kept in the manifest).</summary>
    public long StoredSize { get; }
}
