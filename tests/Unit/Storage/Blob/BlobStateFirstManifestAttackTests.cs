using System.Collections;
using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// Attack (session 24) on the state-first manifest uploaded from the frame built in memory (round 69): a manifest of
/// several 4 MiB LZ4 blocks goes up as 1 MiB blob blocks; its first and a later block PUT each fail once (retried) and
/// the step still restores exactly and verifies (the hash recorded is of the bytes the store holds); when every manifest
/// PUT fails, nothing is listed and the next save works.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobStateFirstManifestAttackTests
{
    private static Hashtable BigState()
    {
        var random = new Random(24);
        var state = new Hashtable();
        for (var i = 0; i < 150_000; i++)
        {
            state["k" + i] = random.Next(2) == 0 ? random.Next() : (object)("v" + random.NextDouble().ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        // Incompressible enough to need several 4 MiB blocks and several 1 MiB blob blocks.
        var bytes = new byte[9_000_000];
        random.NextBytes(bytes);
        state["blob"] = Convert.ToBase64String(bytes);
        return state;
    }

    private static bool ManifestPut(Azure.Core.HttpMessage m) =>
        m.Request.Method.ToString() == "PUT" && m.Request.Uri.Path.EndsWith("/manifest.json.lz4", StringComparison.Ordinal);

    [Fact]
    public void A_multi_block_manifest_upload_with_retried_blocks_restores_and_verifies()
    {
        var location = AzuriteFixture.NewLocation();
        var state = BigState();
        var seen = 0;
        var fault = new FaultPolicy(m => ManifestPut(m) && (Interlocked.Increment(ref seen) is 1 or 4), times: 2);
        using (var handler = BlobTest.Handler(new BlobSettings { TestPolicy = fault, MaxRetries = 3, RetryDelay = TimeSpan.FromMilliseconds(10), BlockSize = 1 << 20 }))
        {
            handler.Save(location, state, step: 1);
            Assert.Equal(2, fault.Injected);
        }

        using var reader = BlobTest.Handler();
        var back = (IDictionary)reader.Restore(location, 1)!;
        Assert.Equal(state.Count, back.Count);
        Assert.Equal(state["blob"], back["blob"]);
        Assert.Equal(state["k149999"], back["k149999"]);
        Assert.True(reader.Verify(location, 1).Ok);
    }

    [Fact]
    public void A_manifest_upload_that_keeps_failing_lists_nothing_and_the_next_save_works()
    {
        var location = AzuriteFixture.NewLocation();
        var state = BigState();
        var fault = new FaultPolicy(ManifestPut, times: 1000);
        using (var failing = BlobTest.Handler(new BlobSettings { TestPolicy = fault, MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(10), BlockSize = 1 << 20 }))
        {
            Assert.ThrowsAny<Exception>(() => failing.Save(location, state, step: 1));
        }

        using var handler = BlobTest.Handler();
        Assert.Empty(handler.GetCheckpointSteps(location));
        handler.Save(location, state, step: 1);
        Assert.Equal(state["blob"], ((IDictionary)handler.Restore(location, 1)!)["blob"]);
        Assert.True(handler.Verify(location, 1).Ok);
    }
}
