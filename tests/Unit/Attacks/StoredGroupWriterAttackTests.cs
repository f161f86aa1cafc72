using DataraxCkpt.Format;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Storage.Blob;
using DataraxCkpt.Tests.Support;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// The attack on the writer's stored groups (up to four large unfiltered chunks per task, checksummed side by
/// side): layouts where groups end at every place (tensor edges, tiny and empty tensors, a filtered or a
/// compressible chunk between stored ones, every element width, odd and tiny last chunks); a save cancelled
/// inside a group, after which the pooled buffers must still be handed out once each; an async save whose
/// caller overwrites its arrays as soon as Save returns; and AppendFour against K4os at every length up to 4 KiB
/// at unaligned offsets.
/// </summary>
public sealed class StoredGroupWriterAttackTests : IDisposable
{
    private const int MiB = 1 << 20;
    private const int Chunk = 4 * MiB;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Noise(int bytes, int seed)
    {
        var raw = new byte[bytes];
        new Random(seed).NextBytes(raw);
        return raw;
    }

    private static T[] Typed<T>(int bytes, int seed)
        where T : unmanaged
    {
        var size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        var values = new T[bytes / size];
        new Random(seed).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    /// <summary>Tensors whose chunks put group boundaries everywhere the planner can cut.</summary>
    private static Dictionary<string, object?> Layout(int seed)
    {
        var compressibleMiddle = Noise((9 * Chunk) + 11, seed);
        Array.Clear(compressibleMiddle, 2 * Chunk, Chunk);
        var normal = new Random(seed + 1);
        var shuffled = new float[3 * MiB / 4];
        for (var i = 0; i < shuffled.Length; i++)
        {
            shuffled[i] = (float)normal.NextDouble();
        }

        var state = new Dictionary<string, object?>
        {
            ["a-odd"] = Noise((6 * MiB) + 5, seed + 2),
            ["b-tiny"] = Noise(3, seed + 3),
            ["c-empty"] = Array.Empty<byte>(),
            ["d-one"] = new[] { 1.5 },
            ["e-exact"] = Noise(2 * Chunk, seed + 4),
            ["f-mid-zeros"] = compressibleMiddle,
            ["g-filtered"] = shuffled,
            ["h-i16"] = Typed<short>((5 * Chunk) + 6, seed + 5),
            ["i-i128"] = Typed<Int128>((2 * Chunk) + 48, seed + 6),
            ["j-f64"] = Typed<double>((4 * Chunk) - 8, seed + 7),
            ["k-last-tiny"] = Noise(MiB + 1, seed + 8),
            ["l-last"] = Typed<ulong>(Chunk + 8, seed + 9),
        };
        for (var t = 0; t < 40; t++)
        {
            state[$"m-small{t:00}"] = Noise((t * 131) % 700, seed + 100 + t);
        }

        return state;
    }

    [Fact]
    public void Groups_cut_at_every_edge_restore_bit_exact_and_verify()
    {
        var state = Layout(7);
        var ck = _dir.Sub("layout");
        using var handler = new CheckpointHandler();
        handler.Save(ck, state, step: 1);

        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(ck, 1)));
        Assert.Empty(handler.Verify(ck, 1).Problems);
    }

    private sealed class CancelAfter(CancellationTokenSource source, long bytes) : IProgress<CheckpointProgress>
    {
        public void Report(CheckpointProgress value)
        {
            if (value.BytesDone >= bytes)
            {
                source.Cancel();
            }
        }
    }

    [Theory]
    [InlineData(1)] // after the group's first frame went to the sink: three frames of the group are handed back
    [InlineData(3)] // after its third
    [InlineData(5)] // inside the second group
    public void A_save_cancelled_inside_a_group_lists_nothing_and_later_concurrent_saves_stay_bit_exact(int chunksBefore)
    {
        var ck = _dir.Sub($"cancel{chunksBefore}");
        using (var first = new CheckpointHandler())
        {
            first.Save(ck, new Dictionary<string, object?> { ["a"] = 1 }, step: 1);
        }

        using (var cancel = new CancellationTokenSource())
        using (var handler = new CheckpointHandler(new CheckpointOptions { Progress = new CancelAfter(cancel, (long)chunksBefore * Chunk) }))
        {
            var big = new Dictionary<string, object?> { ["x"] = Noise(9 * Chunk, 11) };
            Assert.ThrowsAny<OperationCanceledException>(() => handler.Save(ck, big, step: 2, cancellationToken: cancel.Token));
            Assert.Equal([1L], handler.GetCheckpointSteps(ck));
        }

        // A frame buffer given back twice would be handed to two frames at once: saves running side by side
        // would then write one chunk's bytes under another's checksum, or a verified step with wrong values.
        var states = Enumerable.Range(0, 4).Select(s => new Dictionary<string, object?> { ["x"] = Noise((6 * Chunk) + s, 20 + s) }).ToArray();
        Parallel.For(0, states.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, s =>
        {
            using var handler = new CheckpointHandler();
            handler.Save(_dir.Sub($"after{chunksBefore}-{s}"), states[s], step: 1);
        });
        using var reader = new CheckpointHandler();
        for (var s = 0; s < states.Length; s++)
        {
            var at = _dir.Sub($"after{chunksBefore}-{s}");
            Assert.Empty(reader.Verify(at, 1).Problems);
            Assert.Null(StateComparer.FirstDifference(states[s], reader.Restore(at, 1)));
        }
    }

    [Fact]
    public void An_async_save_of_grouped_chunks_keeps_the_values_the_caller_had_when_save_returned()
    {
        var a = Noise((5 * Chunk) + 3, 31);
        var b = Typed<float>(4 * Chunk, 32);
        var expected = new Dictionary<string, object?> { ["a"] = a.ToArray(), ["b"] = b.ToArray() };
        var ck = _dir.Sub("async");
        using (var handler = new CheckpointHandler(new CheckpointOptions { Async = true }))
        {
            handler.Save(ck, new Dictionary<string, object?> { ["a"] = a, ["b"] = b }, step: 1);
            Array.Fill(a, (byte)0xA5);
            Array.Fill(b, float.NaN);
            handler.WaitUntilFinished();
        }

        using var reader = new CheckpointHandler();
        Assert.Null(StateComparer.FirstDifference(expected, reader.Restore(ck, 1)));
        Assert.Empty(reader.Verify(ck, 1).Problems);
    }

    [Fact]
    public void AppendFour_equals_the_reference_at_every_length_to_4_KiB_at_unaligned_offsets()
    {
        var data = Noise(8192 + 64, 41);
        for (var length = 0; length <= 4096; length++)
        {
            // Each lane its own offset (not a multiple of 4) and its own length around this one.
            int[] lengths = [length, Math.Max(0, length - 17), length + 1, length / 3];
            int[] offsets = [1, 7 + (length % 5), 13, 3 + (length % 11)];
            XxHash32 h0 = new(0), h1 = new(0), h2 = new(0), h3 = new(0);
            XxHash32.AppendFour(ref h0, ref h1, ref h2, ref h3,
                data.AsSpan(offsets[0], lengths[0]), data.AsSpan(offsets[1], lengths[1]),
                data.AsSpan(offsets[2], lengths[2]), data.AsSpan(offsets[3], lengths[3]));
            uint[] got = [h0.Digest(), h1.Digest(), h2.Digest(), h3.Digest()];
            for (var k = 0; k < 4; k++)
            {
                Assert.True(XXH32.DigestOf(data, offsets[k], lengths[k]) == got[k], $"lane {k}, length {lengths[k]} at offset {offsets[k]}");
            }
        }
    }
}

/// <summary>
/// The remote side of the attack on stored groups: a save to blob storage cancelled after the first frame of a
/// group was handed to the upload (its buffer then belongs to the upload, the group's other frames to the writer)
/// leaves no step and no blob, and the saves after it, two at a time, still restore bit-exact and verify.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobStoredGroupCancelAttackTests
{
    private sealed class CancelAfter(CancellationTokenSource source, long bytes) : IProgress<CheckpointProgress>
    {
        public void Report(CheckpointProgress value)
        {
            if (value.BytesDone >= bytes)
            {
                source.Cancel();
            }
        }
    }

    private static byte[] Noise(int bytes, int seed)
    {
        var raw = new byte[bytes];
        new Random(seed).NextBytes(raw);
        return raw;
    }

    [Fact]
    public void A_remote_save_cancelled_inside_a_group_leaves_no_step_and_later_saves_stay_bit_exact()
    {
        var location = AzuriteFixture.NewLocation();
        using (var good = BlobTest.Handler())
        {
            good.Save(location, BlobTest.State(1), step: 1);
        }

        var before = BlobTest.BlobNames(location);
        using (var cancel = new CancellationTokenSource())
        using (var failing = BlobTest.Handler(new BlobSettings { BlockSize = (1 << 20) + 7, Concurrency = 2 }, new CheckpointOptions { Progress = new CancelAfter(cancel, 4 << 20) }))
        {
            var big = new Dictionary<string, object?> { ["x"] = Noise(9 << 22, 51) };
            Assert.ThrowsAny<OperationCanceledException>(() => failing.Save(location, big, step: 2, cancellationToken: cancel.Token));
        }

        Assert.Equal(before, BlobTest.BlobNames(location));
        var states = Enumerable.Range(0, 2).Select(s => new Dictionary<string, object?> { ["x"] = Noise((5 << 22) + s, 60 + s) }).ToArray();
        var locations = states.Select(_ => AzuriteFixture.NewLocation()).ToArray();
        Parallel.For(0, states.Length, s =>
        {
            using var handler = BlobTest.Handler(new BlobSettings { BlockSize = 3 << 20 });
            handler.Save(locations[s], states[s], step: 1);
        });
        using var reader = BlobTest.Handler();
        Assert.Equal(new long[] { 1 }, reader.GetCheckpointSteps(location));
        for (var s = 0; s < states.Length; s++)
        {
            Assert.True(reader.Verify(locations[s], 1).Ok);
            Assert.Null(StateComparer.FirstDifference(states[s], reader.Restore(locations[s], 1)));
        }
    }
}
