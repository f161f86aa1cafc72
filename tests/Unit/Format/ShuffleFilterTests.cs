using DataraxCkpt.Format;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>The writer's automatic choice of the shuffle filter, and restores of shuffled tensors.</summary>
public sealed class ShuffleFilterTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public ShuffleFilterTests() => _ck = _dir.Sub("checkpoints");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Bf16_like_floats_are_stored_shuffled_with_packed_planes_smaller_and_restore_bit_exact()
    {
        var weights = Bf16Like(3_000_001, seed: 5); // several chunks and a ragged last one
        var info = _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = weights }, step: 1);

        var restored = (Dictionary<string, object?>)_handler.Restore(_ck)!;

        Assert.Equal(PlanePacking.Filter, FiltersOf(1).Single());
        Assert.True(info.StoredSize < weights.Length * 4L * 50 / 100, $"stored {info.StoredSize} of {weights.Length * 4L} bytes");
        Assert.True(BitsOf(weights).SequenceEqual(BitsOf((float[])restored["w"]!)));
    }

    [Fact]
    public void Bytes_that_do_not_gain_from_shuffling_are_stored_unfiltered()
    {
        var noise = new byte[1 << 20];
        new Random(9).NextBytes(noise);
        var asInts = new int[noise.Length / 4];
        Buffer.BlockCopy(noise, 0, asInts, 0, noise.Length);

        _handler.Save(_ck, new Dictionary<string, object?> { ["noise"] = asInts }, step: 1);

        Assert.Equal("none", FiltersOf(1).Single());
        Assert.Equal(asInts, (int[])((Dictionary<string, object?>)_handler.Restore(_ck)!)["noise"]!);
    }

    [Theory]
    [InlineData(2, PlanePacking.Filter)] // the high byte holds 0 or 1: a packed plane
    [InlineData(8, "shuffle")]           // no plane of few values but zeros: shuffled only, readable by older engines
    public void Shuffled_tensors_of_every_element_size_round_trip(int elementSize, string filter)
    {
        // Small counters: the high bytes are all zero, which shuffling turns into long runs.
        object tensor = elementSize == 2
            ? Enumerable.Range(0, 1_000_003).Select(i => (short)(i % 300)).ToArray()
            : Enumerable.Range(0, 1_000_003).Select(i => (long)i * 3).ToArray();
        _handler.Save(_ck, new Dictionary<string, object?> { ["t"] = tensor }, step: 1);

        var restored = ((Dictionary<string, object?>)_handler.Restore(_ck)!)["t"];

        Assert.Equal(filter, FiltersOf(1).Single());
        Assert.Equal((System.Collections.IEnumerable)tensor, (System.Collections.IEnumerable)restored!);
    }

    [Fact]
    public void Verify_accepts_a_step_with_shuffled_tensors()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = Bf16Like(1 << 20, seed: 2) }, step: 1);

        var verification = _handler.Verify(_ck, 1);

        Assert.Empty(verification.Problems);
    }

    private string[] FiltersOf(long step)
    {
        var folders = new StepFolders(Path.GetFullPath(_ck));
        using var reader = StepReader.Open(folders, folders.StepPath(step), step, expectedManifestHash: null);
        return reader.Manifest.Tensors.Select(t => t.Filter).ToArray();
    }

    private static float[] Bf16Like(int count, int seed)
    {
        var rng = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            // Box-Muller normal values with the low 16 mantissa bits cleared, as bf16 weights widened to float32.
            var normal = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            values[i] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits((float)normal) & unchecked((int)0xFFFF0000));
        }

        return values;
    }

    private static int[] BitsOf(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();
}
