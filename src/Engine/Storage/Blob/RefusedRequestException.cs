using Azure;
using Azure.Core;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// A request the store refused (403), with what it was: <see cref="Operation"/> (list, read, write, delete, as a
/// SAS's rights are named) and the blob's path. Internal: users get <see cref="StoreAccessDeniedException"/>
/// (<see cref="ToAccessDenied"/>), which names the location and the right to grant.
/// </summary>
internal sealed class RefusedRequestException : RequestFailedException
{
    /// <summary>The error code of a SAS without the right, or an identity without the role, for the request.</summary>
    public const string PermissionMismatch = "AuthorizationPermissionMismatch";

    /// <summary>The error code of credentials the store did not accept (a SAS expired or signed for something else, a wrong key).</summary>
    public const string AuthenticationFailed = "AuthenticationFailed";

    public RefusedRequestException(Request request, Response response)
        : base(response.Status, Describe(response, ErrorCodeOf(response)), ErrorCodeOf(response), null)
    {
        Operation = OperationOf(request);
        RequestPath = Uri.UnescapeDataString(request.Uri.Path);
    }

    /// <summary>list, read, write or delete.</summary>
    public string Operation { get; }

    /// <summary>The request's path, unescaped: /container/blob, or /account/container/blob on an emulator.</summary>
    public string RequestPath { get; }

    private static string? ErrorCodeOf(Response response) =>
        response.Headers.TryGetValue("x-ms-error-code", out var code) && !string.IsNullOrWhiteSpace(code) ? code : null;

    private static string Describe(Response response, string? code) =>
        $"{response.ReasonPhrase}{Environment.NewLine}Status: {response.Status} ({response.ReasonPhrase}){Environment.NewLine}ErrorCode: {code ?? "(none)"}";

    /// <summary>A List Blobs request is a list; other GETs and HEADs read; DELETE deletes; every PUT writes.</summary>
    private static string OperationOf(Request request)
    {
        if (request.Method == RequestMethod.Delete)
        {
            return "delete";
        }

        if (request.Method == RequestMethod.Get || request.Method == RequestMethod.Head)
        {
            return request.Uri.Query.Contains("comp=list", StringComparison.OrdinalIgnoreCase) ? "list" : "read";
        }

        return "write";
    }

    /// <summary>
    /// The engine's error for this refusal: the location, what was refused, and which SAS right or Azure role to
    /// grant (the data roles: Storage Blob Data Reader reads and lists, Storage Blob Data Contributor also writes
    /// and deletes).
    /// </summary>
    public StoreAccessDeniedException ToAccessDenied(BlobLocation location)
    {
        var (right, role) = Operation switch
        {
            "list" => ("the list (l) right", "Storage Blob Data Reader"),
            "read" => ("the read (r) right", "Storage Blob Data Reader"),
            "delete" => ("the delete (d) right", "Storage Blob Data Contributor"),
            _ => ("the write (w) and create (c) rights", "Storage Blob Data Contributor"),
        };
        var remedy = ErrorCode switch
        {
            PermissionMismatch => $"Grant the SAS {right}, or the signed-in identity a role that has it ({role}), and try again.",
            AuthenticationFailed => $"The store did not accept the credentials (a SAS that expired or was signed for another resource, or a wrong account key): use valid credentials with {right} ({role} for a signed-in identity).",
            _ => $"Check that these credentials may reach the container (network rules, shared-key access allowed) and have {right} ({role} for a signed-in identity).",
        };
        return new StoreAccessDeniedException(location.Display, Operation, BlobOf(location), $"{Status} {ErrorCode ?? "Forbidden"}", remedy, this);
    }

    /// <summary>The refused blob's name under the store's prefix (commits/…, data/…), or null for a listing or the container.</summary>
    private string? BlobOf(BlobLocation location)
    {
        var marker = "/" + location.Container + "/";
        var at = RequestPath.IndexOf(marker, StringComparison.Ordinal);
        if (Operation == "list" || at < 0)
        {
            return null;
        }

        var blob = RequestPath[(at + marker.Length)..];
        return blob.StartsWith(location.Prefix, StringComparison.Ordinal) && blob.Length > location.Prefix.Length ? blob[location.Prefix.Length..] : blob;
    }
}
