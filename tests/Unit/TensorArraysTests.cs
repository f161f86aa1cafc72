using System.Numerics.Tensors;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests;

/// <summary>A restored tensor becomes, for hosts that cannot name Tensor&lt;T&gt;, an array of its shape.</summary>
public sealed class TensorArraysTests
{
    [Fact]
    public void A_rank_three_tensor_becomes_a_rectangular_array_of_its_shape_in_row_major_order()
    {
        var tensor = Tensor.Create(Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), [2, 3, 4]);

        Assert.True(TensorArrays.TryToArray(tensor, out var array));

        var shaped = Assert.IsType<float[,,]>(array);
        Assert.Equal([2, 3, 4], new[] { shaped.GetLength(0), shaped.GetLength(1), shaped.GetLength(2) });
        Assert.Equal(0f, shaped[0, 0, 0]);
        Assert.Equal(1 * 12 + 2 * 4 + 3, shaped[1, 2, 3]);
    }

    [Fact]
    public void A_rank_one_tensor_becomes_a_plain_array()
    {
        var tensor = Tensor.Create(new long[] { 5, -6, 7 }, [3]);

        Assert.True(TensorArrays.TryToArray(tensor, out var array));

        Assert.Equal(new long[] { 5, -6, 7 }, Assert.IsType<long[]>(array));
    }

    [Fact]
    public void A_tensor_of_a_non_primitive_element_type_keeps_its_elements_in_place()
    {
        var tensor = Tensor.Create(new[] { (Half)1, (Half)2, (Half)3, (Half)4, (Half)5, (Half)6 }, [2, 3]);

        Assert.True(TensorArrays.TryToArray(tensor, out var array));

        var shaped = Assert.IsType<Half[,]>(array);
        Assert.Equal((Half)4, shaped[1, 0]);
        Assert.Equal((Half)6, shaped[1, 2]);
    }

    [Fact]
    public void Values_that_are_not_tensors_are_left_alone()
    {
        Assert.False(TensorArrays.TryToArray(new float[] { 1 }, out var array));
        Assert.Null(array);
        Assert.False(TensorArrays.TryToArray(null, out _));
    }
}
