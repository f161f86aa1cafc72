using System.Diagnostics;
using System.Runtime.InteropServices;
using DataraxCkpt.Format;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using K4os.Compression.LZ4;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// Small tensors are compressed many to a unit of work, their frames packed end to end and written with
/// one call, and a tensor no larger than the filter sample picks its filter while its chunk is compressed.
/// </summary>
public sealed class SmallChunkBatchTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public SmallChunkBatchTests() => _ck = _dir.Sub("checkpoints");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Thousands_of_tiny_tensors_of_every_dtype_among_large_ones_restore_bit_exactly()
    {
        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        var rng = new Random(17);
        // Lengths around the thresholds: the shuffle minimum (256 bytes), the sample (64 KiB) and the batch (1 MiB).
        int[] counts = [0, 1, 3, 31, 32, 33, 63, 64, 65, 255, 256, 1000, 8191, 8192, 8193, 16383, 16384, 16385];
        for (var i = 0; i < 3_000; i++)
        {
            var count = counts[i % counts.Length];
            var compressible = i % 3 == 0;
            state[$"t{i:D5}"] = (i % 11) switch
            {
                0 => Floats(rng, count, compressible),
                1 => Enumerable.Range(0, count).Select(_ => compressible ? Math.Round(rng.NextDouble(), 1) : rng.NextDouble()).ToArray(),
                2 => Enumerable.Range(0, count).Select(_ => compressible ? rng.Next(100) : rng.Next()).ToArray(),
                3 => Enumerable.Range(0, count).Select(_ => compressible ? (long)rng.Next(1000) : rng.NextInt64()).ToArray(),
                4 => Enumerable.Range(0, count).Select(_ => (short)rng.Next(compressible ? 10 : short.MaxValue)).ToArray(),
                5 => Enumerable.Range(0, count).Select(_ => (ushort)rng.Next(compressible ? 10 : ushort.MaxValue)).ToArray(),
                6 => Enumerable.Range(0, count).Select(_ => (byte)rng.Next(compressible ? 4 : 256)).ToArray(),
                7 => Enumerable.Range(0, count).Select(_ => (sbyte)rng.Next(-128, 128)).ToArray(),
                8 => Enumerable.Range(0, count).Select(_ => (Half)(compressible ? rng.Next(8) : rng.NextDouble())).ToArray(),
                9 => Enumerable.Range(0, count).Select(_ => compressible ? (ulong)rng.Next(7) : (ulong)rng.NextInt64()).ToArray(),
                _ => Enumerable.Range(0, count).Select(_ => rng.Next(2) == 1).ToArray(),
            };
            if (i % 1_000 == 500)
            {
                // A large tensor between small ones: two batches of its own, then small ones again.
                state[$"big{i}"] = Floats(rng, (5 << 20) / 4 + 7, compressible: true);
            }
        }

        _handler.Save(_ck, state, step: 1);
        var restored = (Dictionary<string, object?>)_handler.Restore(_ck)!;

        Assert.Equal(state.Keys.Order(), restored.Keys.Order());
        foreach (var (key, value) in state)
        {
            Assert.True(BytesOf((Array)value!).SequenceEqual(BytesOf((Array)restored[key]!)), $"tensor {key} differs after the round trip");
            Assert.Equal(value!.GetType(), restored[key]!.GetType());
        }

        Assert.Empty(_handler.Verify(_ck, 1).Problems);
        var filters = FiltersOf(1);
        Assert.Contains("shuffle", filters);
        Assert.Contains("none", filters);
    }

    [Fact]
    public void A_tiny_tensor_takes_the_filter_a_whole_tensor_sample_would_give_it()
    {
        // The rule of docs/format.md: shuffle when LZ4 of the shuffled bytes is at least 10% smaller than of
        // the raw bytes, a block that does not compress counting its full length. Tensors around the line.
        var rng = new Random(4);
        var tensors = new List<float[]>();
        for (var i = 0; i < 200; i++)
        {
            var count = 64 + rng.Next(16_384 - 64 + 1);
            var keepBits = rng.Next(8, 24); // fewer random mantissa bits: shuffling gains more
            var mask = unchecked((int)(0xFFFFFFFF << (23 - keepBits)));
            tensors.Add(Enumerable.Range(0, count).Select(_ =>
                BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits((float)(rng.NextDouble() * 4 - 2)) & mask)).ToArray());
        }

        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Count; i++)
        {
            state[$"t{i:D3}"] = tensors[i];
        }

        _handler.Save(_ck, state, step: 1);

        var expected = tensors.Select(t => ExpectedFilter(MemoryMarshal.AsBytes(t.AsSpan()), 4)).ToArray();
        Assert.Equal(expected, FiltersOf(1));
        Assert.Contains(PlanePacking.Filter, expected);
        Assert.Contains("none", expected);
        var restored = (Dictionary<string, object?>)_handler.Restore(_ck)!;
        for (var i = 0; i < tensors.Count; i++)
        {
            Assert.True(BytesOf(tensors[i]).SequenceEqual(BytesOf((float[])restored[$"t{i:D3}"]!)));
        }
    }

    [SkippableFact]
    public void The_packed_frames_of_many_tiny_tensors_decode_with_the_lz4_tool()
    {
        Skip.IfNot(File.Exists("/usr/bin/lz4"), "the lz4 tool is not installed (/usr/bin/lz4); build.ps1 -Task Test installs it");
        var rng = new Random(8);
        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        using var expected = new MemoryStream();
        for (var i = 0; i < 2_500; i++)
        {
            // Random bytes: no tensor gains from shuffling, so lz4 -d gives back the tensors as they are.
            var bytes = new byte[1 + rng.Next(2_000)];
            rng.NextBytes(bytes);
            state[$"t{i:D4}"] = bytes;
            expected.Write(bytes);
        }

        _handler.Save(_ck, state, step: 1);

        Assert.All(FiltersOf(1), f => Assert.Equal("none", f));
        var psi = new ProcessStartInfo("/usr/bin/lz4", ["-d", "-c", Path.Combine(_ck, "1", "tensors.lz4")]) { RedirectStandardOutput = true };
        using var lz4 = Process.Start(psi)!;
        using var output = new MemoryStream();
        lz4.StandardOutput.BaseStream.CopyTo(output);
        lz4.WaitForExit();
        Assert.Equal(0, lz4.ExitCode);
        Assert.True(expected.ToArray().AsSpan().SequenceEqual(output.ToArray()));
    }

    [Fact]
    public void A_tensor_failing_inside_a_batch_of_small_ones_leaves_no_step_and_the_next_save_works()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["a"] = 1L }, step: 1);
        // 20 MiB of 1 KiB tensors, about twenty batches; the list sits in the last one, which has not started
        // when the first batch is written. Emptying it then makes that batch fail while reading it.
        var list = Enumerable.Range(0, 256).Select(i => (float)i).ToList();
        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < 20_000; i++)
        {
            state[$"t{i:D5}"] = new float[256];
        }

        state["zz_list"] = list;
        using var handler = new CheckpointHandler(new CheckpointOptions { Progress = new OnFirstReport(list.Clear) });

        var error = Assert.Throws<InvalidOperationException>(() => handler.Save(_ck, state, step: 2));

        Assert.Contains("changed", error.Message, StringComparison.Ordinal);
        Assert.Equal([1L], handler.GetCheckpointSteps(_ck));
        Assert.False(Directory.Exists(Path.Combine(_ck, "2")));
        var staging = Path.Combine(_ck, ".staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0);
        Assert.Equal(1L, ((Dictionary<string, object?>)handler.Restore(_ck, 1)!)["a"]);
        list.AddRange(Enumerable.Range(0, 256).Select(i => (float)i));
        Assert.Equal(2, _handler.Save(_ck, state, step: 2).Step);
        Assert.Equal(list, (List<float>)((Dictionary<string, object?>)_handler.Restore(_ck, 2)!)["zz_list"]!);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(300, true)]
    [InlineData(1024, false)]
    [InlineData(65536, true)]
    [InlineData(4 << 20, true)]
    [InlineData(4 << 20, false)]
    public void A_one_block_frame_completed_around_its_encoding_is_the_frame_Encode_makes(int length, bool compressible)
    {
        var content = new byte[length];
        new Random(length).NextBytes(content);
        if (compressible)
        {
            Array.Clear(content, 0, length / 2);
        }

        var expected = new byte[Lz4Frame.MaxFrameLength(length)];
        var expectedLength = Lz4Frame.Encode(content, expected);
        var frame = new byte[Lz4Frame.MaxFrameLength(length)];
        var encoded = LZ4Codec.Encode(content, frame.AsSpan(Lz4Frame.SingleBlockOffset));

        var frameLength = Lz4Frame.CompleteSingleBlock(frame, content, encoded);

        Assert.True(expected.AsSpan(0, expectedLength).SequenceEqual(frame.AsSpan(0, frameLength)));
        var decoded = new byte[length];
        Lz4Frame.Decode(frame.AsSpan(0, frameLength), decoded);
        Assert.Equal(content, decoded);
    }

    [Fact]
    public void Completing_a_frame_of_no_bytes_is_refused()
    {
        var frame = new byte[64];
        Assert.Throws<ArgumentOutOfRangeException>(() => Lz4Frame.CompleteSingleBlock(frame, [], 0));
    }

    private static string ExpectedFilter(ReadOnlySpan<byte> raw, int elementSize)
    {
        var output = new byte[LZ4Codec.MaximumOutputSize(raw.Length)];
        var shuffled = new byte[raw.Length];
        ByteShuffle.ShuffleReference(raw, shuffled, elementSize);
        var plain = LZ4Codec.Encode(raw, output);
        var filtered = LZ4Codec.Encode(shuffled, output);
        long plainCost = plain <= 0 ? raw.Length : Math.Min(plain, raw.Length);
        long filteredCost = filtered <= 0 ? raw.Length : Math.Min(filtered, raw.Length);
        if (filteredCost * 10 > plainCost * 9)
        {
            return "none";
        }

        // Where shuffling pays, the chunk's planes are packed where that pays too: the tensor is then "planes".
        return PlanePacking.Pack(shuffled, new byte[shuffled.Length], elementSize) > 0 ? PlanePacking.Filter : "shuffle";
    }

    private static float[] Floats(Random rng, int count, bool compressible) =>
        Enumerable.Range(0, count).Select(_ => compressible
            ? BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits((float)rng.NextDouble()) & unchecked((int)0xFFFF0000))
            : (float)rng.NextDouble()).ToArray();

    private static byte[] BytesOf(Array array)
    {
        if (array is Half[] halves)
        {
            return MemoryMarshal.AsBytes(halves.AsSpan()).ToArray();
        }

        var size = array.Length == 0 ? 0 : Buffer.ByteLength(array);
        var bytes = new byte[size];
        if (size > 0)
        {
            Buffer.BlockCopy(array, 0, bytes, 0, size);
        }

        return bytes;
    }

    private string[] FiltersOf(long step)
    {
        var folders = new StepFolders(Path.GetFullPath(_ck));
        using var reader = StepReader.Open(folders, folders.StepPath(step), step, expectedManifestHash: null);
        return reader.Manifest.Tensors.Select(t => t.Filter).ToArray();
    }

    private sealed class OnFirstReport(Action action) : IProgress<CheckpointProgress>
    {
        private bool _done;

        public void Report(CheckpointProgress value)
        {
            if (!_done)
            {
                _done = true;
                action();
            }
        }
    }
}
