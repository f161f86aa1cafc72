using System.Net.Http;
using Azure.Core;
using Azure.Core.Pipeline;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// Counts how many times the SDK sent one call's request (its first try and its retries), and how many of those
/// tries may have reached the store without an answer saying what became of them, for a call made inside
/// <see cref="Scope"/>. The commit and the delete of a record need it: a conditional request refused after a
/// retry may have landed on an earlier try whose answer was lost, and such a try may also still be on its way
/// (delayed past the client's timeout) and land later.
/// </summary>
internal sealed class SendCountPolicy : HttpPipelinePolicy
{
    private const string Property = "DataraxCkpt.Sends";

    public static SendCountPolicy Instance { get; } = new();

    /// <summary>Counts the tries of the requests created until the scope is disposed into <paramref name="tally"/>.</summary>
    public static IDisposable Scope(SendTally tally) =>
        HttpPipeline.CreateHttpMessagePropertiesScope(new Dictionary<string, object?> { [Property] = tally });

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var tally = Sending(message);
        try
        {
            ProcessNext(message, pipeline);
        }
        catch (Exception e) when (tally is not null && Unanswered(tally, e))
        {
            throw;
        }

        Answered(tally, message);
    }

    /// <summary>Requests outside a scope (every block upload and ranged read) pass straight on: no async frame of this policy's own.</summary>
    public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        Sending(message) is { } tally ? ProcessTalliedAsync(message, pipeline, tally) : ProcessNextAsync(message, pipeline);

    private static async ValueTask ProcessTalliedAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline, SendTally tally)
    {
        try
        {
            await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
        }
        catch (Exception e) when (Unanswered(tally, e))
        {
            throw;
        }

        Answered(tally, message);
    }

    private static SendTally? Sending(HttpMessage message)
    {
        if (message.TryGetProperty(Property, out var value) && value is SendTally tally)
        {
            Interlocked.Increment(ref tally.Sends);
            return tally;
        }

        return null;
    }

    /// <summary>A 5xx answer does not say whether the store applied the request (500 OperationTimedOut may have).</summary>
    private static void Answered(SendTally? tally, HttpMessage message)
    {
        if (tally is not null && (!message.HasResponse || message.Response.Status >= 500))
        {
            Interlocked.Increment(ref tally.Unknown);
        }
    }

    /// <summary>Counts a try that failed without an answer, unless it provably never left (no connection); never filters.</summary>
    private static bool Unanswered(SendTally tally, Exception e)
    {
        if (!NeverConnected(e))
        {
            Interlocked.Increment(ref tally.Unknown);
        }

        return false;
    }

    /// <summary>
    /// The connection could not be made (refused, name not resolved, TLS failed): no byte of the request left. Only
    /// the handler's own word for it counts (it sets these categories on a failure to connect); a socket's error
    /// code alone does not say when it happened: found by the attack on remote2h, an established connection whose
    /// route is lost after the request left fails with "no route to host" or "network unreachable" (even "refused",
    /// from an ICMP error) under the stream's IOException, and that try may have landed.
    /// </summary>
    private static bool NeverConnected(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError })
            {
                return true;
            }
        }

        return false;
    }
}
