using System.Runtime.InteropServices;
using DataraxCkpt.Values;

namespace DataraxCkpt.Format;

/// <summary>
/// Where one stored tensor is decoded to: an array (new, or a restore-into target's own) or the memory of
/// a row-major dense <see cref="System.Numerics.Tensors.Tensor{T}"/>. A restore first collects one for
/// every tensor it needs, then decodes all their chunks in one parallel loop (<see cref="StepReader.DecodeAll"/>).
/// </summary>
internal sealed class TensorDestination
{
    private readonly Array? _array;
    private readonly object? _tensor;

    private TensorDestination(TensorLayout layout, Type elementType, string itemName, Array? array, object? tensor)
    {
        Layout = layout;
        ElementType = elementType;
        ItemName = itemName;
        _array = array;
        _tensor = tensor;
    }

    /// <summary>Decodes into an array whose bytes are the tensor's (its length checked by the caller).</summary>
    public static TensorDestination ForArray(TensorLayout layout, Type elementType, string itemName, Array array) =>
        new(layout, elementType, itemName, array, null);

    /// <summary>Decodes into a row-major dense tensor's memory (its shape checked by the caller).</summary>
    public static TensorDestination ForTensor(TensorLayout layout, Type elementType, string itemName, object tensor) =>
        new(layout, elementType, itemName, null, tensor);

    public TensorLayout Layout { get; }

    public Type ElementType { get; }

    public string ItemName { get; }

    /// <summary>The first byte the tensor's raw bytes go to; <see cref="TensorLayout.RawLength"/> bytes follow.</summary>
    public ref byte Start() => ref _array is not null
        ? ref MemoryMarshal.GetArrayDataReference(_array)
        : ref TensorInterop.DataOf(_tensor!, ElementType);
}
