using DataraxCkpt.Format;
using DataraxCkpt.Tests.Format;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>Attack on the planes filter through the engine: many dtypes and sizes, both kernel paths, same files.</summary>
[Collection(PlanePackingSwitch.Name)]
public sealed class PlanesEngineAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private static Dictionary<string, object?> State()
    {
        var rng = new Random(77);
        var state = new Dictionary<string, object?>();
        // Many small tensors in one batch: some pack, some do not.
        foreach (var n in new[] { 1, 2, 3, 255, 256, 257, 300, 511, 4097, 8191, 16_385, 32_767 })
        {
            state[$"i16_{n}"] = Enumerable.Range(0, n).Select(_ => (short)(rng.Next(40) - 20)).ToArray();
            state[$"u64_{n}"] = Enumerable.Range(0, n).Select(_ => (ulong)rng.Next(17)).ToArray();
            state[$"f64_{n}"] = Enumerable.Range(0, n).Select(_ => (1 + rng.Next(1000) / 1024.0) * Math.Pow(2, rng.Next(16) - 8)).ToArray();
            state[$"f16_{n}"] = Enumerable.Range(0, n).Select(_ => (Half)((rng.Next(64) - 32) / 4.0)).ToArray();
            state[$"bf_{n}"] = Enumerable.Range(0, n).Select(_ => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits((float)(rng.NextDouble() * 4 - 2)) & unchecked((int)0xFFFF0000))).ToArray();
            state[$"rnd_{n}"] = Enumerable.Range(0, n).Select(_ => rng.Next()).ToArray();
            // sample region few valued, rest escapes heavily
            state[$"mix_{n}"] = Enumerable.Range(0, n).Select(i => i < n / 4 ? (short)rng.Next(3) : (short)rng.Next(short.MinValue, short.MaxValue)).ToArray();
        }

        // 4 MiB exactly and 4 MiB + one element, packed big chunks with a tiny last chunk.
        state["big4"] = Enumerable.Range(0, (4 << 20) / 4).Select(_ => (float)rng.Next(15)).ToArray();
        state["big4p"] = Enumerable.Range(0, ((4 << 20) / 2) + 1).Select(_ => (short)rng.Next(17)).ToArray();
        // Sample-favoured: first 64 Ki elements few-valued, the rest of the chunk escapes.
        state["late"] = Enumerable.Range(0, 1 << 20).Select(i => i < (1 << 16) ? (short)rng.Next(4) : (short)rng.Next(short.MinValue, short.MaxValue)).ToArray();
        return state;
    }

    [Fact]
    public void Every_tensor_restores_bit_exact_and_the_files_do_not_depend_on_the_kernels()
    {
        var state = State();
        var files = new List<byte[]>();
        foreach (var vectors in new[] { true, false })
        {
            var ck = _dir.Sub(vectors ? "v" : "s");
            using (PlanePackingSwitch.Vectors(vectors))
            {
                _handler.Save(ck, state, step: 1);
            }

            files.Add(File.ReadAllBytes(Path.Combine(ck, "1", StepFormat.DataFile)));
            foreach (var readVectors in new[] { true, false })
            {
                Dictionary<string, object?> restored;
                using (PlanePackingSwitch.Vectors(readVectors))
                {
                    restored = (Dictionary<string, object?>)_handler.Restore(ck)!;
                    Assert.Empty(_handler.Verify(ck, 1).Problems);
                }

                foreach (var (name, value) in state)
                {
                    var expected = (Array)value!;
                    var actual = (Array)restored[name]!;
                    Assert.True(Bytes(expected).SequenceEqual(Bytes(actual)), $"{name} vectors={vectors}/{readVectors}");
                }
            }
        }

        Assert.True(files[0].AsSpan().SequenceEqual(files[1]));
        var filters = StepFiles.ReadManifest(_dir.Sub("v"), 1)["tensors"]!.AsArray().Select(t => (string)t!["filter"]!).ToList();
        Assert.Contains(PlanePacking.Filter, filters);
    }

    private static byte[] Bytes(Array a) => a switch
    {
        Half[] h => System.Runtime.InteropServices.MemoryMarshal.AsBytes(h.AsSpan()).ToArray(),
        _ => BlockBytes(a),
    };

    private static byte[] BlockBytes(Array a)
    {
        var b = new byte[Buffer.ByteLength(a)];
        Buffer.BlockCopy(a, 0, b, 0, b.Length);
        return b;
    }
}
