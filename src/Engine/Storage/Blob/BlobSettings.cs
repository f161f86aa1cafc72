using System.Globalization;
using Azure.Core.Pipeline;

namespace DataraxCkpt.Storage.Blob;

/// <summary>How the engine talks to an object store: transfer sizes, retries, and the leftover sweep's grace period.</summary>
internal sealed record BlobSettings
{
    /// <summary>Environment variable: the leftover sweep's grace period in seconds (default 3600).</summary>
    public const string SweepGraceVariable = "DATARAXCKPT_BLOB_SWEEP_GRACE_SECONDS";

    /// <summary>
    /// Uncommitted blobs (a killed or failed save's) older than this, by last-modified time, are deleted by
    /// later writers. A save older than a quarter of this at its record write refreshes its blobs first
    /// (<see cref="UncommittedBlobs"/>), so only a record write landing more than three quarters of this after
    /// that check can find them swept (docs/object-store.md, "Leftovers"). Every host of a store should use
    /// the same value.
    /// </summary>
    public TimeSpan SweepGrace { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Bytes of one staged block of an upload.</summary>
    public int BlockSize { get; init; } = 8 << 20;

    /// <summary>Blocks uploaded (or ranges downloaded) at once by one transfer.</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>Retries of a failed request (the SDK's exponential backoff).</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>First retry delay; later ones grow exponentially.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long one request may take before it is retried.</summary>
    public TimeSpan NetworkTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>Tests: a policy added to every request (count requests, inject faults).</summary>
    public HttpPipelinePolicy? TestPolicy { get; init; }

    /// <summary>
    /// The host's clocks: a save measures its blobs' age on both the monotonic and the wall clock
    /// (<see cref="UncommittedBlobs"/>). Tests put a machine to sleep through it.
    /// </summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Tests: where the local index cache lives instead of the platform cache folder.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>The defaults, with the sweep grace from <see cref="SweepGraceVariable"/> when set.</summary>
    public static BlobSettings FromEnvironment()
    {
        var grace = Environment.GetEnvironmentVariable(SweepGraceVariable);
        return double.TryParse(grace, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0
            ? new BlobSettings { SweepGrace = TimeSpan.FromSeconds(seconds) }
            : new BlobSettings();
    }
}
