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

    /// <summary>
    /// The shortest grace period a user may set: three quarters of it outlast one commit record write through every
    /// try (each up to <see cref="NetworkTimeout"/>, with the SDK's waits of at most a minute between them), the
    /// longest a record can land after its save's refresh check (<see cref="UncommittedBlobs"/>). 20 minutes
    /// at the defaults.
    /// </summary>
    public TimeSpan ShortestSafeGrace => ((MaxRetries + 1) * NetworkTimeout + MaxRetries * TimeSpan.FromMinutes(1)) * 4 / 3;

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
    public static BlobSettings FromEnvironment() => WithGrace(Environment.GetEnvironmentVariable(SweepGraceVariable));

    /// <summary>The defaults, with the sweep grace from <paramref name="seconds"/> (the variable's text) when it is a number.</summary>
    /// <remarks>
    /// Found by the attack on sweep: any value was taken as it was. Under <see cref="ShortestSafeGrace"/> (at 0, every
    /// save of another host is a leftover as soon as its blobs are up) a sweep can list a save's blobs after its
    /// refresh and delete them with a matching ETag before its record lands; so a shorter value is raised to it (tests
    /// set <see cref="SweepGrace"/> directly). One too large for a time span ("Infinity", meant as "never") threw from
    /// every handler's construction; it is held to a century, which a sweep can still subtract from now.
    /// </remarks>
    internal static BlobSettings WithGrace(string? seconds)
    {
        var defaults = new BlobSettings();
        if (!double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !(value >= 0))
        {
            return defaults;
        }

        var longest = TimeSpan.FromDays(36525);
        var grace = value >= longest.TotalSeconds ? longest : TimeSpan.FromSeconds(value);
        return defaults with { SweepGrace = grace < defaults.ShortestSafeGrace ? defaults.ShortestSafeGrace : grace };
    }
}
