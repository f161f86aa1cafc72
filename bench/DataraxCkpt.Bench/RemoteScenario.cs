using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using DataraxCkpt.Storage.Blob;

namespace DataraxCkpt.Bench;

/// <summary>
/// Scenario (g): a remote location on Azurite (started by build.ps1, connection string in DATARAXCKPT_TEST_AZURITE).
/// Save and restore of normal float32 tensors to az:// against the Azure SDK's own upload and download of the same
/// bytes as one blob with the engine's transfer options; listing 10,000 remote steps with a warm and a cold index
/// cache; the requests one save sends. The save and the restore are each judged on pairs adjacent in time (which side
/// goes first alternating, after an unmeasured warm-up of both): each side takes seconds of Azurite's CPU on the cores
/// the rest of the machine shares, so two row medians taken minutes apart compared how busy the machine was.
/// </summary>
internal static class RemoteScenario
{
    /// <summary>The Azurite connection string build.ps1 exports.</summary>
    public const string AzuriteVariable = "DATARAXCKPT_TEST_AZURITE";

    /// <summary>MiB of state to move (default 1024); smaller on a busy machine to prove the scenario runs.</summary>
    public const string SizeVariable = "DATARAXCKPT_BENCH_REMOTE_MIB";

    /// <summary>Measured pairs by default (engine save and SDK upload, then engine restore and SDK download): 5 keep the run near four minutes on an idle machine.</summary>
    public const int DefaultPairs = 5;

    private const int TensorCount = 8;
    private const int ListedSteps = 10_000;

    public static ScenarioReport Run(int repetitions, string work, int pairs = DefaultPairs)
    {
        var connection = Environment.GetEnvironmentVariable(AzuriteVariable);
        if (string.IsNullOrWhiteSpace(connection))
        {
            throw new InvalidOperationException($"{AzuriteVariable} is not set: run the bench through build.ps1 -Task Bench, which starts Azurite.");
        }

        // The engine finds the account as users give it.
        Environment.SetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING", connection);
        var mib = int.TryParse(Environment.GetEnvironmentVariable(SizeVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var m) && m >= TensorCount ? m : 1024;
        var elements = (int)((long)mib * (1 << 20) / TensorCount / sizeof(float));
        var report = new ScenarioReport
        {
            Scenario = "g",
            Title = string.Create(CultureInfo.InvariantCulture, $"{(mib % 1024 == 0 ? $"{mib / 1024} GiB" : $"{mib} MiB")} normal float32 to an az:// location on Azurite (8 × {mib / TensorCount} MiB)"),
            Repetitions = repetitions,
            Pairs = pairs,
        };
        if (mib != 1024)
        {
            report.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"size set by {SizeVariable}={mib} (the issue's figure is for 1024 MiB)"));
        }

        var tensors = StateData.Tensors(TensorCount, elements, bf16Like: false);
        var bytes = StateData.TotalBytes(tensors);
        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Length; i++)
        {
            state[$"layer{i}"] = tensors[i];
        }

        var settings = new BlobSettings { CacheDirectory = Path.Combine(work, "cache") };
        var transfer = new StorageTransferOptions
        {
            // The engine's own block size and concurrency (BlobSettings defaults), so that both sides move the same way.
            InitialTransferSize = settings.BlockSize,
            MaximumTransferSize = settings.BlockSize,
            MaximumConcurrency = settings.Concurrency,
        };
        report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"transfer options on both sides: {settings.BlockSize >> 20} MiB blocks/ranges, {settings.Concurrency} at once; Azurite 3.35.0 on 127.0.0.1 (in-memory metadata, blobs in a temporary folder) shares the 2 cores with the client"));

        var service = new BlobServiceClient(connection);
        var container = service.GetBlobContainerClient("bench-" + Guid.NewGuid().ToString("N")[..12]);
        container.Create();
        try
        {
            using var handler = new CheckpointHandler { BlobSettings = settings };
            var location = $"az://{container.Name}/run";
            var blob = container.GetBlobClient("sdk/one-blob.bin");
            // Unmeasured, on an eighth of the state (its first tensor): the first save, upload, restore and download of
            // the process pay the JIT of their paths (the engine's are the longer), which no measured pair should carry.
            var warmUp = tensors[0];
            var warmState = new Dictionary<string, object?>(StringComparer.Ordinal) { ["warm"] = warmUp };
            handler.Save(location, warmState, step: WarmUpStep);
            handler.Restore(location, WarmUpStep);
            handler.Remove(location, WarmUpStep, force: true);
            Upload(blob, [warmUp], transfer);
            _ = Download(blob, StateData.TotalBytes([warmUp]), transfer);

            var save = report.Row("DataraxCkpt save", bytes);
            var upload = report.Row("SDK BlobClient.UploadAsync (one blob)", bytes);
            var restore = report.Row("DataraxCkpt restore", bytes);
            var download = report.Row("SDK BlobClient.DownloadToAsync (one blob, new buffer)", bytes);
            var engineFirst = new List<bool>();
            for (var pair = 0; pair < pairs; pair++)
            {
                CheckpointInfo? info = null;
                void Save() => save.Add(Measure.Run(() => info = handler.Save(location, state, step: pair)));
                void Sdk() => upload.Add(Measure.Run(() => Upload(blob, tensors, transfer)));
                // The side that goes first alternates: neither always follows the other's removal or download.
                engineFirst.Add(pair % 2 == 0);
                if (pair % 2 == 0)
                {
                    Save();
                    Sdk();
                }
                else
                {
                    Sdk();
                    Save();
                }

                save.StoredBytes = info!.StoredSize;

                // The restore and the download of the same bytes, as a pair in the same order as the save's: both
                // read what was just written (the step and the one blob), under the same load. Each measured side's
                // result is checked against the state right after it, untimed (every pair: a restore or download
                // that returned other or fewer bytes is not a figure), and dropped before the other side runs.
                void Restore()
                {
                    object? restored = null;
                    restore.Add(Measure.Run(() => restored = handler.Restore(location, pair)));
                    CheckRestored(state, restored);
                }

                void Get()
                {
                    (byte[] Buffer, long Length) got = ([], 0);
                    download.Add(Measure.Run(() => got = Download(blob, bytes, transfer)));
                    CheckDownloaded(tensors, got.Buffer, got.Length);
                }

                if (pair % 2 == 0)
                {
                    Restore();
                    Get();
                }
                else
                {
                    Get();
                    Restore();
                }

                handler.Remove(location, pair, force: true);
            }

            var saveRow = report.Find("DataraxCkpt save");
            var restoreRow = report.Find("DataraxCkpt restore");
            report.Targets.Add(Ratio.PairedAtLeast("(g) remote save ≥ 0.9× the SDK's upload of the same bytes as one blob", saveRow, report.Find("SDK BlobClient.UploadAsync (one blob)"), 0.9));
            report.Targets.Add(Ratio.PairedAtLeast("(g) remote restore ≥ 0.9× the SDK's download of the same bytes as one blob", restoreRow, report.Find("SDK BlobClient.DownloadToAsync (one blob, new buffer)"), 0.9));
            report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"save and restore: {pairs} measured pairs each (engine save, SDK upload; then engine restore, SDK download of what they wrote, each checked byte for byte against the state after its timing; the SDK first in every other pair), after one unmeasured save, upload, restore and download of an eighth of the state (JIT); the targets take the median of the per-pair ratios, each row's median is over the same pairs; per pair, engine / SDK (s), save: {PairTimes(save, upload, engineFirst)}; restore: {PairTimes(restore, download, engineFirst)}"));

            CountSaveRequests(report, location, state, bytes, work);
            MeasureListing(report, container, repetitions, work);
        }
        finally
        {
            container.DeleteIfExists();
        }

        return report;
    }

    /// <summary>A step number the measured saves never use.</summary>
    private const long WarmUpStep = 1_000_000;

    /// <summary>The SDK's side of a restore: its own download of the one blob into a new buffer of its length.</summary>
    private static (byte[] Buffer, long Length) Download(BlobClient blob, long bytes, StorageTransferOptions transfer)
    {
        // A new buffer each time, as a restore allocates new arrays: both pay the first touch.
        var downloaded = GC.AllocateUninitializedArray<byte>(checked((int)Math.Min(bytes, Array.MaxLength)));
        using var destination = new MemoryStream(downloaded, writable: true);
        blob.DownloadToAsync(destination, new BlobDownloadToOptions { TransferOptions = transfer }).GetAwaiter().GetResult();
        return (downloaded, destination.Position);
    }

    /// <summary>The SDK's download held to the same bytes as the restore: every byte of the state, in order.</summary>
    internal static void CheckDownloaded(float[][] tensors, byte[] buffer, long length)
    {
        var expected = StateData.TotalBytes(tensors);
        if (length != expected)
        {
            throw new InvalidOperationException($"the SDK's download wrote {length} bytes, expected the state's {expected}");
        }

        var offset = 0;
        foreach (var tensor in tensors)
        {
            var source = MemoryMarshal.AsBytes(tensor.AsSpan());
            if (!source.SequenceEqual(buffer.AsSpan(offset, source.Length)))
            {
                throw new InvalidOperationException($"the SDK's download differs from the state at bytes {offset}..{offset + source.Length}");
            }

            offset += source.Length;
        }
    }

    private static string PairTimes(ResultRow engine, ResultRow sdk, List<bool> engineFirst) =>
        string.Join(", ", engine.Seconds.Zip(sdk.Seconds, engineFirst).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.First:F2} / {p.Second:F2}{(p.Third ? string.Empty : " (SDK first)")}")));

    /// <summary>The SDK's side: its own upload of the arrays' bytes as one blob, from a stream over them (no copy).</summary>
    private static void Upload(BlobClient blob, float[][] arrays, StorageTransferOptions transfer)
    {
        using var source = new ArraysStream(arrays);
        blob.UploadAsync(source, new BlobUploadOptions { TransferOptions = transfer }).GetAwaiter().GetResult();
    }

    private static void CountSaveRequests(ScenarioReport report, string location, Dictionary<string, object?> state, long bytes, string work)
    {
        foreach (var (name, saved, size) in new[] { ("the state above", state, bytes), ("a 1 KiB state", Small(), 1024L) })
        {
            var log = new RequestCounter();
            using var counted = new CheckpointHandler { BlobSettings = new BlobSettings { TestPolicy = log, CacheDirectory = Path.Combine(work, "cache-count") } };
            var countLocation = location + "-count";
            counted.Save(countLocation, saved, step: 1);
            var save = log.Snapshot();
            log.Clear();
            counted.Save(countLocation, saved, step: 2);
            var second = log.Snapshot();
            log.Clear();
            counted.Restore(countLocation, 2);
            var restore = log.Snapshot();
            counted.Remove(countLocation, 1, force: true);
            counted.Remove(countLocation, 2, force: true);
            report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"requests per save of {name} ({size / 1048576.0:F1} MiB): first save into a new prefix {Describe(save)}; a later save {Describe(second)}; its restore {Describe(restore)}"));
        }
    }

    private static void MeasureListing(ScenarioReport report, BlobContainerClient container, int repetitions, string work)
    {
        // 10,000 committed steps, made as the engine's own listing test makes them: one real save, then its commit
        // record copied under 9,999 more step numbers (listing reads records, never the data they point to).
        var location = $"az://{container.Name}/listing";
        using (var writer = new CheckpointHandler { BlobSettings = new BlobSettings { CacheDirectory = Path.Combine(work, "cache-writer") } })
        {
            writer.Save(location, Small(), step: 0);
        }

        var record0 = container.GetBlobs(BlobTraits.Metadata, BlobStates.None, "listing/commits/", CancellationToken.None).Single();
        var content = container.GetBlobClient(record0.Name).DownloadContent().Value.Content;
        Parallel.For(1, ListedSteps, new ParallelOptions { MaxDegreeOfParallelism = 16 }, step =>
        {
            var metadata = new Dictionary<string, string>(record0.Metadata) { ["step"] = step.ToString(CultureInfo.InvariantCulture) };
            container.GetBlobClient($"listing/commits/{step:D20}").Upload(content, new BlobUploadOptions { Metadata = metadata });
        });

        // The store's own cost of those records: the SDK's bare listing of the same prefix (names and properties,
        // no metadata, the store's default page size, as the engine asks), alternated with the warm listing.
        var bareLog = new RequestCounter();
        var bareOptions = new BlobClientOptions();
        bareOptions.AddPolicy(bareLog, HttpPipelinePosition.PerRetry);
        var bare = new BlobContainerClient(Environment.GetEnvironmentVariable(AzuriteVariable), container.Name, bareOptions);
        var server = ServerCpu.PortOf(Environment.GetEnvironmentVariable(AzuriteVariable)!) is int port ? ServerCpu.ForBlobPort(port) : null;

        var cold = new List<double>();
        var coldRequests = 0;
        var warm = new ListingCost();
        var sdk = new ListingCost();
        for (var rep = 0; rep < repetitions; rep++)
        {
            var log = new RequestCounter();
            using var lister = new CheckpointHandler { BlobSettings = new BlobSettings { TestPolicy = log, CacheDirectory = Path.Combine(work, $"cache-list-{rep}") } };
            var listed = 0;
            cold.Add(Measure.Run(() => listed = lister.ListCheckpoints(location).Count).Seconds);
            coldRequests = log.Total;
            if (listed != ListedSteps)
            {
                throw new InvalidOperationException($"listed {listed} steps, expected {ListedSteps}");
            }

            void Warm() => warm.Add(log, server, () => lister.ListCheckpoints(location).Count);
            void Bare() => sdk.Add(bareLog, server, () => CountBare(bare));
            if (rep % 2 == 0)
            {
                Warm();
                Bare();
            }
            else
            {
                Bare();
                Warm();
            }
        }

        if (sdk.Listed.Any(n => n != ListedSteps) || warm.Listed.Any(n => n != ListedSteps))
        {
            throw new InvalidOperationException($"a listing found {string.Join("/", sdk.Listed.Concat(warm.Listed))} records, expected {ListedSteps}");
        }

        var warmMedian = Measure.Median(warm.Wall);
        var coldMedian = Measure.Median(cold);
        report.Targets.Add(new Target("(g) listing 10,000 remote steps (Get-Checkpoint) with a warm cache ≤ 1 s",
            string.Create(CultureInfo.InvariantCulture, $"{warmMedian * 1000:F0} ms, {warm.Requests} requests"), warmMedian <= 1.0));
        report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"listing 10,000 remote steps with a cold cache (new cache folder): {coldMedian * 1000:F0} ms, {coldRequests} requests (List Blobs pages of 5,000 records with their metadata; no manifest is read)"));
        report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"listing baseline, alternated with the warm listing: the SDK's bare listing of the same 10,000 commit records (BlobContainerClient.GetBlobsAsync, same prefix, no metadata, the store's default page size as the engine asks) {sdk.Describe(server is not null)}; the engine's warm listing {warm.Describe(server is not null)}"));
    }

    /// <summary>The SDK's listing of the commit records alone: every page read, each item counted, nothing else.</summary>
    private static int CountBare(BlobContainerClient bare)
    {
        var count = 0;
        var pages = bare.GetBlobsAsync(BlobTraits.None, BlobStates.None, "listing/commits/", CancellationToken.None).AsPages().GetAsyncEnumerator();
        try
        {
            while (pages.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                count += pages.Current.Values.Count;
            }
        }
        finally
        {
            pages.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        return count;
    }

    private static Dictionary<string, object?> Small() => new(StringComparer.Ordinal)
    {
        ["w"] = Enumerable.Range(0, 256).Select(i => (float)i).ToArray(),
        ["epoch"] = 1L,
    };

    private static string Describe(IReadOnlyDictionary<string, int> counts) =>
        $"{counts.Values.Sum()} ({string.Join(", ", counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Value} {c.Key}"))})";

    private static void CheckRestored(Dictionary<string, object?> state, object? restored)
    {
        var back = (IDictionary<string, object?>)restored!;
        foreach (var (key, value) in state)
        {
            if (!MemoryMarshal.AsBytes(((float[])value!).AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(((float[])back[key]!).AsSpan())))
            {
                throw new InvalidOperationException($"restored tensor '{key}' differs from the saved one");
            }
        }
    }

    /// <summary>Wall time, CPU of this process and of Azurite, requests and response bytes of repeated listings.</summary>
    private sealed class ListingCost
    {
        public List<double> Wall { get; } = [];

        public List<int> Listed { get; } = [];

        private List<double> ClientCpu { get; } = [];

        private List<double> ServerCpuSeconds { get; } = [];

        public int Requests { get; private set; }

        private long ResponseBytes { get; set; }

        public void Add(RequestCounter log, ServerCpu? server, Func<int> list)
        {
            log.Clear();
            using var process = System.Diagnostics.Process.GetCurrentProcess();
            var count = 0;
            double clientBefore = 0, serverBefore = 0, clientAfter = 0, serverAfter = 0;
            Wall.Add(Measure.Run(() =>
            {
                process.Refresh();
                clientBefore = process.TotalProcessorTime.TotalSeconds;
                serverBefore = server?.Seconds() ?? 0;
                count = list();
                serverAfter = server?.Seconds() ?? 0;
                process.Refresh();
                clientAfter = process.TotalProcessorTime.TotalSeconds;
            }).Seconds);
            Listed.Add(count);
            ClientCpu.Add(clientAfter - clientBefore);
            ServerCpuSeconds.Add(serverAfter - serverBefore);
            Requests = log.Total;
            ResponseBytes = log.ResponseBytes;
        }

        public string Describe(bool withServer) => string.Create(CultureInfo.InvariantCulture,
            $"{Measure.Median(Wall) * 1000:F0} ms, {Requests} requests, {ResponseBytes / 1e6:F1} MB of responses, client CPU {Measure.Median(ClientCpu) * 1000:F0} ms, Azurite CPU {(withServer ? $"{Measure.Median(ServerCpuSeconds) * 1000:F0} ms" : "not found")}");
    }

    /// <summary>Counts requests by kind (method plus the REST operation), as billed.</summary>
    private sealed class RequestCounter : HttpPipelineSynchronousPolicy
    {
        private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

        private long _responseBytes;

        public int Total => _counts.Values.Sum();

        /// <summary>Response body bytes: the buffered body's length (List Blobs answers are chunked, with no Content-Length).</summary>
        public long ResponseBytes => Interlocked.Read(ref _responseBytes);

        public override void OnReceivedResponse(HttpMessage message)
        {
            // Bodies that are not streamed to the caller are buffered before this per-retry policy sees them.
            if (message.HasResponse && message.Response.ContentStream is { CanSeek: true } body)
            {
                Interlocked.Add(ref _responseBytes, body.Length);
            }
        }

        public override void OnSendingRequest(HttpMessage message)
        {
            var query = message.Request.Uri.Query;
            var kind = query.Contains("comp=list", StringComparison.Ordinal) ? "List"
                : query.Contains("comp=block&", StringComparison.Ordinal) || query.EndsWith("comp=block", StringComparison.Ordinal) ? "Put Block"
                : query.Contains("comp=blocklist", StringComparison.Ordinal) ? "Put Block List"
                : query.Contains("restype=container", StringComparison.Ordinal) ? $"{message.Request.Method} container"
                : $"{message.Request.Method} blob";
            _counts.AddOrUpdate(kind, 1, (_, n) => n + 1);
        }

        public Dictionary<string, int> Snapshot() => new(_counts, StringComparer.Ordinal);

        public void Clear()
        {
            _counts.Clear();
            Interlocked.Exchange(ref _responseBytes, 0);
        }
    }

    /// <summary>The tensors' bytes, one after another, as one seekable read-only stream (no copy of the state).</summary>
    internal sealed class ArraysStream : Stream
    {
        private readonly float[][] _arrays;
        private readonly long _length;
        private long _position;

        public ArraysStream(float[][] arrays)
        {
            _arrays = arrays;
            _length = StateData.TotalBytes(arrays);
        }

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => _length;

        public override long Position
        {
            get => _position;
            set => _position = Math.Clamp(value, 0, _length);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var done = 0;
            while (done < buffer.Length && _position < _length)
            {
                var arrayBytes = (long)_arrays[0].Length * sizeof(float);
                var index = (int)(_position / arrayBytes);
                var within = (int)(_position % arrayBytes);
                var source = MemoryMarshal.AsBytes(_arrays[index].AsSpan())[within..];
                var n = Math.Min(source.Length, buffer.Length - done);
                source[..n].CopyTo(buffer[done..]);
                done += n;
                _position += n;
            }

            return done;
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
