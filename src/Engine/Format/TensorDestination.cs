using System.Runtime.CompilerServices;
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
    private readonly System.Collections.IList? _list;

    private TensorDestination(TensorLayout layout, Type elementType, string itemName, Array? array, object? tensor,
        System.Collections.IList? list = null, Action? complete = null)
    {
        Layout = layout;
        ElementType = elementType;
        ItemName = itemName;
        _array = array;
        _tensor = tensor;
        _list = list;
        Complete = complete;
    }

    /// <summary>Decodes into an array whose bytes are the tensor's (its length checked by the caller).</summary>
    public static TensorDestination ForArray(TensorLayout layout, Type elementType, string itemName, Array array) =>
        new(layout, elementType, itemName, array, null);

    /// <summary>
    /// Decodes into an array, then runs <paramref name="complete"/> once every destination is decoded (boxes the
    /// elements into the object[], ArrayList or List&lt;object&gt; the tensor is restored as).
    /// </summary>
    public static TensorDestination ForArray(TensorLayout layout, Type elementType, string itemName, Array array, Action complete) =>
        new(layout, elementType, itemName, array, null, null, complete);

    /// <summary>Decodes into a numeric List&lt;T&gt;'s backing array in place (its Count checked by the caller).</summary>
    public static TensorDestination ForList(TensorLayout layout, Type elementType, string itemName, System.Collections.IList list) =>
        new(layout, elementType, itemName, null, null, list);

    /// <summary>Runs after all chunks of a restore are decoded; null for most destinations.</summary>
    public Action? Complete { get; }

    /// <summary>Decodes into a row-major dense tensor's memory (its shape checked by the caller).</summary>
    public static TensorDestination ForTensor(TensorLayout layout, Type elementType, string itemName, object tensor) =>
        new(layout, elementType, itemName, null, tensor);

    public TensorLayout Layout { get; }

    public Type ElementType { get; }

    public string ItemName { get; }

    /// <summary>
    /// The address of the first byte the tensor's raw bytes go to. A garbage collection may move the memory
    /// afterwards: only addresses read with no collection in between can be compared (<see cref="SharedMemoryCheck"/>).
    /// </summary>
    public nint Address() => Unsafe.ByteOffset(ref Unsafe.NullRef<byte>(), ref Start());

    /// <summary>The first byte the tensor's raw bytes go to; <see cref="TensorLayout.RawLength"/> bytes follow.</summary>
    private ref byte Start()
    {
        if (_array is not null)
        {
            return ref MemoryMarshal.GetArrayDataReference(_array);
        }

        return ref _list is not null ? ref ListStart(0) : ref TensorInterop.DataOf(_tensor!, ElementType);
    }

    /// <summary>
    /// The <paramref name="length"/> bytes at <paramref name="at"/> where the tensor's raw bytes go. A restore-into
    /// List&lt;T&gt; is the caller's own object, which another thread may resize meanwhile: its bytes are bounded by
    /// the backing array they are written to, so that such a race fails rather than writing past it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The target list no longer holds that many elements.</exception>
    public Span<byte> Bytes(long at, int length) =>
        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref _list is not null ? ref ListStart(at + length) : ref Start(), (nint)at), length);

    private ref byte ListStart(long bytesNeeded)
    {
        ref var start = ref ListTensors.DataOf(_list!, ElementType, out var count);
        if ((long)count * TypeCodes.ElementSize(ElementType) < bytesNeeded)
        {
            throw new InvalidOperationException($"the list restored into item '{ItemName}' was changed to {count} elements while it was being restored");
        }

        return ref start;
    }
}
