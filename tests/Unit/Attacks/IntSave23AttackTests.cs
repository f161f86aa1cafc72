using System.Buffers;
using System.Collections;
using System.Runtime.InteropServices;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Attack on round 64 (intsave23): the index's item list finished on a pool thread beside the manifest's compression
/// and write, and the manifest frame's content checksum taken on a pool thread beside its blocks. A pooled buffer must
/// not go back (or the memory be freed) while a pool task still reads it; an error from a pool task must reach the
/// caller as itself (not an AggregateException), with nothing published; a starved pool must not hang a save whose
/// manifest is large enough for the checksum's task; the frame around the 64 KiB threshold stays the whole-block frame.
/// Not parallel: one test changes the process's pool.
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class IntSave23AttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A staging file as the engine opens it, whose every write fails as a full disk does.</summary>
    private sealed class FullDiskFile(string path)
        : FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.None)
    {
        public int Attempts { get; private set; }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Attempts++;
            throw new IOException("No space left on device : injected by the attack", unchecked((int)0x8007001C));
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Attempts++;
            throw new IOException("No space left on device : injected by the attack", unchecked((int)0x8007001C));
        }
    }

    /// <summary>Memory outside the GC, so the test can take it away (munmap) the instant the call returns.</summary>
    private sealed unsafe class MappedMemory(byte* pointer, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(pointer, length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr mmap(IntPtr addr, nuint length, int prot, int flags, int fd, nint offset);

    [DllImport("libc", SetLastError = true)]
    private static extern int munmap(IntPtr addr, nuint length);

    /// <summary>
    /// The manifest's first piece fails to write (a full disk) while the checksum's pool task hashes a 192 MiB manifest:
    /// EncodeToFile must not return before that task stopped reading. The memory is unmapped as soon as the call
    /// returns; a task still reading it would crash the process (SIGSEGV), failing the run.
    /// </summary>
    [SkippableFact]
    public unsafe void A_manifest_write_failing_on_its_first_piece_returns_only_once_the_checksum_stopped_reading_the_manifest()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64, "mmap flags are Linux x64's");
        Skip.IfNot(Lz4BlockEncoder.Supported, "the pieced encoder needs a little-endian host");
        const int length = 192 << 20;
        for (var round = 0; round < 3; round++)
        {
            // PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS
            var map = mmap(IntPtr.Zero, (nuint)length, 0x1 | 0x2, 0x02 | 0x20, -1, 0);
            Assert.NotEqual(new IntPtr(-1), map);
            var bytes = new Span<byte>((void*)map, length);
            var unit = "\"k12345\":67890,"u8;
            for (var at = 0; at < length; at += unit.Length)
            {
                unit[..Math.Min(unit.Length, length - at)].CopyTo(bytes[at..]);
            }

            var memory = new MappedMemory((byte*)map, length);
            var path = _dir.Sub("manifest" + round);
            var file = new FullDiskFile(path);
            var unmapped = false;
            try
            {
                var error = Assert.Throws<IOException>(() => Lz4Frame.EncodeToFile(memory.Memory, file));
                Assert.Equal(0, munmap(map, (nuint)length));
                unmapped = true;
                Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);
                Assert.True(file.Attempts >= 1);
            }
            finally
            {
                file.Dispose();
                if (!unmapped)
                {
                    _ = munmap(map, (nuint)length);
                }
            }

            // Give a task that wrongly outlived the call time to touch the unmapped pages.
            Thread.Sleep(300);
        }
    }

    /// <summary>
    /// A list between the early bound and the index's limit is refused only when it is finished, now on a pool thread:
    /// the save fails with that UnsupportedValueException itself (the finished list's message, not the early check's,
    /// not an AggregateException), nothing is published, the staging folder is gone, no task exception goes
    /// unobserved, and the directory takes the next save. Synchronous and through the asynchronous queue.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_list_refused_on_the_pool_thread_fails_the_save_with_its_own_error_and_nothing_published(bool async)
    {
        var ck = Path.GetFullPath(_dir.Sub("ck"));
        using (var h = new CheckpointHandler())
        {
            h.Save(ck, new Hashtable { ["epoch"] = 1 }, step: 1);
        }

        // 2,000 leaves with long names that share little: the early bound is 14,001 bytes, the payload above 40,000.
        var state = new Hashtable { ["w"] = new float[300_000] };
        for (var i = 0; i < 2_000; i++)
        {
            state[$"n{(uint)(i * 2654435761u):x8}{i * 7919:x6}"] = i;
        }

        var unobserved = new List<Exception>();
        EventHandler<UnobservedTaskExceptionEventArgs> onUnobserved = (_, e) =>
        {
            lock (unobserved)
            {
                unobserved.Add(e.Exception);
            }
        };
        TaskScheduler.UnobservedTaskException += onUnobserved;
        try
        {
            using var limited = new CheckpointHandler(new CheckpointOptions { MaxItemListBytes = 20_000, Async = async });
            for (var attempt = 0; attempt < 5; attempt++)
            {
                Exception error;
                if (async)
                {
                    limited.Save(ck, state, step: 2);
                    error = Assert.ThrowsAny<Exception>(limited.WaitUntilFinished);
                }
                else
                {
                    error = Assert.ThrowsAny<Exception>(() => limited.Save(ck, state, step: 2));
                }

                var refused = Assert.IsType<UnsupportedValueException>(error);
                Assert.Contains("20,000 bytes", refused.Message, StringComparison.Ordinal);
                Assert.Contains("nothing was published", refused.Message, StringComparison.Ordinal);
                Assert.DoesNotContain("at least", refused.Message, StringComparison.Ordinal);
                Assert.Equal(new long[] { 1 }, limited.GetCheckpointSteps(ck));
                Assert.False(Directory.Exists(Path.Combine(ck, "2")));
                var staging = Path.Combine(ck, ".staging");
                Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0,
                    string.Join(", ", Directory.Exists(staging) ? Directory.GetFileSystemEntries(staging) : []));
            }

            limited.Save(ck, new Hashtable { ["epoch"] = 2, ["w"] = new float[] { 1.5f } }, step: 2);
            limited.WaitUntilFinished();
            Assert.Equal(new long[] { 1, 2 }, limited.GetCheckpointSteps(ck));
            Assert.True(limited.Verify(ck, 2).Ok);
        }
        finally
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            TaskScheduler.UnobservedTaskException -= onUnobserved;
        }

        Assert.Empty(unobserved);
    }

    /// <summary>
    /// A state of 150,000 ints (a manifest of megabytes: the checksum's task, the list's task, several 64 KiB pieces) saved
    /// with every pool thread blocked: both tasks must run on the saving thread, and the step must verify and restore.
    /// The starvation tests before used states whose manifests are under 64 KiB (no checksum task).
    /// </summary>
    [Fact]
    public void A_save_of_many_ints_on_a_starved_pool_finishes_on_the_calling_thread_and_verifies()
    {
        var ck = Path.GetFullPath(_dir.Sub("ck"));
        var state = new Hashtable();
        for (var i = 0; i < 150_000; i++)
        {
            state[$"k{i}"] = i;
        }

        state["w"] = new float[(1 << 20) + 3];
        using var handler = new CheckpointHandler();
        handler.Save(ck, new Hashtable { ["epoch"] = 1 }, step: 1);
        Exception? failure = null;
        using (StarvedThreadPool.Start(blockFor: TimeSpan.FromSeconds(60)))
        {
            var saver = new Thread(() =>
            {
                try
                {
                    handler.Save(ck, state, step: 2);
                }
                catch (Exception e)
                {
                    failure = e;
                }
            });
            saver.Start();
            Assert.True(saver.Join(TimeSpan.FromSeconds(30)), "the save did not finish on a starved pool");
            Assert.Null(failure);
        }

        var verification = handler.Verify(ck, 2);
        Assert.True(verification.Ok, string.Join("; ", verification.Problems));
        var restored = (IDictionary)handler.Restore(ck, 2)!;
        Assert.Equal(150_001, restored.Count);
        Assert.Equal(149_999, restored["k149999"]);
        Assert.Equal(150_001, handler.GetItems(ck, 2).Count);
    }

    /// <summary>The frame on either side of the 64 KiB threshold where the checksum moves to a pool thread is the whole-block frame.</summary>
    [Theory]
    [InlineData(65_535)]
    [InlineData(65_536)]
    [InlineData(65_537)]
    [InlineData(131_072)]
    public void The_frame_at_the_checksum_threshold_is_the_whole_block_frame(int length)
    {
        var raw = new byte[length];
        var unit = "\"k12345\":[\"i32\",678],"u8;
        for (var at = 0; at < length; at++)
        {
            raw[at] = unit[at % unit.Length];
        }

        raw[^1] = (byte)'}';
        var path = _dir.Sub("m" + length);
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.None))
        {
            Lz4Frame.EncodeToFile(raw, file);
        }

        var whole = new byte[Lz4Frame.MaxFrameLength(raw.Length)];
        var expected = whole.AsSpan(0, Lz4Frame.Encode(raw, whole)).ToArray();
        Assert.Equal(expected, File.ReadAllBytes(path));
    }
}
