using Azure.Core;
using Azure.Core.Pipeline;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// Raises a <see cref="RefusedRequestException"/> for a request the store refused with 403, so the error can say
/// what was refused (list, read, write, delete) and which blob: the SDK's own exception knows neither. Added per
/// call, outside the retry loop (a 403 is not retried): it sees the final answer only. It derives from the SDK's
/// <see cref="Azure.RequestFailedException"/> with the same status and error code, so code that handles a
/// refusal (a container SAS refused create-if-missing, a cleanup left for the sweep) handles it unchanged.
/// </summary>
internal sealed class RefusedRequestPolicy : HttpPipelinePolicy
{
    public static RefusedRequestPolicy Instance { get; } = new();

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ProcessNext(message, pipeline);
        ThrowIfRefused(message);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
        ThrowIfRefused(message);
    }

    private static void ThrowIfRefused(HttpMessage message)
    {
        if (message.HasResponse && message.Response.Status == 403)
        {
            throw new RefusedRequestException(message.Request, message.Response);
        }
    }
}
