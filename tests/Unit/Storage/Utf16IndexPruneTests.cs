using System.Collections.Concurrent;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A prune of more than 256 steps reads its removed rows in one pass through SQLite's API. It read the save id and
/// metadata columns as blobs, which on a UTF-16 index (<see cref="Utf16IndexListingTests"/>) are the stored UTF-16
/// bytes: every save id was 64 bytes, not 32 hex digits, and the whole prune failed as index damage (session 14's debt;
/// the listing had the same fault, fixed by list14). Read as text, the prune removes them and reports their metadata.
/// </summary>
public sealed class Utf16IndexPruneTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_prune_of_many_steps_of_a_UTF16_index_removes_them_and_reports_their_metadata_and_steps()
    {
        const int steps = 300;
        var ck = _dir.Sub("ck");
        using (var h = new CheckpointHandler())
        {
            for (var s = 1; s <= steps; s++)
            {
                h.Save(ck, new Dictionary<string, object?> { ["v"] = s }, step: s,
                    metadata: s % 3 == 0 ? null : new Dictionary<string, object?> { ["loss"] = 1.0 / s, ["name"] = "é€😀" + (s / 100) });
            }
        }

        Utf16IndexListingTests.MakeUtf16(ck, _dir.Sub("copy"));
        var log = new ConcurrentQueue<string>();
        using var handler = new CheckpointHandler(new CheckpointOptions { Log = log.Enqueue });
        var expected = handler.ListCheckpoints(ck).Take(steps - 1).Select(Describe).ToList();
        Assert.Equal("1 loss=1,name=é€😀0", expected[0]);

        var removed = handler.Prune(ck, new RetentionPolicy { Keep = 1 });
        Assert.Equal(expected, removed.Select(Describe));
        Assert.Equal(new long[] { steps }, handler.GetCheckpointSteps(ck));
        Assert.Equal(steps - 1, log.Count(m => m.StartsWith("Removed step ", StringComparison.Ordinal) && m.EndsWith("(retention).", StringComparison.Ordinal)));
        Assert.True(handler.Verify(ck, steps).Ok);
        Assert.Equal(new[] { steps.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            Directory.GetDirectories(ck).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).ToArray());
    }

    private static string Describe(CheckpointInfo i) => $"{i.Step} {string.Join(",", i.Metadata.Select(m => $"{m.Key}={m.Value}"))}";
}
