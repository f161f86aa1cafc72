using System.Diagnostics.CodeAnalysis;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using DataraxCkpt.Storage.Blob;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// A save's blob refresh before its commit record fails through every retry as the SDK's
/// <see cref="AggregateException"/> of its tries; when any try was a refusal (403) the failure is the refusal, which
/// goes on as it is so that the caller names the right to grant, not "check that the store can be reached". A check of
/// the first try only, or of the last only, takes a refusal for an unreachable store (no Azurite needed: the
/// exceptions are the ones the pipeline raises).
/// </summary>
public sealed class BlobRefreshRefusalTests
{
    private static RefusedRequestException Refused()
    {
        // Built, never sent.
        var request = HttpClientTransport.Shared.CreateRequest();
        request.Method = RequestMethod.Put;
        request.Uri.Reset(new Uri("http://127.0.0.1:10000/devstoreaccount1/c/data/00000000000000000001-x/manifest.json.lz4?comp=metadata"));
        return new RefusedRequestException(request, new ForbiddenResponse());
    }

    private static IOException Transport() => new("injected transport fault (test)");

    [Fact]
    public void A_refresh_refused_at_its_only_try_is_a_refusal()
    {
        var refused = Refused();
        Assert.Equal((403, "write"), (refused.Status, refused.Operation));
        Assert.True(UncommittedBlobs.IsRefusal(refused));
    }

    [Fact]
    public void A_refresh_whose_last_try_was_refused_after_transport_failures_is_a_refusal()
    {
        // What the SDK raises when a refusal ends its retries: the tries in order, the refusal last.
        Assert.True(UncommittedBlobs.IsRefusal(new AggregateException(Transport(), Transport(), Refused())));
    }

    [Fact]
    public void A_refresh_refused_at_an_earlier_try_than_its_last_is_a_refusal()
    {
        Assert.True(UncommittedBlobs.IsRefusal(new AggregateException(Refused(), Transport())));
        Assert.True(UncommittedBlobs.IsRefusal(new AggregateException(Transport(), Refused(), Transport())));
    }

    [Fact]
    public void A_refresh_that_failed_at_every_try_without_a_refusal_is_not_a_refusal()
    {
        Assert.False(UncommittedBlobs.IsRefusal(new AggregateException(Transport(), Transport(), Transport())));
        Assert.False(UncommittedBlobs.IsRefusal(new RequestFailedException(500, "server busy (test)")));
        Assert.False(UncommittedBlobs.IsRefusal(new AggregateException(Transport(), new RequestFailedException(403, "a 403 not raised by the refusal policy (test)"))));
    }

    /// <summary>The store's answer to a request its credentials may not make.</summary>
    private sealed class ForbiddenResponse : Response
    {
        private readonly Dictionary<string, string> _headers = new(StringComparer.OrdinalIgnoreCase) { ["x-ms-error-code"] = RefusedRequestException.PermissionMismatch };

        public override int Status => 403;

        public override string ReasonPhrase => "This request is not authorized to perform this operation using this permission.";

        public override Stream? ContentStream { get; set; }

        public override string ClientRequestId { get; set; } = string.Empty;

        public override void Dispose()
        {
        }

        protected override bool TryGetHeader(string name, [NotNullWhen(true)] out string? value) => _headers.TryGetValue(name, out value);

        protected override bool TryGetHeaderValues(string name, [NotNullWhen(true)] out IEnumerable<string>? values)
        {
            values = _headers.TryGetValue(name, out var value) ? [value] : null;
            return values is not null;
        }

        protected override bool ContainsHeader(string name) => _headers.ContainsKey(name);

        protected override IEnumerable<HttpHeader> EnumerateHeaders() => _headers.Select(h => new HttpHeader(h.Key, h.Value));
    }
}
