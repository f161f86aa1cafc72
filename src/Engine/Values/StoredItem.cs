namespace DataraxCkpt.Values;

/// <summary>One leaf of an encoded state, as recorded in the index's item list of its step.</summary>
/// <param name="Name">Slash-joined leaf path (see <see cref="ItemNames"/>).</param>
/// <param name="Kind">tensor, scalar, string, key, keys or null.</param>
/// <param name="DType">Type code of the value or tensor element.</param>
/// <param name="Shape">Tensor shape, or null.</param>
/// <param name="Size">Bytes of the value.</param>
/// <param name="TensorIndex">Index into the manifest's tensor table, or -1.</param>
internal sealed record StoredItem(string Name, string Kind, string? DType, long[]? Shape, long Size, int TensorIndex);
