using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using DataraxCkpt.Format;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// A save's data and manifest blobs between their upload and the commit record, kept out of another host's leftover
/// sweep. The sweep takes a folder no record names once every blob in it is older than its grace period (by
/// last-modified) and deletes each blob only if it still has the ETag it listed. So before its record a save whose
/// blobs may be older than a quarter of the grace period writes their metadata again (a new ETag and last-modified):
/// a sweep that listed them before fails its conditional delete and keeps them, one that lists them after sees them
/// fresh, and a blob already deleted answers 404, and the save fails instead of publishing a step without data
/// (docs/object-store.md, "Leftovers"). A save that takes less than a quarter of the grace period sends nothing more.
/// </summary>
internal sealed class UncommittedBlobs
{
    private readonly BlobClient[] _blobs;
    private readonly TimeSpan _refreshAfter;
    private readonly TimeSpan _grace;
    private readonly TimeProvider _clock;

    /// <summary>A moment, on this host's monotonic clock, before every blob of the save was last modified.</summary>
    private long _notBefore;

    /// <summary>The same moment on this host's wall clock.</summary>
    private DateTimeOffset _notBeforeWall;

    /// <summary>Starts the clock: made before the save sends any blob, so no blob of it is older than this.</summary>
    public UncommittedBlobs(BlobContainerClient container, string folder, TimeSpan grace, TimeProvider clock)
    {
        _blobs = [container.GetBlobClient(folder + StepFormat.DataFile), container.GetBlobClient(folder + StepFormat.ManifestFile)];
        _grace = grace;
        _refreshAfter = grace / 4;
        _clock = clock;
        _notBefore = clock.GetTimestamp();
        _notBeforeWall = clock.GetUtcNow();
    }

    /// <summary>
    /// Called right before each commit record write: when the save's blobs may be older than a quarter of the grace
    /// period, writes their metadata again. The metadata write is unconditional: only this save ever writes these
    /// names (each once, with <c>If-None-Match: *</c>) and a sweep only deletes, so a blob that is there is this
    /// save's own, and one that is not answers 404 (Set Blob Metadata never creates a blob).
    /// </summary>
    /// <exception cref="IOException">A blob is gone: another host's sweep took it while the save stalled; nothing may be published.
    /// Or the refresh failed otherwise (through every retry): the message names the step and the location, the SDK's exception is inside.</exception>
    public void RefreshIfOld(string directory, long step, Action<string> log)
    {
        // The longer of the two clocks' measures. The monotonic clock (Stopwatch) stops while the machine is
        // suspended (CLOCK_MONOTONIC on Linux), exactly the stall this guards against, while the sweep of another
        // host counts that time; the wall clock counts it but can be stepped back (NTP). Found by the attack on sweep:
        // a save that slept past the grace period measured seconds, sent no refresh and published swept blobs.
        var monotonic = _clock.GetElapsedTime(_notBefore);
        var wall = _clock.GetUtcNow() - _notBeforeWall;
        var age = wall > monotonic ? wall : monotonic;
        if (age < _refreshAfter)
        {
            return;
        }

        var started = _clock.GetTimestamp();
        var startedWall = _clock.GetUtcNow();
        var stamp = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["refreshed"] = DateTimeOffset.UtcNow.UtcTicks.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var blob in _blobs)
        {
            try
            {
                blob.SetMetadata(stamp);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                throw new IOException(
                    $"Could not commit step {step} in '{directory}': the save's {FileName(blob)} blob was swept by another writer "
                    + $"while the save stalled for {age.TotalSeconds:0.#} s before its commit record (the leftover sweep's grace period is {_grace.TotalSeconds:0.#} s). "
                    + "Nothing was committed; save again.", e);
            }
            catch (Exception e) when (e is AggregateException or RequestFailedException && !IsRefusal(e))
            {
                // Through every retry (the SDK's AggregateException of its tries) or answered with another error: the
                // bare SDK exception named neither the step nor the location. A refusal (403) goes on as it is, so that
                // the caller names the right to grant (AccessDeniedReportingStore).
                throw new IOException(
                    $"Could not commit step {step} in '{directory}': refreshing the save's {FileName(blob)} blob before its commit record "
                    + $"failed ({LastTry(e)}), so its commit record was not sent. Check that the store can be reached and save again; "
                    + "the save's blobs are removed, or left to the leftover sweep.", e);
            }
        }

        _notBefore = started;
        _notBeforeWall = startedWall;
        log($"Refreshed the blobs of step {step}'s save in '{directory}' before its commit record ({age.TotalSeconds:0.#} s since they were written, "
            + $"a quarter of the sweep's grace period is {_refreshAfter.TotalSeconds:0.#} s), so that no other writer's sweep takes them.");
    }

    private static string FileName(BlobClient blob) => blob.Name[(blob.Name.LastIndexOf('/') + 1)..];

    /// <summary>
    /// Whether a refresh's failure is a refusal (403), which goes on as it is: a bare refusal, or the SDK's
    /// <see cref="AggregateException"/> of its tries when any try was refused, whichever it was (found by the final
    /// review of session 11). Today the SDK stops retrying at a refusal, so it is the last try, after any transport
    /// failures; the check does not rest on that order, so a refusal is never reported as the store unreachable.
    /// </summary>
    internal static bool IsRefusal(Exception e) =>
        e is RefusedRequestException || (e is AggregateException a && a.InnerExceptions.Any(i => i is RefusedRequestException));

    /// <summary>What went wrong at the last try of a retried request (the SDK lists every try), its first line (a store's answer goes on with its headers).</summary>
    private static string LastTry(Exception e)
    {
        var message = (e is AggregateException { InnerExceptions.Count: > 0 } a ? a.InnerExceptions[^1] : e).Message;
        var end = message.IndexOfAny(['\r', '\n']);
        return (end < 0 ? message : message[..end]).TrimEnd('.');
    }
}
