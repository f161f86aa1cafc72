using System.Numerics.Tensors;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests;

/// <summary>
/// <see cref="CheckpointHandler.RestoreInto{T}"/> refuses two target items that share memory (an array and a
/// <see cref="Tensor{T}"/> built over it, two tensors over one array, or overlapping parts of one array) when the
/// step stores different tensors there: decoding both would leave a mix in that memory (and fail the checksum of
/// a good store), so nothing is written. One tied stored tensor at both places is decoded once.
/// </summary>
public sealed class RestoreIntoSharedMemoryTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Theory]
    [InlineData(40, false)]
    [InlineData(50, false)]
    [InlineData(40, true)]
    [InlineData(16 << 20, true)]
    public void An_array_and_a_tensor_over_it_where_different_tensors_are_stored_are_refused_and_left_as_they_were(int length, bool random)
    {
        var (x, y) = TwoArrays(length, random);
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["a"] = x, ["b"] = Tensor.Create(y, [length]), ["n"] = 5 }, step: 1);
        var shared = new byte[length];
        Array.Fill(shared, (byte)9);
        var template = new Dictionary<string, object?> { ["a"] = shared, ["b"] = Tensor.Create(shared, [length]), ["n"] = 0 };

        var error = Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, template));

        Assert.Equal("b", error.Item);
        Assert.Contains("'a'", error.Found, StringComparison.Ordinal);
        Assert.All(shared, v => Assert.Equal((byte)9, v));
        Assert.Equal(0, template["n"]);
    }

    [Fact]
    public void Two_tensors_over_one_array_where_different_tensors_are_stored_are_refused()
    {
        var (x, y) = TwoArrays(1000, random: true);
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["a"] = Tensor.Create(x, [10, 100]), ["b"] = Tensor.Create(y, [10, 100]) }, step: 1);
        var shared = new byte[1000];
        var template = new Dictionary<string, object?> { ["a"] = Tensor.Create(shared, [10, 100]), ["b"] = Tensor.Create(shared, [10, 100]) };

        var error = Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, template));

        Assert.Equal("b", error.Item);
        Assert.Contains("'a'", error.Found, StringComparison.Ordinal);
        Assert.All(shared, v => Assert.Equal((byte)0, v));
    }

    [Fact]
    public void Tensors_over_overlapping_parts_of_one_array_are_refused_and_over_disjoint_parts_are_filled()
    {
        var (x, y) = TwoArrays(100, random: true);
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["a"] = x, ["b"] = y }, step: 1);

        var overlapping = new byte[150];
        var refused = new Dictionary<string, object?>
        {
            ["a"] = Tensor.Create(overlapping, 0, [100], [1]),
            ["b"] = Tensor.Create(overlapping, 50, [100], [1]),
        };
        var error = Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, refused));
        Assert.Contains("'a'", error.Found, StringComparison.Ordinal);
        Assert.All(overlapping, v => Assert.Equal((byte)0, v));

        var halves = new byte[200];
        _handler.RestoreInto(_dir.Path, new Dictionary<string, object?>
        {
            ["a"] = Tensor.Create(halves, 0, [100], [1]),
            ["b"] = Tensor.Create(halves, 100, [100], [1]),
        });
        Assert.Equal(x, halves[..100]);
        Assert.Equal(y, halves[100..]);
    }

    [Fact]
    public void An_array_and_a_tensor_over_it_where_one_tied_tensor_is_stored_are_filled_once()
    {
        var (x, _) = TwoArrays(4096, random: true);
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["a"] = x, ["b"] = x }, step: 1);
        var shared = new byte[4096];
        var view = Tensor.Create(shared, [4096]);
        var template = new Dictionary<string, object?> { ["a"] = shared, ["b"] = view };

        _handler.RestoreInto(_dir.Path, template);

        Assert.Same(shared, template["a"]);
        Assert.Same(view, template["b"]);
        Assert.Equal(x, shared);
    }

    [Fact]
    public void A_tensor_that_starts_inside_its_array_is_saved_from_and_restored_into_its_own_elements()
    {
        var backing = new byte[300];
        for (var i = 0; i < backing.Length; i++)
        {
            backing[i] = (byte)i;
        }

        var slice = Tensor.Create(backing, [300]).Slice([new System.Buffers.NRange(100, 200)]);
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["s"] = slice }, step: 1);
        var restored = (Tensor<byte>)((IDictionary<string, object?>)_handler.Restore(_dir.Path)!)["s"]!;
        var flat = new byte[100];
        restored.FlattenTo(flat);
        Assert.Equal(backing[100..200], flat);

        var target = new byte[300];
        _handler.RestoreInto(_dir.Path, new Dictionary<string, object?> { ["s"] = Tensor.Create(target, 150, [100], [1]) });
        Assert.Equal(backing[100..200], target[150..250]);
        Assert.All(target[..150], v => Assert.Equal((byte)0, v));
        Assert.All(target[250..], v => Assert.Equal((byte)0, v));
    }

    private static (byte[] X, byte[] Y) TwoArrays(int length, bool random)
    {
        var x = new byte[length];
        var y = new byte[length];
        if (random)
        {
            var rng = new Random(3);
            rng.NextBytes(x);
            rng.NextBytes(y);
        }
        else
        {
            Array.Fill(x, (byte)1);
            Array.Fill(y, (byte)2);
        }

        return (x, y);
    }
}
