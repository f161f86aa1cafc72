using DataraxCkpt.Inspection;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Inspection;

/// <summary>
/// CompareNumeric gives, for tensors present in both steps with the same dtype and shape, the element
/// differences a user would compute from the two restored arrays; each expectation is computed in the test.
/// </summary>
public sealed class NumericDiffTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public NumericDiffTests() => _ck = _dir.Sub("ck");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private TensorDifference DiffOf(Array before, Array after)
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["t"] = before }, step: 1, overwrite: true);
        _handler.Save(_ck, new Dictionary<string, object?> { ["t"] = after }, step: 2, overwrite: true);
        return Assert.Single(_handler.CompareNumeric(_ck, 1, 2));
    }

    [Fact]
    public void Differences_of_two_float_tensors_are_max_mean_relative_and_count()
    {
        var d = DiffOf(new[] { 1f, 2f, 3f, 4f }, new[] { 1f, 2f, 5f, 0f });
        Assert.Equal((1L, 2L, "t", "f32"), (d.StepBefore, d.StepAfter, d.Item, d.DType));
        Assert.Equal(new long[] { 4 }, d.Shape);
        Assert.Equal(4, d.Count);
        Assert.Equal(2, d.DifferentCount);
        Assert.Equal(4, d.MaxAbsoluteDifference);
        Assert.Equal(1.5, d.MeanAbsoluteDifference);
        Assert.Equal(Math.Sqrt(4 + 16) / Math.Sqrt(1 + 4 + 9 + 16), d.RelativeChange, 15);
    }

    [Fact]
    public void Equal_tensors_differ_nowhere_and_negative_zero_equals_zero()
    {
        var d = DiffOf(new[] { 0.0, 1.5, double.PositiveInfinity }, new[] { -0.0, 1.5, double.PositiveInfinity });
        Assert.Equal(0, d.DifferentCount);
        Assert.Equal(0, d.MaxAbsoluteDifference);
        Assert.Equal(0, d.MeanAbsoluteDifference);
        Assert.Equal(0, d.RelativeChange);
    }

    [Fact]
    public void NaN_in_both_steps_is_unchanged_and_NaN_in_one_step_makes_the_differences_NaN()
    {
        var same = DiffOf(new[] { float.NaN, 3f }, new[] { float.NaN, 4f });
        Assert.Equal(1, same.DifferentCount);
        Assert.Equal(1, same.MaxAbsoluteDifference);
        Assert.Equal(0.5, same.MeanAbsoluteDifference);
        Assert.Equal(1.0 / 3, same.RelativeChange, 15);

        var one = DiffOf(new[] { 1f, 3f }, new[] { float.NaN, 3f });
        Assert.Equal(1, one.DifferentCount);
        Assert.True(double.IsNaN(one.MaxAbsoluteDifference));
        Assert.True(double.IsNaN(one.MeanAbsoluteDifference));
        Assert.Equal(double.PositiveInfinity, one.RelativeChange);
    }

    [Fact]
    public void A_tensor_that_went_NaN_has_an_infinite_relative_change_so_a_descending_sort_shows_it_first()
    {
        // The documented idiom is Sort-Object RelativeChange -Descending | Select -First 10; .NET orders NaN
        // below every number, so a NaN relative change would put the tensor that broke last.
        var broke = DiffOf(new[] { 1f, 2f, 3f }, new[] { 1f, float.NaN, 3f });
        var recovered = DiffOf(new[] { 1f, float.NaN, 3f }, new[] { 1f, 2f, 3f });
        var moved = DiffOf(new[] { 1f, 2f, 3f }, new[] { 100f, 2f, 3f });
        var infinities = DiffOf(new[] { float.PositiveInfinity, 1f }, new[] { 1f, 1f });

        Assert.Equal(double.PositiveInfinity, broke.RelativeChange);
        Assert.Equal(double.PositiveInfinity, recovered.RelativeChange);
        Assert.Equal(double.PositiveInfinity, infinities.RelativeChange);
        var order = new[] { moved, broke }.OrderByDescending(d => d.RelativeChange).ToList();
        Assert.Same(broke, order[0]);
    }

    [Fact]
    public void An_infinity_against_a_finite_value_differs_by_infinity()
    {
        var d = DiffOf(new[] { 1.0, 2.0 }, new[] { double.NegativeInfinity, 2.0 });
        Assert.Equal(1, d.DifferentCount);
        Assert.Equal(double.PositiveInfinity, d.MaxAbsoluteDifference);
        Assert.Equal(double.PositiveInfinity, d.RelativeChange);
    }

    [Fact]
    public void Relative_change_from_a_zero_tensor_is_0_when_equal_and_infinity_otherwise()
    {
        Assert.Equal(0, DiffOf(new float[3], new float[3]).RelativeChange);
        Assert.Equal(double.PositiveInfinity, DiffOf(new float[3], new[] { 0f, 1f, 0f }).RelativeChange);
    }

    [Fact]
    public void Integer_and_bool_tensors_are_compared_as_numbers()
    {
        var i = DiffOf(new[] { 10L, -3L, 7L }, new[] { 10L, 3L, 7L });
        Assert.Equal(1, i.DifferentCount);
        Assert.Equal(6, i.MaxAbsoluteDifference);
        Assert.Equal(2, i.MeanAbsoluteDifference);

        var b = DiffOf(new[] { true, false, true, false }, new[] { true, true, false, false });
        Assert.Equal(2, b.DifferentCount);
        Assert.Equal(1, b.MaxAbsoluteDifference);
        Assert.Equal(0.5, b.MeanAbsoluteDifference);
        Assert.Equal(1.0, b.RelativeChange, 15);
    }

    [Fact]
    public void An_empty_tensor_has_every_difference_zero()
    {
        var d = DiffOf(Array.Empty<double>(), Array.Empty<double>());
        Assert.Equal((0L, 0L, 0.0, 0.0, 0.0), (d.Count, d.DifferentCount, d.MaxAbsoluteDifference, d.MeanAbsoluteDifference, d.RelativeChange));
    }

    [Fact]
    public void Tensors_of_many_chunks_match_a_plain_loop_over_both_restored_arrays()
    {
        var random = new Random(7);
        var a = new float[(5 << 20) / 2 + 77];
        var b = new float[a.Length];
        for (var k = 0; k < a.Length; k++)
        {
            a[k] = (float)(random.NextDouble() * 2 - 1);
            b[k] = k % 3 == 0 ? a[k] : a[k] + (float)(random.NextDouble() * 1e-3);
        }

        var d = DiffOf(a, b);
        long different = 0;
        double max = 0, sum = 0, squares = 0, norm = 0;
        for (var k = 0; k < a.Length; k++)
        {
            var delta = Math.Abs((double)a[k] - b[k]);
            different += delta != 0 ? 1 : 0;
            max = Math.Max(max, delta);
            sum += delta;
            squares += delta * delta;
            norm += (double)a[k] * a[k];
        }

        Assert.Equal(a.Length, d.Count);
        Assert.Equal(different, d.DifferentCount);
        Assert.Equal(max, d.MaxAbsoluteDifference);
        Assert.Equal(sum / a.Length, d.MeanAbsoluteDifference, 1e-12);
        Assert.Equal(Math.Sqrt(squares) / Math.Sqrt(norm), d.RelativeChange, 1e-12);
    }

    [Fact]
    public void Tensors_that_differ_in_shape_or_dtype_or_exist_in_one_step_are_skipped_and_the_rest_sorted_by_name()
    {
        _handler.Save(_ck, new Dictionary<string, object?>
        {
            ["z"] = new[] { 1f }, ["a"] = new[] { 1f, 2f }, ["shape"] = new float[2, 2], ["dtype"] = new[] { 1f }, ["gone"] = new[] { 1f },
        }, step: 1);
        _handler.Save(_ck, new Dictionary<string, object?>
        {
            ["z"] = new[] { 2f }, ["a"] = new[] { 1f, 2f }, ["shape"] = new float[4], ["dtype"] = new[] { 1.0 }, ["new"] = new[] { 1f },
        }, step: 2);

        var all = _handler.CompareNumeric(_ck, 1, 2);
        Assert.Equal(new[] { "a", "z" }, all.Select(d => d.Item));
        Assert.Equal(1, all[1].MaxAbsoluteDifference);
        Assert.Equal(new[] { "z" }, _handler.CompareNumeric(_ck, 1, 2, ["z*"]).Select(d => d.Item));
    }

    [Fact]
    public void A_cancelled_token_stops_the_diff_and_a_missing_step_is_reported()
    {
        DiffOf(new float[3 << 20], new float[3 << 20]);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => _handler.CompareNumeric(_ck, 1, 2, cancellationToken: cts.Token));
        Assert.Throws<StepNotFoundException>(() => _handler.CompareNumeric(_ck, 1, 3));
    }

    [Fact]
    public void Chunk_work_stops_between_chunks_once_cancelled()
    {
        using var cts = new CancellationTokenSource();
        var ran = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => ChunkWork.Run(1000, ChunkWork.MemoryBudget, unit =>
        {
            Interlocked.Increment(ref ran);
            cts.Cancel();
        }, cts.Token));
        Assert.Equal(1, ran);
    }
}
