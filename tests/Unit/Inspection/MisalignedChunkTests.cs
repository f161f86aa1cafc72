using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Format;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Inspection;

/// <summary>
/// The format lets a tensor's chunks end anywhere (docs/format.md §2.2: any raw length of 1 byte to
/// 4 MiB), so a foreign writer may cut an element across two or more chunks. The writer never does, so
/// these steps are built by hand: the tensor bytes of a saved step are re-cut into frames of chosen raw
/// lengths (shuffled per chunk when the tensor's filter says so) and the manifest and index row updated.
/// Statistics and diffs must equal those of the same values stored the ordinary way.
/// </summary>
public sealed class MisalignedChunkTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public MisalignedChunkTests() => _ck = _dir.Sub("ck");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    /// <summary>Re-cuts the only tensor of <paramref name="step"/> into chunks of <paramref name="rawLengths"/> bytes.</summary>
    private void Rechunk(long step, params int[] rawLengths)
    {
        var manifest = StepFiles.ReadManifest(_ck, step);
        var tensor = manifest["tensors"]!.AsArray().Single()!.AsObject();
        var dtype = tensor["dtype"]!.GetValue<string>();
        var filter = tensor["filter"]!.GetValue<string>();
        var size = global::DataraxCkpt.Values.TypeCodes.ElementSize(global::DataraxCkpt.Values.TypeCodes.TryResolveDType(dtype)!);

        // The raw bytes as a restore sees them, independent of the stored chunking.
        var restored = (Array)((IDictionary<string, object?>)_handler.Restore(_ck, step)!)["t"]!;
        var raw = new byte[Buffer.ByteLength(restored)];
        Buffer.BlockCopy(restored, 0, raw, 0, raw.Length);
        Assert.Equal(raw.Length, rawLengths.Sum());

        var data = new MemoryStream();
        var chunks = new JsonArray();
        var at = 0;
        foreach (var length in rawLengths)
        {
            var content = raw.AsSpan(at, length).ToArray();
            if (filter != "none")
            {
                // A planes chunk may also hold its plain shuffled bytes (docs/format.md §2.2).
                content = Shuffle(content, size);
            }

            var frame = new byte[Lz4Frame.MaxFrameLength(length)];
            var frameLength = Lz4Frame.Encode(content, frame);
            var checksum = BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(frameLength - 4, 4));
            chunks.Add(new JsonArray(data.Length, frameLength, length, checksum));
            data.Write(frame, 0, frameLength);
            at += length;
        }

        File.WriteAllBytes(Path.Combine(_ck, step.ToString(System.Globalization.CultureInfo.InvariantCulture), StepFormat.DataFile), data.ToArray());
        tensor["chunks"] = chunks;
        manifest["dataLength"] = data.Length;
        StepFiles.WriteManifest(_ck, step, manifest, keepIndex: true);
    }

    /// <summary>docs/format.md §2.2: shuffled[j·n + i] = raw[i·s + j]; the len mod s trailing bytes follow unchanged.</summary>
    private static byte[] Shuffle(byte[] raw, int size)
    {
        var n = raw.Length / size;
        var shuffled = (byte[])raw.Clone();
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < size; j++)
            {
                shuffled[(j * n) + i] = raw[(i * size) + j];
            }
        }

        return shuffled;
    }

    private void Save(long step, Array values) =>
        _handler.Save(_ck, new Dictionary<string, object?> { ["t"] = values }, step: step, overwrite: true);

    [Fact]
    public void Statistics_of_a_float64_tensor_whose_chunks_cut_elements_equal_those_of_the_aligned_tensor()
    {
        double[] values = [1.5, -2.25, 3, double.NaN, 1e300, -0.0, 7, double.NegativeInfinity, 0.125];
        Save(1, values);
        var aligned = Assert.Single(_handler.GetStatistics(_ck, 1));
        Save(2, values);
        // 72 bytes: a 3-byte chunk inside element 0, one ending mid-element, a 1-byte chunk, one spanning three elements.
        Rechunk(2, 3, 13, 1, 23, 16, 16);

        var restored = (double[])((IDictionary<string, object?>)_handler.Restore(_ck, 2)!)["t"]!;
        Assert.Equal(values, restored);
        var cut = Assert.Single(_handler.GetStatistics(_ck, 2));
        Assert.Equal(aligned with { Step = 2, Shape = cut.Shape }, cut);
        Assert.Equal(aligned.Shape, cut.Shape);
        Assert.Equal(9, cut.Count);
        Assert.Equal(1, cut.NaNCount);
        Assert.Equal(1, cut.NegativeInfinityCount);
        Assert.Equal(1, cut.ZeroCount);
        Assert.Equal(1e300, cut.Max);
        Assert.Equal(double.NegativeInfinity, cut.Min);
    }

    [Fact]
    public void Chunks_smaller_than_an_element_are_assembled_into_whole_elements()
    {
        long[] values = [long.MinValue, -1, 0, long.MaxValue];
        Save(1, values);
        // 32 bytes in eight 4-byte chunks and then, for step 3, in thirty-two 1-byte chunks.
        Save(2, values);
        Rechunk(2, 4, 4, 4, 4, 4, 4, 4, 4);
        Save(3, values);
        Rechunk(3, Enumerable.Repeat(1, 32).ToArray());

        var expected = Assert.Single(_handler.GetStatistics(_ck, 1));
        // Widened to double the values are −2⁶³, −1, 0, 2⁶³ (long.MaxValue rounds up): their exact mean is −1/4,
        // whether the four elements sit in one block or in four chunks.
        Assert.Equal(-0.25, expected.Mean);
        foreach (var step in new long[] { 2, 3 })
        {
            var s = Assert.Single(_handler.GetStatistics(_ck, step));
            Assert.Equal(expected with { Step = step, Shape = s.Shape }, s);
            Assert.Equal(4, s.Count);
            Assert.Equal(-9.223372036854775808e18, s.Min);
            Assert.Equal(9.223372036854775807e18, s.Max);
        }
    }

    [Fact]
    public void A_shuffled_tensor_cut_mid_element_is_unshuffled_per_chunk()
    {
        // Large enough for the writer to choose the shuffle filter.
        var values = Enumerable.Range(0, 100_000).Select(i => (i * 0.5) - 7).ToArray();
        Save(1, values);
        var aligned = Assert.Single(_handler.GetStatistics(_ck, 1));
        Save(2, values);
        Assert.Equal("shuffle", StepFiles.ReadManifest(_ck, 2)["tensors"]![0]!["filter"]!.GetValue<string>());
        Rechunk(2, 300_001, 3, 499_996);

        var cut = Assert.Single(_handler.GetStatistics(_ck, 2));
        Assert.Equal(aligned with { Step = 2, Shape = cut.Shape }, cut);
    }

    [Fact]
    public void A_numeric_diff_between_a_cut_step_and_an_aligned_step_finds_exactly_the_changed_elements()
    {
        var before = Enumerable.Range(0, 1000).Select(i => (float)i).ToArray();
        var after = (float[])before.Clone();
        after[1] = float.NaN;
        after[500] = 503;
        after[999] = -1;
        Save(1, before);
        Save(2, after);
        Rechunk(2, 5, 1, 1, 1, 1999, 1993);

        var d = Assert.Single(_handler.CompareNumeric(_ck, 1, 2));
        Assert.Equal(3, d.DifferentCount);
        Assert.True(double.IsNaN(d.MaxAbsoluteDifference));

        after[1] = 1;
        Save(3, after);
        Rechunk(3, 4000);
        Save(4, before);
        Rechunk(4, 7, 3993);
        var e = Assert.Single(_handler.CompareNumeric(_ck, 4, 3));
        Assert.Equal(2, e.DifferentCount);
        Assert.Equal(1000, e.MaxAbsoluteDifference);
        Assert.Equal(1003.0 / 1000, e.MeanAbsoluteDifference, 12);
    }
}
