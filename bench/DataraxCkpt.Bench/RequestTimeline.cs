using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace DataraxCkpt.Bench;

/// <summary>
/// When each request of one operation was sent and answered (milliseconds from <see cref="Start"/>), by kind: where a
/// save waits on requests that the SDK's one-blob upload does not send, and how many blocks were in flight.
/// </summary>
internal sealed class RequestTimeline : HttpPipelinePolicy
{
    private readonly ConcurrentQueue<(string Kind, double Sent, double Answered, long Bytes)> _requests = new();
    private long _origin;

    public void Start()
    {
        _requests.Clear();
        _origin = Stopwatch.GetTimestamp();
    }

    private double Now() => Stopwatch.GetElapsedTime(_origin).TotalMilliseconds;

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var sent = Now();
        ProcessNext(message, pipeline);
        Add(message, sent);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var sent = Now();
        await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
        Add(message, sent);
    }

    private void Add(HttpMessage message, double sent)
    {
        var query = message.Request.Uri.Query;
        var kind = query.Contains("comp=blocklist", StringComparison.Ordinal) ? "PutBlockList"
            : query.Contains("comp=block", StringComparison.Ordinal) ? "PutBlock"
            : query.Contains("restype=container", StringComparison.Ordinal) ? message.Request.Method + "-container"
            : message.Request.Method + "-" + Path.GetFileName(message.Request.Uri.Path);
        var bytes = message.Request.Headers.TryGetValue("Content-Length", out var l) ? long.Parse(l!, CultureInfo.InvariantCulture) : 0;
        _requests.Enqueue((kind, sent, Now(), bytes));
    }

    /// <summary>One line: first block sent, last block answered, mean blocks in flight between, and every other request.</summary>
    public string Describe(double total)
    {
        var all = _requests.OrderBy(r => r.Sent).ToList();
        var blocks = all.Where(r => r.Kind == "PutBlock").ToList();
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"total {total:F0} ms");
        if (blocks.Count > 0)
        {
            var first = blocks.Min(b => b.Sent);
            var last = blocks.Max(b => b.Answered);
            var busy = blocks.Sum(b => b.Answered - b.Sent);
            text.Append(CultureInfo.InvariantCulture, $"; {blocks.Count} blocks {first:F0}→{last:F0} ms, mean in flight {busy / (last - first):F1}, mean block {busy / blocks.Count:F0} ms");
        }

        foreach (var r in all.Where(r => r.Kind != "PutBlock"))
        {
            text.Append(CultureInfo.InvariantCulture, $"; {r.Kind} {r.Sent:F0}→{r.Answered:F0}");
        }

        return text.ToString();
    }
}
