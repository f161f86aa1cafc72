using System.Runtime.InteropServices;

namespace DataraxCkpt.Bench;

/// <summary>The states the scenarios save, generated deterministically on all cores.</summary>
internal static class StateData
{
    /// <summary>Normal random float32 values; with <paramref name="bf16Like"/> the low 16 mantissa bits are cleared.</summary>
    public static float[][] Tensors(int count, int elements, bool bf16Like)
    {
        var tensors = new float[count][];
        Parallel.For(0, count, t =>
        {
            var values = GC.AllocateUninitializedArray<float>(elements);
            Fill(values, seed: 1000 + t, bf16Like);
            tensors[t] = values;
        });
        return tensors;
    }

    public static void Fill(Span<float> values, int seed, bool bf16Like)
    {
        var rng = new Random(seed);
        for (var i = 0; i + 1 < values.Length; i += 2)
        {
            // Box-Muller: two normal values per pair of uniforms.
            var radius = Math.Sqrt(-2.0 * Math.Log(1.0 - rng.NextDouble()));
            var angle = 2.0 * Math.PI * rng.NextDouble();
            values[i] = (float)(radius * Math.Cos(angle));
            values[i + 1] = (float)(radius * Math.Sin(angle));
        }

        if (values.Length % 2 == 1)
        {
            values[^1] = 0.5f;
        }

        if (bf16Like)
        {
            var bits = MemoryMarshal.Cast<float, uint>(values);
            for (var i = 0; i < bits.Length; i++)
            {
                bits[i] &= 0xFFFF0000u;
            }
        }
    }

    public static ReadOnlySpan<byte> BytesOf(float[] values) => MemoryMarshal.AsBytes(values.AsSpan());

    public static long TotalBytes(float[][] tensors) => tensors.Sum(t => (long)t.Length * sizeof(float));

    /// <summary>Writes the tensors back to back, the file the external baselines read their copy from.</summary>
    public static void WriteConcatenated(string path, float[][] tensors)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0);
        foreach (var t in tensors)
        {
            file.Write(BytesOf(t));
        }
    }
}
