using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>Readers and writers on different hosts at once: no lock exists remotely, so reads must cope.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobReadRaceTests
{
    private sealed class Immediate : IProgress<CheckpointProgress>
    {
        private readonly Action<CheckpointProgress> _report;

        public Immediate(Action<CheckpointProgress> report) => _report = report;

        public void Report(CheckpointProgress value) => _report(value);
    }

    /// <summary>
    /// Many 4 MiB chunks, so a restore reports progress before it ends: a remote restore reports once per batch of
    /// 64 MiB (eight ranged GETs of two chunks in flight), so 120 MB is two batches.
    /// </summary>
    private static Dictionary<string, object?> Large(int seed)
    {
        var random = new Random(seed);
        var w = new float[30_000_000];
        for (var i = 0; i < w.Length; i++)
        {
            w[i] = (float)random.NextDouble();
        }

        return new Dictionary<string, object?> { ["w"] = w, ["seed"] = seed };
    }

    [Fact]
    public void A_restore_racing_an_overwrite_on_another_host_returns_one_whole_version()
    {
        var location = AzuriteFixture.NewLocation();
        using (var writer = BlobTest.Handler())
        {
            writer.Save(location, Large(1), step: 1);
        }

        var replaced = false;
        using var other = BlobTest.Handler();
        using var reader = BlobTest.Handler(options: new CheckpointOptions
        {
            Progress = new Immediate(p =>
            {
                if (!replaced && p.Operation == "Restore" && p.BytesDone > 0)
                {
                    replaced = true;
                    other.Save(location, Large(2), step: 1, overwrite: true);
                }
            }),
        });
        var restored = (IDictionary<string, object?>)reader.Restore(location, 1)!;
        Assert.True(replaced);
        Assert.Null(StateComparer.FirstDifference(Large(2), restored));
    }

    [Fact]
    public void A_restore_racing_a_removal_on_another_host_reports_the_step_gone()
    {
        var location = AzuriteFixture.NewLocation();
        using (var writer = BlobTest.Handler())
        {
            writer.Save(location, Large(1), step: 1);
            writer.Save(location, BlobTest.State(2), step: 2);
        }

        var removed = false;
        using var other = BlobTest.Handler();
        using var reader = BlobTest.Handler(options: new CheckpointOptions
        {
            Progress = new Immediate(p =>
            {
                if (!removed && p.Operation == "Restore" && p.BytesDone > 0)
                {
                    removed = true;
                    other.Remove(location, 1);
                }
            }),
        });
        Assert.Throws<StepNotFoundException>(() => reader.Restore(location, 1));
        Assert.True(removed);
    }

    [Fact]
    public void A_cancelled_remote_save_publishes_nothing_and_leaves_no_blobs()
    {
        var location = AzuriteFixture.NewLocation();
        using var cancel = new CancellationTokenSource();
        using var handler = BlobTest.Handler(options: new CheckpointOptions
        {
            Progress = new Immediate(p =>
            {
                if (p.Operation == "Save" && p.BytesDone > 0)
                {
                    cancel.Cancel();
                }
            }),
        });
        handler.Save(location, BlobTest.State(1), step: 1);
        Assert.ThrowsAny<OperationCanceledException>(() => handler.Save(location, Large(2), step: 2, cancellationToken: cancel.Token));
        Assert.Equal(new long[] { 1 }, handler.GetCheckpointSteps(location));
        Assert.Equal(3, BlobTest.BlobNames(location).Count);
    }

    [Fact]
    public void Asynchronous_saves_to_a_remote_location_commit_in_order()
    {
        var location = AzuriteFixture.NewLocation();
        using var handler = BlobTest.Handler(options: new CheckpointOptions { Async = true });
        for (var step = 1; step <= 4; step++)
        {
            var queued = handler.Save(location, BlobTest.State(step), step: step, keep: 2);
            Assert.Equal(step, queued.Step);
        }

        handler.WaitUntilFinished();
        Assert.Equal(new long[] { 3, 4 }, handler.GetCheckpointSteps(location));
        Assert.Null(StateComparer.FirstDifference(BlobTest.State(4), handler.Restore(location)));
    }
}
