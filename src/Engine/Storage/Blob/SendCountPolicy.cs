using System.Runtime.CompilerServices;
using Azure.Core;
using Azure.Core.Pipeline;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// Counts how many times the SDK sent one call's request (its first try and its retries), for a call made inside
/// <see cref="Scope"/>. The commit needs it: a conditional write refused after a retry may have landed on an
/// earlier try whose answer was lost, and been replaced since by another host (who deletes the blobs it replaced).
/// </summary>
internal sealed class SendCountPolicy : HttpPipelineSynchronousPolicy
{
    private const string Property = "DataraxCkpt.Sends";

    public static SendCountPolicy Instance { get; } = new();

    /// <summary>Counts the sends of the requests created until the scope is disposed into <paramref name="sends"/>.</summary>
    public static IDisposable Scope(StrongBox<int> sends) =>
        HttpPipeline.CreateHttpMessagePropertiesScope(new Dictionary<string, object?> { [Property] = sends });

    public override void OnSendingRequest(HttpMessage message)
    {
        if (message.TryGetProperty(Property, out var value) && value is StrongBox<int> sends)
        {
            Interlocked.Increment(ref sends.Value);
        }
    }
}
