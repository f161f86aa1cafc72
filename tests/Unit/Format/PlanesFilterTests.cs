using System.Text.Json.Nodes;
using DataraxCkpt.Format;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// Steps written with the <c>planes</c> filter (docs/format.md §2.2): what the writer chooses, every path that
/// decodes their chunks, the feature an older reader refuses them by, and hostile chunk contents.
/// </summary>
[Collection(PlanePackingSwitch.Name)]
public sealed class PlanesFilterTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public PlanesFilterTests() => _ck = _dir.Sub("checkpoints");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Bf16_like_floats_over_several_chunks_are_packed_and_restore_bit_exact(bool vectors)
    {
        var weights = Bf16Like(3_000_001, seed: 5); // three chunks, the last ragged and not a multiple of a vector
        CheckpointInfo info;
        object? restored;
        using (PlanePackingSwitch.Vectors(vectors))
        {
            info = _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = weights }, step: 1);
            restored = ((Dictionary<string, object?>)_handler.Restore(_ck)!)["w"];
        }

        var manifest = StepFiles.ReadManifest(_ck, 1);
        Assert.Equal(PlanePacking.Filter, (string)manifest["tensors"]![0]!["filter"]!);
        Assert.Contains(PlanePacking.Feature, manifest["requires"]!.AsArray().Select(f => (string)f!));
        Assert.True(info.StoredSize < weights.Length * 4L * 45 / 100, $"stored {info.StoredSize} of {weights.Length * 4L} bytes");
        Assert.Equal(BitsOf(weights), BitsOf((float[])restored!));
    }

    [Fact]
    public void Restore_into_existing_arrays_statistics_and_verify_read_packed_chunks()
    {
        var weights = Bf16Like(2_500_000, seed: 8);
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = weights }, step: 1);
        Assert.Equal(PlanePacking.Filter, (string)StepFiles.ReadManifest(_ck, 1)["tensors"]![0]!["filter"]!);

        var target = new float[weights.Length];
        var template = new Dictionary<string, object?> { ["w"] = target };
        _handler.RestoreInto(_ck, template);
        var stats = Assert.Single(_handler.GetStatistics(_ck, 1));

        Assert.Equal(BitsOf(weights), BitsOf(target));
        Assert.Equal(weights.Max(), stats.Max);
        Assert.Equal(weights.Min(), stats.Min);
        Assert.Equal(weights.Count(w => w == 0), stats.ZeroCount);
        Assert.Empty(_handler.Verify(_ck, 1).Problems);
    }

    [Fact]
    public void Half_and_double_tensors_and_small_last_chunks_round_trip_packed()
    {
        var rng = new Random(4);
        // 2 bytes: a chunk and a small one; normal values cut to sign and exponent, so the high byte takes few
        // values (packed) and the low one is 0.
        var halves = Enumerable.Range(0, 2_100_003)
            .Select(_ => BitConverter.Int16BitsToHalf((short)(BitConverter.HalfToInt16Bits((Half)Normal(rng)) & unchecked((short)0xFC00)))).ToArray();
        var doubles = Enumerable.Range(0, 600_001).Select(_ => (double)(float)Normal(rng)).ToArray(); // float values widened
        var state = new Dictionary<string, object?> { ["h"] = halves, ["d"] = doubles };

        _handler.Save(_ck, state, step: 1);
        var restored = (Dictionary<string, object?>)_handler.Restore(_ck)!;

        var filters = StepFiles.ReadManifest(_ck, 1)["tensors"]!.AsArray().Select(t => (string)t!["filter"]!).ToArray();
        Assert.All(filters, f => Assert.Equal(PlanePacking.Filter, f));
        Assert.Equal(halves.Select(BitConverter.HalfToInt16Bits), ((Half[])restored["h"]!).Select(BitConverter.HalfToInt16Bits));
        Assert.Equal(doubles.Select(BitConverter.DoubleToInt64Bits), ((double[])restored["d"]!).Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void Full_mantissa_floats_stay_unfiltered_and_need_no_feature()
    {
        var rng = new Random(6);
        var values = Enumerable.Range(0, 1 << 20).Select(_ => (float)Normal(rng)).ToArray();

        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = values }, step: 1);

        var manifest = StepFiles.ReadManifest(_ck, 1);
        Assert.Equal("none", (string)manifest["tensors"]![0]!["filter"]!);
        Assert.DoesNotContain(PlanePacking.Feature, manifest["requires"]!.AsArray().Select(f => (string)f!));
    }

    [Fact]
    public void A_reader_that_does_not_know_the_feature_refuses_the_step_as_newer_naming_it()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = Bf16Like(1 << 20, seed: 1) }, step: 1);
        // What an older engine sees: a required feature it does not know (here under a name this one does not know).
        StepFiles.Plant(_ck, 1, m =>
        {
            var requires = m["requires"]!.AsArray();
            var at = requires.Select(f => (string)f!).ToList().IndexOf(PlanePacking.Feature);
            requires[at] = PlanePacking.Feature + "-next";
        });

        var e = Assert.ThrowsAny<Exception>(() => _handler.Restore(_ck));

        Assert.Contains(PlanePacking.Feature + "-next", e.Message);
        Assert.IsNotType<CorruptCheckpointException>(e);
    }

    [Fact]
    public void A_planes_tensor_in_a_manifest_that_does_not_require_the_feature_is_corrupt()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = Bf16Like(1 << 20, seed: 1) }, step: 1);
        StepFiles.Plant(_ck, 1, m =>
        {
            var requires = m["requires"]!.AsArray();
            var kept = requires.Select(f => (string)f!).Where(f => f != PlanePacking.Feature).ToArray();
            m["requires"] = new JsonArray(kept.Select(f => (JsonNode)JsonValue.Create(f)!).ToArray());
        });

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(_ck));

        Assert.Contains(PlanePacking.Feature, e.Message);
    }

    [Theory]
    [InlineData("mode")]
    [InlineData("count")]
    [InlineData("truncated")]
    [InlineData("longer")]
    public void Hostile_packed_content_with_valid_checksums_is_corruption_naming_the_item(string attack)
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = Bf16Like(100_000, seed: 3) }, step: 1);
        var data = Path.Combine(_ck, "1", StepFormat.DataFile);
        var frame = File.ReadAllBytes(data);
        var content = new byte[Lz4Frame.ReadContentSize(frame)];
        Lz4Frame.Decode(frame, content);
        Assert.True(content.Length < 400_000, "the chunk was not packed");
        var nibbleAt = PlanePackingTests.FirstPackedPlane(content, 100_000);
        content = attack switch
        {
            "mode" => Set(content, 0, 9),
            "count" => Set(content, nibbleAt + 16, (byte)(content[nibbleAt + 16] + 1)),
            "truncated" => content[..(content.Length / 2)],
            _ => content.Concat(new byte[400_001 - content.Length]).ToArray(), // longer than the chunk's raw bytes
        };
        var forged = new byte[Lz4Frame.MaxFrameLength(content.Length)];
        var length = Lz4Frame.Encode(content, forged);
        File.WriteAllBytes(data, forged[..length]);
        StepFiles.Plant(_ck, 1, m =>
        {
            m["dataLength"] = length;
            var chunk = m["tensors"]![0]!["chunks"]![0]!.AsArray();
            chunk[1] = length;
            chunk[3] = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(forged.AsSpan(length - 4));
        });

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(_ck));
        Assert.Equal("w", e.Item);
        // A truncated content is refused already by the manifest check (more raw bytes than the frame can hold).
        Assert.Matches("the chunk at offset 0|tensor 0 has a chunk", e.Message);
        Assert.Contains("step 1", e.Message);
    }

    private static byte[] Set(byte[] content, int at, byte value)
    {
        var copy = content.ToArray();
        copy[at] = value;
        return copy;
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    internal static float[] Bf16Like(int count, int seed)
    {
        var rng = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits((float)Normal(rng)) & unchecked((int)0xFFFF0000));
        }

        return values;
    }

    private static int[] BitsOf(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();
}
