using System.Buffers;
using System.Numerics.Tensors;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// A dense <see cref="Tensor{T}"/> is written from its own memory by a synchronous save (no whole copy),
/// a slice is written in row-major order, and an asynchronous save still copies it before returning.
/// The allocation count is process-wide, so the class runs alone, after the parallel classes: another
/// test's allocations once pushed it over its bound in CI.
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class TensorSaveFromMemoryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_synchronous_save_of_a_dense_tensor_does_not_copy_it_whole()
    {
        const int elements = 16 << 20; // 64 MiB of float32
        var values = new float[elements];
        new Random(5).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        var tensor = Tensor.Create(values, [4096, 4096]);
        using var handler = new CheckpointHandler();
        handler.Save(_dir.Path, new Dictionary<string, object?> { ["t"] = tensor }, step: 0); // fills the write buffers' pools

        var before = GC.GetTotalAllocatedBytes(precise: true);
        handler.Save(_dir.Path, new Dictionary<string, object?> { ["t"] = tensor }, step: 1);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.True(allocated < elements * sizeof(float) / 2, $"the save allocated {allocated} bytes for a {elements * sizeof(float)}-byte tensor");
        var back = (Tensor<float>)((IDictionary<string, object?>)handler.Restore(_dir.Path, 1)!)["t"]!;
        Assert.Equal([4096, 4096], back.Lengths.ToArray());
        Assert.True(values.AsSpan().SequenceEqual(back.ToArray()));
    }

    [Fact]
    public void A_sliced_tensor_is_saved_as_its_own_elements_in_row_major_order()
    {
        var tensor = Tensor.Create(Enumerable.Range(0, 12).ToArray(), [3, 4]);
        var slice = tensor.Slice([new NRange(1, 3), new NRange(1, 3)]);
        using var handler = new CheckpointHandler();

        handler.Save(_dir.Path, new Dictionary<string, object?> { ["s"] = slice }, step: 1);

        var back = (Tensor<int>)((IDictionary<string, object?>)handler.Restore(_dir.Path, 1)!)["s"]!;
        Assert.Equal([2, 2], back.Lengths.ToArray());
        Assert.Equal([5, 6, 9, 10], back.ToArray());
    }

    [Fact]
    public void An_asynchronous_save_keeps_the_tensor_as_it_was_when_save_returned()
    {
        var values = Enumerable.Range(0, 1000).Select(i => (double)i).ToArray();
        var tensor = Tensor.Create(values, [10, 100]);
        using var handler = new CheckpointHandler(new CheckpointOptions { Async = true });

        handler.Save(_dir.Path, new Dictionary<string, object?> { ["t"] = tensor }, step: 1);
        values.AsSpan().Fill(-1);
        handler.WaitUntilFinished();

        var back = (Tensor<double>)((IDictionary<string, object?>)handler.Restore(_dir.Path, 1)!)["t"]!;
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (double)i), back.ToArray());
    }
}
