using DataraxCkpt.Inspection;
using DataraxCkpt.Tests.Support;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests.Attacks;

[Collection(SimdPathCollection.Name)]
/// <summary>
/// The attack on the float32 kernels through saved steps: special values at 16/2,048-element and 4 MiB
/// chunk edges counted exactly by GetStatistics and CompareNumeric on both widths; huge finite values
/// (3e38 against −3e38) do not overflow in float32, while float64 overflow reads +∞ as documented.
/// </summary>
public sealed class Float32EngineEdgeAttackTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        SimdPaths.Allow512 = true;
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Saved_steps_across_chunk_and_block_edges_give_exact_counts_on_both_widths()
    {
        var ck = _dir.Sub("ck");
        const int n = 1_048_576 + 2048 + 17;
        var r = new Random(7);
        var a = Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray();
        var b = (float[])a.Clone();
        int[] edges = [0, 15, 16, 2047, 2048, 2049, 1_048_575, 1_048_576, 1_048_577, 1_048_576 + 2047, 1_048_576 + 2048, n - 1];
        var specials = new[] { float.NaN, -0f, 0f, float.Epsilon, float.PositiveInfinity, float.NegativeInfinity, 3e38f, -3e38f };
        for (var k = 0; k < edges.Length; k++)
        {
            a[edges[k]] = specials[k % specials.Length];
            b[edges[k]] = specials[(k * 3 + 1) % specials.Length];
        }
        b[100] = float.NaN; a[100] = float.NaN;
        b[1_048_576 + 5] = -3e38f; a[1_048_576 + 5] = 3e38f;
        b[500_000] = -0f; a[500_000] = 0f;
        _handler.Save(ck, new Dictionary<string, object?> { ["t"] = a }, step: 1);
        _handler.Save(ck, new Dictionary<string, object?> { ["t"] = b }, step: 2);

        long different = 0; double max = 0;
        for (var i = 0; i < n; i++)
        {
            double x = a[i], y = b[i];
            if (double.IsNaN(x) && double.IsNaN(y)) continue;
            if (x == y) continue;
            different++;
            max = Math.Max(max, Math.Abs(x - y));
        }

        foreach (var wide in new[] { true, false })
        {
            SimdPaths.Allow512 = wide;
            var s = Assert.Single(_handler.GetStatistics(ck, 1));
            output.WriteLine($"{wide}: {s}");
            Assert.Equal(a.LongCount(float.IsNaN), s.NaNCount);
            Assert.Equal(a.LongCount(v => v == 0), s.ZeroCount);
            Assert.Equal(a.LongCount(float.IsPositiveInfinity), s.PositiveInfinityCount);
            Assert.Equal(a.LongCount(float.IsNegativeInfinity), s.NegativeInfinityCount);
            var d = Assert.Single(_handler.CompareNumeric(ck, 1, 2));
            output.WriteLine($"{wide}: {d}");
            Assert.Equal(different, d.DifferentCount);
            Assert.Equal(max, d.MaxAbsoluteDifference);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Huge_opposite_finite_values_report_exact_differences_in_float32_and_infinity_in_float64_as_documented(bool wide)
    {
        var ck = _dir.Sub("ck");
        _handler.Save(ck, new Dictionary<string, object?>
        {
            ["d"] = new[] { 1e200, 1.0 }, ["f"] = Enumerable.Repeat(3e38f, 2049).Append(1f).ToArray(), ["m"] = new[] { 1e308, 1.0 },
        }, step: 1);
        _handler.Save(ck, new Dictionary<string, object?>
        {
            ["d"] = new[] { -1e200, 1.0 }, ["f"] = Enumerable.Repeat(-3e38f, 2049).Append(1f).ToArray(), ["m"] = new[] { -1e308, 1.0 },
        }, step: 2);
        SimdPaths.Allow512 = wide;
        var byName = _handler.CompareNumeric(ck, 1, 2).ToDictionary(x => x.Item);
        var f = byName["f"];
        output.WriteLine(f.ToString());
        var x = (double)3e38f;
        Assert.Equal((2049L, 2 * x), (f.DifferentCount, f.MaxAbsoluteDifference));
        Assert.Equal(2 * x * 2049 / 2050, f.MeanAbsoluteDifference, 1e-15 * x);
        Assert.Equal(2.0, f.RelativeChange, 1e-14);
        var d = byName["d"];
        Assert.Equal((1L, 2e200, double.PositiveInfinity), (d.DifferentCount, d.MaxAbsoluteDifference, d.RelativeChange));
        var m = byName["m"];
        Assert.Equal((1L, double.PositiveInfinity, double.PositiveInfinity), (m.DifferentCount, m.MaxAbsoluteDifference, m.RelativeChange));
    }
}
