using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using DataraxCkpt.Storage.Blob;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>Records every request a handler sends (method, path, query) for request-count assertions.</summary>
internal sealed class RequestLog : HttpPipelineSynchronousPolicy
{
    public ConcurrentQueue<string> Requests { get; } = new();

    public override void OnSendingRequest(HttpMessage message) =>
        Requests.Enqueue($"{message.Request.Method} {message.Request.Uri.Path}{message.Request.Uri.Query}");

    public int Count(Func<string, bool> match) => Requests.Count(match);
}

/// <summary>Fails requests that match with a transport error (as a dropped connection does), a given number of times.</summary>
internal sealed class FaultPolicy : HttpPipelinePolicy
{
    private readonly Func<HttpMessage, bool> _match;
    private readonly Func<Exception> _fault;
    private int _remaining;

    /// <param name="match">The requests to fail.</param>
    /// <param name="times">How many of them.</param>
    /// <param name="fault">What each fails with; by default an IOException, which may have come after the request left.</param>
    public FaultPolicy(Func<HttpMessage, bool> match, int times, Func<Exception>? fault = null)
    {
        _match = match;
        _remaining = times;
        _fault = fault ?? (() => new IOException("injected transport fault (test)"));
    }

    /// <summary>What the SDK's transport throws when no connection could be made (refused): the request never left.</summary>
    public static Exception ConnectionRefused() =>
        new Azure.RequestFailedException("injected connection refused (test)",
            new System.Net.Http.HttpRequestException(System.Net.Http.HttpRequestError.ConnectionError, "Connection refused (injected)"));

    private int _injected;

    /// <summary>Faults injected so far (block uploads run in parallel: counted atomically).</summary>
    public int Injected => Volatile.Read(ref _injected);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Fail(message);
        ProcessNext(message, pipeline);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Fail(message);
        await ProcessNextAsync(message, pipeline);
    }

    private void Fail(HttpMessage message)
    {
        if (_match(message) && Interlocked.Decrement(ref _remaining) >= 0)
        {
            Interlocked.Increment(ref _injected);
            throw _fault();
        }
    }
}

/// <summary>Several policies in order, first to last (BlobSettings takes one).</summary>
internal sealed class Policies(params HttpPipelinePolicy[] policies) : HttpPipelinePolicy
{
    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var all = new HttpPipelinePolicy[policies.Length + pipeline.Length];
        policies.CopyTo(all, 0);
        pipeline.CopyTo(all.AsMemory(policies.Length));
        ProcessNext(message, all);
    }

    public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var all = new HttpPipelinePolicy[policies.Length + pipeline.Length];
        policies.CopyTo(all, 0);
        pipeline.CopyTo(all.AsMemory(policies.Length));
        return ProcessNextAsync(message, all);
    }
}

internal static class BlobTest
{
    /// <summary>A handler whose remote stores use <paramref name="settings"/> (short sweep grace, request hooks).</summary>
    public static CheckpointHandler Handler(BlobSettings? settings = null, CheckpointOptions? options = null) =>
        new(options ?? new CheckpointOptions()) { BlobSettings = settings ?? new BlobSettings { RetryDelay = TimeSpan.FromMilliseconds(50) } };

    /// <summary>The container of an az:// location, for looking at the raw blobs.</summary>
    public static BlobContainerClient Container(string location)
    {
        var parsed = BlobLocation.Parse(location);
        return parsed.Connect(new BlobClientOptions());
    }

    /// <summary>The blobs of steps (commit records, data and manifests), without the sweep marker.</summary>
    public static List<string> BlobNames(string location) =>
        Container(location).GetBlobs(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, null, CancellationToken.None)
            .Select(b => b.Name).Where(n => !n.EndsWith("/last-sweep", StringComparison.Ordinal)).OrderBy(n => n, StringComparer.Ordinal).ToList();

    public static Dictionary<string, object?> State(int seed, int floats = 1000) => new()
    {
        ["w"] = Enumerable.Range(0, floats).Select(i => (float)Math.Sin(i * 0.01 + seed)).ToArray(),
        ["b"] = Enumerable.Range(0, 16).Select(i => (double)(i + seed)).ToArray(),
        ["position"] = (long)seed,
        ["name"] = $"state {seed}",
    };
}
