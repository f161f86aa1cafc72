using System.Runtime.InteropServices;
using DataraxCkpt.Format;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// A large restore decodes its chunk groups from one queue on several threads (StepReader.DecodeAll): progress
/// is reported on the calling thread, in order, adding up to the total; a cancellation or a failing chunk stops
/// every thread partway and surfaces as before, naming the item; and every byte lands in its own tensor.
/// </summary>
public sealed class ChunkQueueTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public ChunkQueueTests() => _ck = Path.GetFullPath(_dir.Sub("ck"));

    public void Dispose() => _dir.Dispose();

    /// <summary>Random bytes (they do not compress, so every full chunk is stored raw) as <paramref name="count"/> floats.</summary>
    private static float[] Noise(int count, int seed)
    {
        var values = new float[count];
        new Random(seed).NextBytes(MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    /// <summary>Tensors of uneven sizes and kinds: stored and compressed chunks, partial chunks, tiny and empty ones, other dtypes.</summary>
    private static Dictionary<string, object?> Uneven()
    {
        var state = new Dictionary<string, object?>();
        int[] floats = [1, 1000, (1 << 20) + 3, 1 << 20, (5 << 20) / 4 * 4 + 7, 3 << 20, 17, (9 << 20) / 4, 0, 2 << 20, 333_333];
        for (var i = 0; i < floats.Length; i++)
        {
            state[$"f{i:D2}"] = Noise(floats[i], i);
        }

        state["zeros"] = new float[3 << 20];
        var doubles = new double[700_001];
        new Random(50).NextBytes(MemoryMarshal.AsBytes(doubles.AsSpan()));
        state["doubles"] = doubles;
        state["ints"] = Enumerable.Range(0, 1_500_000).Select(i => i * 7).ToArray();
        var bytes = new byte[(4 << 20) + 1];
        new Random(51).NextBytes(bytes);
        state["bytes"] = bytes;
        state["n"] = 42;
        return state;
    }

    private static void AssertBitExact(Dictionary<string, object?> expected, IDictionary<string, object?> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, value) in expected)
        {
            if (value is Array array)
            {
                var restored = Assert.IsAssignableFrom<Array>(actual[name]);
                Assert.Equal(array.GetType(), restored.GetType());
                Assert.True(BytesOf(array).AsSpan().SequenceEqual(BytesOf(restored)), $"tensor '{name}' differs");
            }
            else
            {
                Assert.Equal(value, actual[name]);
            }
        }
    }

    private static byte[] BytesOf(Array array)
    {
        var bytes = new byte[array.Length == 0 ? 0 : Buffer.ByteLength(array)];
        Buffer.BlockCopy(array, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    private sealed class Recorder : IProgress<CheckpointProgress>
    {
        public List<(CheckpointProgress Report, int Thread)> Reports { get; } = [];

        public void Report(CheckpointProgress value) => Reports.Add((value, Environment.CurrentManagedThreadId));
    }

    [Fact]
    public void Many_tensors_of_uneven_sizes_restore_bit_exact_into_new_and_existing_arrays()
    {
        var state = Uneven();
        using var handler = new CheckpointHandler();
        handler.Save(_ck, state, step: 1);

        AssertBitExact(state, (IDictionary<string, object?>)handler.Restore(_ck, 1)!);

        var template = state.ToDictionary(p => p.Key, p => p.Value is Array a ? Array.CreateInstance(a.GetType().GetElementType()!, a.Length) : (object?)0);
        var arrays = template.Where(p => p.Value is Array).ToDictionary(p => p.Key, p => p.Value);
        handler.RestoreInto(_ck, template, 1);
        AssertBitExact(state, template);
        Assert.All(arrays, p => Assert.Same(p.Value, template[p.Key]));
    }

    [Fact]
    public void Progress_of_a_parallel_restore_is_reported_on_the_calling_thread_rising_to_the_total()
    {
        var state = Uneven();
        using (var writer = new CheckpointHandler())
        {
            writer.Save(_ck, state, step: 1);
        }

        var recorder = new Recorder();
        using var handler = new CheckpointHandler(new CheckpointOptions { Progress = recorder });
        var caller = Environment.CurrentManagedThreadId;
        _ = handler.Restore(_ck, 1);

        var reports = recorder.Reports.Where(r => r.Report.Operation == "Restore" && r.Report.BytesDone > 0).ToList();
        var total = state.Values.OfType<Array>().Sum(a => a.Length == 0 ? 0L : Buffer.ByteLength(a));
        // How many reports there are depends on the scheduler: while the calling thread decodes a group of its own,
        // the pool threads may finish all the rest, and it then reports their bytes at once. What holds on every
        // schedule: no report but the last carries less than the 16 MiB step (no flood of tiny reports), so there
        // are at most total / 16 MiB + 1 of them.
        const long step = 16L << 20;
        Assert.NotEmpty(reports);
        Assert.True(reports.Count <= total / step + 1, $"{reports.Count} reports for {total} bytes");
        for (var i = 0; i < reports.Count - 1; i++)
        {
            var size = reports[i].Report.BytesDone - (i == 0 ? 0 : reports[i - 1].Report.BytesDone);
            Assert.True(size >= step, $"report {i} carries {size} bytes, less than the 16 MiB step");
        }

        Assert.All(reports, r => Assert.Equal(caller, r.Thread));
        Assert.All(reports, r => Assert.Equal(total, r.Report.BytesTotal));
        for (var i = 1; i < reports.Count; i++)
        {
            Assert.True(reports[i].Report.BytesDone > reports[i - 1].Report.BytesDone, $"report {i} does not rise");
        }

        Assert.Equal(total, reports[^1].Report.BytesDone);
    }

    [Fact]
    public void A_restore_cancelled_at_its_first_progress_report_returns_nothing_and_leaves_the_template_as_it_was()
    {
        var state = Uneven();
        using (var writer = new CheckpointHandler())
        {
            writer.Save(_ck, state, step: 1);
        }

        using var cancel = new CancellationTokenSource();
        var reports = 0;
        using var handler = new CheckpointHandler(new CheckpointOptions
        {
            Progress = new Reporter(p =>
            {
                if (p.Operation == "Restore" && p.BytesDone > 0)
                {
                    reports++;
                    cancel.Cancel();
                }
            }),
        });
        object? restored = "untouched";
        Assert.ThrowsAny<OperationCanceledException>(() => restored = handler.Restore(_ck, 1, cancel.Token));
        Assert.Equal("untouched", restored);
        Assert.Equal(1, reports);

        using var cancelInto = new CancellationTokenSource();
        using var intoHandler = new CheckpointHandler(new CheckpointOptions { Progress = new Reporter(p => cancelInto.Cancel()) });
        var w = new float[(9 << 20) / 4];
        var template = new Dictionary<string, object?> { ["f07"] = w, ["n"] = 0 };
        Assert.ThrowsAny<OperationCanceledException>(() => intoHandler.RestoreInto(_ck, template, 1, cancelInto.Token));
        Assert.Equal(["f07", "n"], template.Keys.Order(StringComparer.Ordinal));
        Assert.Same(w, template["f07"]);
        Assert.Equal(0, template["n"]);
    }

    private sealed class Reporter(Action<CheckpointProgress> report) : IProgress<CheckpointProgress>
    {
        public void Report(CheckpointProgress value) => report(value);
    }

    /// <summary>Counts the reads of a local step's data; can cancel or fail at the read of a chosen offset.</summary>
    private sealed class WatchedData(IStepData inner) : IStepData
    {
        private int _reads;
        private int _readsAfterTrigger = -1;

        // Set once the trigger's action has run. A read past the trigger waits for it: a thread stalled before its
        // Cancel (a busy machine) would otherwise let the other take and decode every remaining group before the
        // token is set, and the decode, rightly, end whole with nothing to cancel (1 run in 80 under load).
        private readonly ManualResetEventSlim _triggered = new(false);

        public long TriggerOffset { get; set; } = -1;

        public Action? OnTrigger { get; set; }

        public int Reads => _reads;

        public int ReadsAfterTrigger => _readsAfterTrigger;

        public long Length => inner.Length;

        public int ReadParallelism => 2;

        public int StoredChunksPerRead => inner.StoredChunksPerRead;

        public void ReadExactly(Span<byte> target, long offset) => inner.ReadExactly(target, offset);

        public void ReadExactly(Span<byte> first, Span<byte> second, Span<byte> third, long offset)
        {
            if (TriggerOffset >= 0 && offset > TriggerOffset && !_triggered.Wait(TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException($"the read at {offset} waited 30 s for the trigger's read at {TriggerOffset} (test)");
            }

            Interlocked.Increment(ref _reads);
            if (Volatile.Read(ref _readsAfterTrigger) >= 0)
            {
                Interlocked.Increment(ref _readsAfterTrigger);
            }

            if (offset == TriggerOffset)
            {
                try
                {
                    OnTrigger?.Invoke();
                }
                finally
                {
                    // Counted from the moment the trigger's action has taken effect (the token cancelled, or the
                    // failure thrown), not from before it: until Cancel returns the other thread may rightly start
                    // group after group, as many as the triggering thread's preemption lasts (session 10 saw 10).
                    Volatile.Write(ref _readsAfterTrigger, 0);
                    _triggered.Set();
                }
            }

            inner.ReadExactly(first, second, third, offset);
        }

        public void Dispose()
        {
            _triggered.Dispose();
            inner.Dispose();
        }
    }

    /// <summary>64 tensors of 1 MiB of noise: one stored chunk each, sixteen groups of four.</summary>
    private (StepReader Reader, WatchedData Data, List<TensorDestination> Pending) OpenSixtyFour()
    {
        var state = Enumerable.Range(0, 64).ToDictionary(i => $"t{i:D2}", i => (object?)Noise(1 << 18, i));
        using (var writer = new CheckpointHandler())
        {
            writer.Save(_ck, state, step: 1);
        }

        var folders = new StepFolders(_ck);
        var files = folders.OpenStep(folders.StepPath(1));
        var data = new WatchedData(new FileStepData(files));
        var reader = StepReader.Open(files.ManifestFile, data, 1, expectedManifestHash: null);
        var pending = new List<TensorDestination>();
        for (var i = 0; i < reader.Manifest.Tensors.Count; i++)
        {
            Assert.Single(reader.Manifest.Tensors[i].Chunks);
            _ = reader.AllocateTensor(i, typeof(float[]), $"tensor {i}", pending);
        }

        return (reader, data, pending);
    }

    [Fact]
    public void A_cancellation_during_a_parallel_decode_stops_every_thread_after_the_group_it_is_in()
    {
        var (reader, data, pending) = OpenSixtyFour();
        using (reader)
        {
            using var cancel = new CancellationTokenSource();
            data.TriggerOffset = reader.Manifest.Tensors[9].Chunks[0].Offset;
            data.OnTrigger = cancel.Cancel;

            Assert.ThrowsAny<OperationCanceledException>(() => reader.DecodeAll(pending, null, cancel.Token));

            // Reads are counted from the moment Cancel has returned. The cancelling thread finishes its group (chunks
            // 10 and 11: at most three reads wherever the trigger sits in its group); the other finishes the one group
            // it checked the token for before the cancel (at most four reads) and takes no other. So at most 7; a
            // decode that ignored the token would read 54 after it. The count used to start just before Cancel was
            // called: while the cancelling thread was preempted between the two, the other read on, group after group,
            // as it should, and those reads were counted too (session 10's fresh-clone CI run saw 10; a 20 ms pause
            // put there gives 9 to 11, one of 300 ms 30 to 38, with the reader unchanged).
            Assert.InRange(data.ReadsAfterTrigger, 0, 7);
        }
    }

    [Fact]
    public void A_cancellation_is_reported_even_when_the_cancelling_thread_stalls_before_it_cancels()
    {
        var (reader, data, pending) = OpenSixtyFour();
        using (reader)
        {
            using var cancel = new CancellationTokenSource();
            data.TriggerOffset = reader.Manifest.Tensors[9].Chunks[0].Offset;
            // A preemption of the cancelling thread just before Cancel, as a busy machine gives: found by the attack on
            // debts, 1 run in 80 of the test above threw nothing (the other thread had taken every group by then).
            data.OnTrigger = () =>
            {
                Thread.Sleep(1000);
                cancel.Cancel();
            };

            Assert.ThrowsAny<OperationCanceledException>(() => reader.DecodeAll(pending, null, cancel.Token));
            Assert.InRange(data.ReadsAfterTrigger, 0, 7);
        }
    }

    [Fact]
    public void A_failing_chunk_in_one_thread_stops_the_others_and_is_reported_naming_its_item()
    {
        var (reader, data, pending) = OpenSixtyFour();
        using (reader)
        {
            data.TriggerOffset = reader.Manifest.Tensors[9].Chunks[0].Offset;
            data.OnTrigger = () => throw new InvalidDataException("tensors.lz4 ends before the chunk (simulated)");
            var reported = new List<long>();

            var e = Assert.Throws<InvalidDataException>(() => reader.DecodeAll(pending, reported.Add));

            Assert.Equal("item 'tensor 9': tensors.lz4 ends before the chunk (simulated)", e.Message);
            // The other thread ends the group it is in and possibly one it took as the failure was raised, and
            // what was reported is whole groups only. How many chunks were read before the failure depends on
            // the scheduler (the CI run of session 7 read 32 under load: the failing thread was preempted inside
            // its group while the other read on), so only the reads after it are bounded.
            Assert.InRange(data.ReadsAfterTrigger, 0, 8);
            Assert.All(reported, b => Assert.Equal(0, b % (4L << 20)));
        }
    }

    [Fact]
    public void A_corrupted_chunk_in_a_parallel_restore_is_reported_as_corruption_of_its_item()
    {
        var state = Uneven();
        using var handler = new CheckpointHandler();
        handler.Save(_ck, state, step: 1);
        long offset;
        var folders = new StepFolders(_ck);
        using (var reader = StepReader.Open(folders, folders.StepPath(1), 1, expectedManifestHash: null))
        {
            var index = reader.Manifest.Items.Single(i => i.Name == "f09").TensorIndex;
            offset = reader.Manifest.Tensors[index].Chunks[0].Offset + 1000;
        }

        using (var file = File.Open(Path.Combine(_ck, "1", StepFormat.DataFile), FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = offset;
            var b = file.ReadByte();
            file.Position = offset;
            file.WriteByte((byte)(b ^ 0x40));
        }

        var e = Assert.Throws<CorruptCheckpointException>(() => handler.Restore(_ck, 1));
        Assert.Equal("f09", e.Item);
        Assert.Equal(1, e.Step);
    }
}
