using Azure.Core;
using Azure.Core.Pipeline;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// Attack on the lent frame buffers of a remote save: a Put Block that the server received but whose answer is lost
/// (the SDK rewinds the block's stream and sends it again after a delay, while the writer goes on renting buffers),
/// a request that read part of its body before failing, a save cancelled mid-upload; block sizes at and around
/// frame ends, tiny and larger than the data. Every data blob must be byte for byte a local save's data file, also in
/// the saves after a failed one (a buffer back in the pool too early shows as wrong bytes later).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobSaveBufferAttackTests
{
    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Enough chunks that the writer rents frame buffers all through the upload (not all at its start).</summary>
    private static Dictionary<string, object?> Mixed(int seed) => new()
    {
        ["raw"] = RandomBytes((33 << 20) + 77, seed),
        ["zeros"] = new float[300_000],
        ["small1"] = RandomBytes(3_000, seed + 1),
        ["smooth"] = Enumerable.Range(0, 200_000).Select(i => Math.Sin(i * 1e-4 + seed)).ToArray(),
        ["small2"] = Enumerable.Range(0, 900).Select(i => (float)(i + seed)).ToArray(),
        ["raw2"] = RandomBytes(600_001, seed + 2),
        ["one"] = new byte[] { (byte)seed },
        ["empty"] = Array.Empty<double>(),
        ["step"] = (long)seed,
    };

    private static bool IsPutBlock(HttpMessage m) =>
        m.Request.Method == RequestMethod.Put && m.Request.Uri.Query.Contains("comp=block", StringComparison.Ordinal)
        && !m.Request.Uri.Query.Contains("comp=blocklist", StringComparison.Ordinal);

    private static bool IsDataUpload(HttpMessage m) =>
        m.Request.Method == RequestMethod.Put && m.Request.Uri.Path.EndsWith("/tensors.lz4", StringComparison.Ordinal)
        && !m.Request.Uri.Query.Contains("comp=blocklist", StringComparison.Ordinal);

    /// <summary>Sends the request, then loses the answer (the server has the bytes; the SDK sends them again).</summary>
    private sealed class LoseAnswerPolicy : HttpPipelinePolicy
    {
        private readonly Func<HttpMessage, bool> _match;
        private int _seen;
        public int Injected;

        public LoseAnswerPolicy(Func<HttpMessage, bool> match) => _match = match;

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var fail = Before(message);
            ProcessNext(message, pipeline);
            After(fail);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var fail = Before(message);
            await ProcessNextAsync(message, pipeline);
            After(fail);
        }

        private bool Before(HttpMessage message)
        {
            // Only a request's first attempt fails: its retry must send the rewound block.
            if (!_match(message) || message.TryGetProperty(typeof(LoseAnswerPolicy), out _))
            {
                return false;
            }

            message.SetProperty(typeof(LoseAnswerPolicy), true);

            var n = Interlocked.Increment(ref _seen);
            if (n % 7 == 1)
            {
                // Read part of the body first (a connection that dropped mid-body), then fail before sending.
                using var sink = new StopAfter(1000 + n * 4099);
                try
                {
                    message.Request.Content!.WriteTo(sink, CancellationToken.None);
                }
                catch (IOException)
                {
                }

                Interlocked.Increment(ref Injected);
                throw new IOException("injected: connection dropped mid-body (test)");
            }

            // Few enough that the writer goes on (renting the buffers of later chunks) while these wait to be sent again.
            return n % 5 == 2;
        }

        private void After(bool fail)
        {
            if (fail)
            {
                Interlocked.Increment(ref Injected);
                throw new IOException("injected: answer lost after the block was sent (test)");
            }
        }
    }

    private sealed class StopAfter(long limit) : Stream
    {
        private long _written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count)
        {
            _written += count;
            if (_written > limit)
            {
                throw new IOException("stop");
            }
        }
    }

    private static byte[] LocalData(Dictionary<string, object?> state, long step)
    {
        using var local = new TempDirectory();
        using (var h = new CheckpointHandler(new CheckpointOptions()))
        {
            h.Save(local.Path, state, step: step);
        }

        return File.ReadAllBytes(Directory.GetFiles(local.Path, "tensors.lz4", SearchOption.AllDirectories).Single());
    }

    private static byte[] RemoteData(string location, long step)
    {
        var container = BlobTest.Container(location);
        var name = BlobTest.BlobNames(location).Single(n => n.Contains($"{step:D20}-", StringComparison.Ordinal) && n.EndsWith("/tensors.lz4", StringComparison.Ordinal));
        return container.GetBlobClient(name).DownloadContent().Value.Content.ToArray();
    }

    private static void AssertSame(byte[] expected, byte[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var diff = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(diff == expected.Length, $"{what}: the data blob differs from the local data file at byte {diff}");
    }

    [Theory]
    [InlineData(1 << 20, 2)]
    [InlineData((4 << 20) + 19, 3)]
    [InlineData(333_333, 4)]
    public void Blocks_sent_again_after_a_lost_answer_or_a_dropped_body_are_the_same_bytes_and_later_saves_too(int blockSize, int concurrency)
    {
        var location = AzuriteFixture.NewLocation();
        var faults = new LoseAnswerPolicy(IsDataUpload);
        using var handler = BlobTest.Handler(new BlobSettings
        {
            BlockSize = blockSize, Concurrency = concurrency, TestPolicy = faults, MaxRetries = 5, RetryDelay = TimeSpan.FromMilliseconds(300),
        });
        var states = Enumerable.Range(1, 2).Select(Mixed).ToList();
        for (var s = 0; s < states.Count; s++)
        {
            handler.Save(location, states[s], step: s);
        }

        Assert.True(faults.Injected >= 3, $"only {faults.Injected} faults injected");
        for (var s = 0; s < states.Count; s++)
        {
            AssertSame(LocalData(states[s], s), RemoteData(location, s), $"step {s}");
            Assert.Null(StateComparer.FirstDifference(states[s], handler.Restore(location, s)));
        }
    }

    [Fact]
    public void A_save_cancelled_mid_upload_leaves_no_step_and_the_saves_after_it_are_byte_for_byte_local_saves()
    {
        var location = AzuriteFixture.NewLocation();
        using var cts = new CancellationTokenSource();
        var seen = 0;
        var cancelling = new FaultPolicyHook(m =>
        {
            if (IsPutBlock(m) && Interlocked.Increment(ref seen) == 4)
            {
                cts.Cancel();
            }
        });
        using (var handler = BlobTest.Handler(new BlobSettings { BlockSize = 1 << 20, Concurrency = 3, TestPolicy = cancelling }))
        {
            Assert.ThrowsAny<OperationCanceledException>(() => handler.Save(location, Mixed(7), step: 7, cancellationToken: cts.Token));
        }

        Assert.DoesNotContain(BlobTest.BlobNames(location), n => n.Contains("commits", StringComparison.Ordinal));
        using var next = BlobTest.Handler(new BlobSettings { BlockSize = 1 << 20, Concurrency = 3 });
        for (var s = 8; s < 10; s++)
        {
            var state = Mixed(s);
            next.Save(location, state, step: s);
            AssertSame(LocalData(state, s), RemoteData(location, s), $"step {s}");
        }
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(64 << 20)]
    [InlineData((8 << 20) + 38)]
    public void Tiny_blocks_and_a_block_larger_than_the_data_hold_the_same_bytes(int blockSize)
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler(new BlobSettings { BlockSize = blockSize, Concurrency = 4 });
        var state = blockSize < 65536
            ? new Dictionary<string, object?> { ["a"] = RandomBytes(70_001, 3), ["b"] = new float[5000], ["c"] = RandomBytes(17, 4), ["d"] = RandomBytes(9000, 5) }
            : Mixed(5);
        handler.Save(location, state, step: 1);
        AssertSame(LocalData(state, 1), RemoteData(location, 1), "step 1");
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(location, 1)));
        Assert.True(handler.Verify(location, 1).Ok);
    }

    private sealed class FaultPolicyHook(Action<HttpMessage> onSend) : HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(HttpMessage message) => onSend(message);
    }
}
