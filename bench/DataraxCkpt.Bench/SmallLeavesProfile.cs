using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using DataraxCkpt.Format;
using DataraxCkpt.Values;
using K4os.Compression.LZ4;

namespace DataraxCkpt.Bench;

/// <summary>
/// <c>DataraxCkpt.Bench cprofile</c>: where one save of scenario (c) spends its time. Each phase of the save
/// is timed on its own (wall time, this thread's CPU time and the whole process's CPU time), and each
/// per-tensor step of the chunk pipeline is timed alone over the 16,000 tensors on one thread, so a
/// loaded machine shows in the wall-to-CPU gap instead of hiding in the figures.
/// </summary>
internal static class SmallLeavesProfile
{
    public static int Run(int repetitions, string work)
    {
        var tensors = StateData.Tensors(SmallLeavesScenario.TensorLeaves, SmallLeavesScenario.Elements, bf16Like: false);
        var state = SmallLeavesScenario.BuildState(tensors, out _);
        using var handler = new CheckpointHandler();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load average: {File.ReadAllText("/proc/loadavg").Trim()}"));
        Console.WriteLine("phase                                      wall ms   thread CPU ms   process CPU ms");
        for (var rep = 0; rep < repetitions; rep++)
        {
            Console.WriteLine($"-- repetition {rep + 1}");
            var ck = Path.Combine(work, $"p{rep}");
            Phase("handler.Save (whole save)", () => handler.Save(ck, state, step: 1));
            EncodedState? encoded = null;
            Phase("  StateEncoder.Encode", () => encoded = StateEncoder.Encode(state, null));
            var staging = Path.Combine(work, $"s{rep}");
            Directory.CreateDirectory(staging);
            WrittenStep? written = null;
            Phase("  StepWriter.Write (tensors + manifest + fsyncs)", () => written = StepWriter.Write(new FolderSink(staging), 1, "profile", DateTimeOffset.UtcNow, encoded!, null));
            var layouts = written!.Tensors.ToList();
            Phase("    ManifestCodec.Write (JSON only)", () => ManifestCodec.Write(1, "profile", DateTimeOffset.UtcNow, encoded!, layouts, 1));
            PerTensor(tensors, staging);
            Directory.Delete(staging, recursive: true);
            Directory.Delete(ck, recursive: true);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load average: {File.ReadAllText("/proc/loadavg").Trim()}"));
        return 0;
    }

    /// <summary>
    /// Saves a fixed mixed state (the (c) leaves, small bf16-like tensors that shuffle, a few large ones) as
    /// step 1 in <paramref name="directory"/>: two builds' <c>tensors.lz4</c> can then be compared byte for byte.
    /// </summary>
    public static int SaveSample(string directory)
    {
        var state = SmallLeavesScenario.BuildState(StateData.Tensors(SmallLeavesScenario.TensorLeaves, SmallLeavesScenario.Elements, bf16Like: false), out _);
        var small = StateData.Tensors(3_000, 2_000, bf16Like: true);
        for (var i = 0; i < small.Length; i++)
        {
            state[$"small{i:D4}"] = i % 2 == 0 ? small[i] : small[i].AsSpan(0, 1 + (i % 700)).ToArray();
        }

        var large = StateData.Tensors(3, 3_000_001, bf16Like: true);
        for (var i = 0; i < large.Length; i++)
        {
            state[$"large{i}"] = large[i];
        }

        using var handler = new CheckpointHandler();
        handler.Save(directory, state, step: 1);
        return 0;
    }

    /// <summary>Each step of the per-tensor pipeline alone, over every tensor of (c), on this thread.</summary>
    private static void PerTensor(float[][] tensors, string folder)
    {
        var output = new byte[LZ4Codec.MaximumOutputSize(1024) + 64];
        var shuffled = new byte[1024];
        var frame = new byte[Lz4Frame.MaxFrameLength(1024)];
        uint sink = 0;
        Phase("    x16000 copy out of the array (1 KiB)", () =>
        {
            foreach (var t in tensors)
            {
                MemoryMarshal.AsBytes(t.AsSpan()).CopyTo(shuffled);
            }
        });
        Phase("    x16000 filter sample (2 LZ4 + shuffle)", () =>
        {
            foreach (var t in tensors)
            {
                var raw = MemoryMarshal.AsBytes(t.AsSpan());
                sink += (uint)LZ4Codec.Encode(raw, output);
                ByteShuffle.Shuffle(raw, shuffled, 4);
                sink += (uint)LZ4Codec.Encode(shuffled, output);
            }
        });
        Phase("    x16000 shuffle", () =>
        {
            foreach (var t in tensors)
            {
                ByteShuffle.Shuffle(MemoryMarshal.AsBytes(t.AsSpan()), shuffled, 4);
            }
        });
        Phase("    x16000 LZ4 block encode", () =>
        {
            foreach (var t in tensors)
            {
                sink += (uint)LZ4Codec.Encode(MemoryMarshal.AsBytes(t.AsSpan()), output);
            }
        });
        Phase("    x16000 xxHash32", () =>
        {
            foreach (var t in tensors)
            {
                sink += XxHash32.DigestOf(MemoryMarshal.AsBytes(t.AsSpan()));
            }
        });
        var frames = new byte[tensors.Length][];
        Phase("    x16000 Lz4Frame.Encode (LZ4 + xxHash + header)", () =>
        {
            for (var i = 0; i < tensors.Length; i++)
            {
                var length = Lz4Frame.Encode(MemoryMarshal.AsBytes(tensors[i].AsSpan()), frame);
                frames[i] = frame[..length];
            }
        });
        var path = Path.Combine(folder, "writes.bin");
        Phase("    x16000 FileStream.Write of a frame (1 MiB buffer)", () =>
        {
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            foreach (var f in frames)
            {
                file.Write(f);
            }
        });
        Phase("    fsync of that 17 MB file", () =>
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None, 0);
            file.Flush(flushToDisk: true);
        });
        GC.KeepAlive(sink);
    }

    private static void Phase(string name, Action action)
    {
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var thread0 = ThreadCpu();
        var clock = Stopwatch.StartNew();
        action();
        clock.Stop();
        var thread = ThreadCpu() - thread0;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpu0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-50} {clock.Elapsed.TotalMilliseconds,8:F1} {thread.TotalMilliseconds,15:F1} {cpu.TotalMilliseconds,16:F1}"));
    }

    internal static TimeSpan ThreadCpu()
    {
        if (ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var ts) != 0)
        {
            return TimeSpan.Zero;
        }

        return TimeSpan.FromTicks((ts.Seconds * TimeSpan.TicksPerSecond) + (ts.Nanoseconds / 100));
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>Writes a step's files into a plain folder, flushing each to disk, as the staging area does.</summary>
    private sealed class FolderSink(string folder) : IStepSink
    {
        public Stream CreateFile(string name, int bufferSize) =>
            new FileStream(Path.Combine(folder, name), FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize);

        public void Seal(Stream file) => ((FileStream)file).Flush(flushToDisk: true);

        public void SyncFolder()
        {
        }
    }
}
