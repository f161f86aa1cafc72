using System.Diagnostics;
using System.Globalization;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using DataraxCkpt.Storage.Blob;

namespace DataraxCkpt.Bench;

/// <summary>
/// Profile of scenario (g)'s save against the SDK's one-blob upload by CPU, not wall time (the machine may be
/// shared): per repetition, in alternating order, the client's CPU (this process) and Azurite's (its node
/// process, <see cref="ServerCpu"/>) for one engine save and one SDK upload of the same bytes, then medians.
/// <c>DataraxCkpt.Bench gprofile [REPS] [MIB]</c>; needs DATARAXCKPT_TEST_AZURITE. With GPROFILE_TIMELINE set, each
/// save and upload also prints its requests' timeline (<see cref="RequestTimeline"/>: the same policy on both sides).
/// <c>DataraxCkpt.Bench gprofile REPS MIB restore</c> profiles the restore against the SDK's one-blob download into a
/// new buffer instead (the step and the blob written once, unmeasured).
/// </summary>
internal static class RemoteSaveProfile
{
    public static int Run(int repetitions, int mib, string work, bool restores = false)
    {
        var connection = Environment.GetEnvironmentVariable(RemoteScenario.AzuriteVariable)
            ?? throw new InvalidOperationException($"{RemoteScenario.AzuriteVariable} is not set");
        Environment.SetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING", connection);
        var tensors = StateData.Tensors(8, (int)((long)mib * (1 << 20) / 8 / sizeof(float)), bf16Like: false);
        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Length; i++)
        {
            state[$"layer{i}"] = tensors[i];
        }

        var timeline = new RequestTimeline();
        var settings = new BlobSettings { CacheDirectory = Path.Combine(work, "cache"), TestPolicy = timeline };
        var transfer = new StorageTransferOptions
        {
            InitialTransferSize = settings.BlockSize,
            MaximumTransferSize = settings.BlockSize,
            MaximumConcurrency = settings.Concurrency,
        };
        var server = ServerCpu.PortOf(connection) is int port ? ServerCpu.ForBlobPort(port) : null;
        var sdkOptions = new BlobClientOptions();
        sdkOptions.AddPolicy(timeline, Azure.Core.HttpPipelinePosition.PerRetry);
        var container = new BlobServiceClient(connection, sdkOptions).GetBlobContainerClient("gprof-" + Guid.NewGuid().ToString("N")[..12]);
        container.Create();
        var engine = new Cost();
        var sdk = new Cost();
        try
        {
            using var handler = new CheckpointHandler { BlobSettings = settings };
            var location = $"az://{container.Name}/run";
            var blob = container.GetBlobClient("sdk/one-blob.bin");
            CheckpointInfo? info = null;
            void Save(int step)
            {
                timeline.Start();
                var w = Stopwatch.StartNew();
                engine.Add(server, () => info = handler.Save(location, state, step: step));
                PrintTimeline("engine", timeline, w);
            }

            void Upload()
            {
                timeline.Start();
                var w = Stopwatch.StartNew();
                sdk.Add(server, () =>
                {
                    using var source = new RemoteScenario.ArraysStream(tensors);
                    blob.UploadAsync(source, new BlobUploadOptions { TransferOptions = transfer }).GetAwaiter().GetResult();
                });
                PrintTimeline("sdk", timeline, w);
            }

            if (restores)
            {
                return ProfileRestore(repetitions, mib, handler, location, state, tensors, blob, transfer, server);
            }

            // One of each first, unmeasured: JIT and connection warm-up.
            handler.Save(location, state, step: 1000);
            handler.Remove(location, 1000, force: true);
            Upload();
            sdk.Clear();
            for (var rep = 0; rep < repetitions; rep++)
            {
                if (rep % 2 == 0)
                {
                    Save(rep);
                    Upload();
                }
                else
                {
                    Upload();
                    Save(rep);
                }

                handler.Remove(location, rep, force: true);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{mib} MiB, {repetitions} reps, stored/raw {info!.StoredSize / (double)StateData.TotalBytes(tensors):F3}"));
            Console.WriteLine("engine save: " + engine.Describe(mib));
            Console.WriteLine("SDK upload:  " + sdk.Describe(mib));
            return 0;
        }
        finally
        {
            container.DeleteIfExists();
        }
    }

    private static int ProfileRestore(int repetitions, int mib, CheckpointHandler handler, string location, Dictionary<string, object?> state,
        float[][] tensors, BlobClient blob, StorageTransferOptions transfer, ServerCpu? server)
    {
        var bytes = StateData.TotalBytes(tensors);
        handler.Save(location, state, step: 1);
        using (var source = new RemoteScenario.ArraysStream(tensors))
        {
            blob.Upload(source, new BlobUploadOptions { TransferOptions = transfer });
        }

        var engine = new Cost();
        var sdk = new Cost();
        void Restore() => engine.Add(server, () => handler.Restore(location, 1));
        void Download() => sdk.Add(server, () =>
        {
            var buffer = GC.AllocateUninitializedArray<byte>(checked((int)bytes));
            using var destination = new MemoryStream(buffer, writable: true);
            blob.DownloadToAsync(destination, new BlobDownloadToOptions { TransferOptions = transfer }).GetAwaiter().GetResult();
        });

        // One of each first, unmeasured: JIT and connection warm-up.
        Restore();
        Download();
        engine.Clear();
        sdk.Clear();
        for (var rep = 0; rep < repetitions; rep++)
        {
            if (rep % 2 == 0)
            {
                Restore();
                Download();
            }
            else
            {
                Download();
                Restore();
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{mib} MiB, {repetitions} reps, restore against download"));
        Console.WriteLine("engine restore: " + engine.Describe(mib));
        Console.WriteLine("SDK download:   " + sdk.Describe(mib));
        Console.WriteLine("per pair, engine / SDK wall (s): " + string.Join(", ", engine.Walls.Zip(sdk.Walls).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.First:F2} / {p.Second:F2}"))));
        return 0;
    }

    private static void PrintTimeline(string side, RequestTimeline timeline, Stopwatch watch)
    {
        if (Environment.GetEnvironmentVariable("GPROFILE_TIMELINE") is not null)
        {
            Console.WriteLine($"  {side,-7} {timeline.Describe(watch.Elapsed.TotalMilliseconds)}");
        }
    }

    private sealed class Cost
    {
        private readonly List<double> _wall = [];

        public IReadOnlyList<double> Walls => _wall;
        private readonly List<double> _client = [];
        private readonly List<double> _server = [];
        private readonly List<double> _allocated = [];

        public void Add(ServerCpu? server, Action run)
        {
            using var self = Process.GetCurrentProcess();
            var cpu0 = self.TotalProcessorTime;
            var server0 = server?.Seconds() ?? 0;
            var alloc0 = GC.GetTotalAllocatedBytes(precise: false);
            var watch = Stopwatch.StartNew();
            run();
            _wall.Add(watch.Elapsed.TotalSeconds);
            self.Refresh();
            _client.Add((self.TotalProcessorTime - cpu0).TotalSeconds);
            _server.Add((server?.Seconds() ?? 0) - server0);
            _allocated.Add(GC.GetTotalAllocatedBytes(precise: false) - alloc0);
        }

        public void Clear()
        {
            _wall.Clear();
            _client.Clear();
            _server.Clear();
            _allocated.Clear();
        }

        /// <summary>Medians, CPU scaled to 512 MiB as the notes give it.</summary>
        public string Describe(int mib)
        {
            var per512 = 512.0 / mib;
            return string.Create(CultureInfo.InvariantCulture,
                $"wall {Measure.Median(_wall) * 1000:F0} ms; per 512 MiB: client CPU {Measure.Median(_client) * per512 * 1000:F0} ms [{string.Join(' ', _client.Select(c => (c * per512 * 1000).ToString("F0", CultureInfo.InvariantCulture)))}], Azurite CPU {Measure.Median(_server) * per512 * 1000:F0} ms; allocated {Measure.Median(_allocated) / 1048576.0:F1} MiB");
        }
    }
}
