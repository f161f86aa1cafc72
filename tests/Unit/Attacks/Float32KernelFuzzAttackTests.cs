using DataraxCkpt.Inspection;
using DataraxCkpt.Tests.Support;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests.Attacks;

[Collection(SimdPathCollection.Name)]
/// <summary>
/// The attack on the float32 statistics and diff kernels: random tensors mixing ±0, subnormals, NaN with
/// payloads, ±∞ and ±3e38 at random lengths and around vector and block edges; the 512-bit, 256-bit and
/// general (widened double) paths give the same counts, min, max and max difference, and sums within rounding.
/// </summary>
public sealed class Float32KernelFuzzAttackTests(ITestOutputHelper output) : IDisposable
{
    private const int Block = ElementWidening.BlockLength;
    public void Dispose() => SimdPaths.Allow512 = true;

    private static readonly float[] Specials =
    [
        0f, -0f, float.Epsilon, -float.Epsilon, 1e-40f, -1e-39f, float.NaN, float.PositiveInfinity, float.NegativeInfinity,
        BitConverter.Int32BitsToSingle(0x7F800001), BitConverter.Int32BitsToSingle(unchecked((int)0xFFC00123)),
        3e38f, -3e38f, float.MaxValue, float.MinValue, 1f, -1f, 1e-30f,
    ];

    private static float[] Make(Random r, int length, int mode)
    {
        var v = new float[length];
        for (var i = 0; i < length; i++)
        {
            v[i] = mode switch
            {
                0 => r.Next(20) == 0 ? Specials[r.Next(Specials.Length)] : (float)(r.NextDouble() * 2 - 1),
                1 => r.Next(4) == 0 ? Specials[r.Next(6)] : (float)(r.NextDouble() * 2 - 1),
                2 => Specials[r.Next(6)],
                _ => (float)(r.NextDouble() * 2 - 1),
            };
        }
        return v;
    }

    private static TensorStatistics Stats(float[] values, int path)
    {
        SimdPaths.Allow512 = path == 0;
        var result = default(ChunkStatistics);
        var widened = new double[Block];
        var scratch = new double[Block];
        for (var first = 0; first < values.Length; first += Block)
        {
            var n = Math.Min(Block, values.Length - first);
            if (path == 2)
            {
                for (var i = 0; i < n; i++) widened[i] = values[first + i];
                result.AddBlock(widened.AsSpan(0, n), scratch);
            }
            else
            {
                result.AddSingles(values.AsSpan(first, n), widened.AsSpan(0, n), scratch);
            }
        }
        return result.ToResult(1, "t", "f32", [values.Length]);
    }

    private static TensorDifference Diff(float[] before, float[] after, int path)
    {
        SimdPaths.Allow512 = path == 0;
        var result = default(ChunkDifference);
        var a = new double[Block];
        var b = new double[Block];
        for (var first = 0; first < before.Length; first += Block)
        {
            var n = Math.Min(Block, before.Length - first);
            if (path == 2)
            {
                for (var i = 0; i < n; i++) { a[i] = before[first + i]; b[i] = after[first + i]; }
                result.AddBlock(a.AsSpan(0, n), b.AsSpan(0, n));
            }
            else
            {
                result.AddSingles(before.AsSpan(first, n), after.AsSpan(first, n), a, b);
            }
        }
        return result.ToResult(1, 2, "t", "f32", [before.Length]);
    }

    [Fact]
    public void The_512_256_and_general_paths_agree_on_random_tensors_with_special_values()
    {
        var r = new Random(1234);
        var problems = new List<string>();
        int[] lengths = [0, 1, 15, 16, 17, 31, 32, 33, 2047, 2048, 2049, 2063, 4096, 4111, 6161];
        for (var iter = 0; iter < 600 && problems.Count < 30; iter++)
        {
            var length = iter < lengths.Length * 4 ? lengths[iter % lengths.Length] : r.Next(0, 7000);
            var mode = r.Next(4);
            var v = Make(r, length, mode);
            var s = new[] { Stats(v, 0), Stats(v, 1), Stats(v, 2) };
            for (var p = 0; p < 2; p++)
            {
                var x = s[p]; var g = s[2];
                if ((x.Count, x.NaNCount, x.PositiveInfinityCount, x.NegativeInfinityCount, x.ZeroCount) != (g.Count, g.NaNCount, g.PositiveInfinityCount, g.NegativeInfinityCount, g.ZeroCount))
                    problems.Add($"stats counts path{p} len{length} mode{mode}: {x} vs {g}");
                if (!Equals(x.Min, g.Min) && !(x.Min == g.Min)) problems.Add($"stats min path{p} len{length}: {x.Min} vs {g.Min}");
                if (!Equals(x.Max, g.Max) && !(x.Max == g.Max)) problems.Add($"stats max path{p} len{length}: {x.Max} vs {g.Max}");
                if (x.Mean is double xm && g.Mean is double gm && !(xm == gm || Math.Abs(xm - gm) <= 1e-12 * (Math.Abs(gm) + 1e-30) || (double.IsNaN(xm) && double.IsNaN(gm))))
                    problems.Add($"stats mean path{p} len{length} mode{mode}: {xm:R} vs {gm:R}");
                if ((x.Mean is null) != (g.Mean is null)) problems.Add($"stats mean null path{p}");
            }

            var w = Make(r, length, mode);
            if (r.Next(2) == 0) { w = (float[])v.Clone(); for (var i = 0; i < length; i += 1 + r.Next(5)) w[i] = Make(r, 1, mode)[0]; }
            var d = new[] { Diff(v, w, 0), Diff(v, w, 1), Diff(v, w, 2) };
            for (var p = 0; p < 2; p++)
            {
                var x = d[p]; var g = d[2];
                if ((x.Count, x.DifferentCount) != (g.Count, g.DifferentCount)) problems.Add($"diff counts path{p} len{length} mode{mode}: {x} vs {g}");
                if (!x.MaxAbsoluteDifference.Equals(g.MaxAbsoluteDifference)) problems.Add($"diff max path{p} len{length} mode{mode}: {x.MaxAbsoluteDifference:R} vs {g.MaxAbsoluteDifference:R}");
                bool Close(double a, double b) => a.Equals(b) || Math.Abs(a - b) <= 1e-12 * Math.Abs(b);
                if (!Close(x.MeanAbsoluteDifference, g.MeanAbsoluteDifference)) problems.Add($"diff mean path{p} len{length} mode{mode}: {x.MeanAbsoluteDifference:R} vs {g.MeanAbsoluteDifference:R}");
                if (!Close(x.RelativeChange, g.RelativeChange)) problems.Add($"diff rel path{p} len{length} mode{mode}: {x.RelativeChange:R} vs {g.RelativeChange:R}");
            }
        }
        foreach (var p in problems) output.WriteLine(p);
        Assert.Empty(problems);
    }

    [Fact]
    public void Integer_valued_tensors_give_the_same_mean_and_norm_bit_for_bit_on_every_path()
    {
        // inspection.md: integers add exactly, so the sums, and from them the mean and norm, cannot depend on the lanes.
        var r = new Random(99);
        foreach (var length in new[] { 1, 15, 16, 17, 2047, 2048, 2049, 4113, 100_000 })
        {
            var v = Enumerable.Range(0, length).Select(_ => (float)r.Next(-1000, 1001)).ToArray();
            v[0] = 1;
            var s = new[] { Stats(v, 0), Stats(v, 1), Stats(v, 2) };
            var exact = v.Sum(x => (long)x) / (double)length;
            foreach (var x in s)
            {
                Assert.Equal(exact, x.Mean);
                Assert.Equal(s[2].L2Norm, x.L2Norm);
                Assert.Equal(s[2].ZeroCount, x.ZeroCount);
            }

            var ones = Enumerable.Repeat(1f, length).ToArray();
            Assert.All(new[] { Stats(ones, 0), Stats(ones, 1) }, x => Assert.Equal((1.0, 0.0), (x.Mean, x.StandardDeviation)));
        }
    }
}
