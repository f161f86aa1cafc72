using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>Many hosts on one remote store, kills and leftovers: child processes stand for hosts.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobConcurrencyTests
{
    private readonly AzuriteFixture _azurite;

    public BlobConcurrencyTests(AzuriteFixture azurite) => _azurite = azurite;

    private static (int Code, string Output)[] RunTogether(params string[][] commands)
    {
        var processes = commands.Select(c => Harness.Start(null, c)).ToList();
        try
        {
            return processes.Select(p =>
            {
                var output = p.StandardOutput.ReadToEndAsync();
                var errors = p.StandardError.ReadToEndAsync();
                Assert.True(p.WaitForExit(TimeSpan.FromMinutes(3)), "a harness process did not finish in 3 minutes");
                return (p.ExitCode, output.Result + errors.Result);
            }).ToArray();
        }
        finally
        {
            foreach (var p in processes)
            {
                p.Dispose();
            }
        }
    }

    [Fact]
    public void Two_hosts_saving_the_same_step_have_exactly_one_winner_and_the_loser_leaves_nothing()
    {
        var location = AzuriteFixture.NewLocation();
        for (var round = 0; round < 3; round++)
        {
            var step = round.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var results = RunTogether(["save", location, step, "1", "8"], ["save", location, step, "2", "8"]);
            Assert.Single(results, r => r.Code == 0);
            var loser = Assert.Single(results, r => r.Code != 0);
            Assert.Equal(3, loser.Code);
            Assert.Contains("StepExists", loser.Output, StringComparison.Ordinal);
        }

        using var handler = BlobTest.Handler();
        Assert.Equal(new long[] { 0, 1, 2 }, handler.GetCheckpointSteps(location));
        foreach (var step in new long[] { 0, 1, 2 })
        {
            var restored = handler.Restore(location, step);
            // The winner's state whole, either seed, never a mix.
            Assert.True(StateComparer.FirstDifference(HarnessState.Create(step, 1, 8), restored) is null
                || StateComparer.FirstDifference(HarnessState.Create(step, 2, 8), restored) is null);
            Assert.True(handler.Verify(location, step).Ok);
        }

        // The losers deleted their blobs: one data and one manifest blob per committed step.
        Assert.Equal(6, BlobTest.BlobNames(location).Count(n => n.Contains("/data/", StringComparison.Ordinal)));
    }

    [Fact]
    public void Two_hosts_saving_distinct_steps_both_commit()
    {
        var location = AzuriteFixture.NewLocation();
        var results = RunTogether(["save", location, "10", "1", "8"], ["save", location, "11", "2", "8"]);
        Assert.All(results, r => Assert.True(r.Code == 0, r.Output));
        using var handler = BlobTest.Handler();
        Assert.Equal(new long[] { 10, 11 }, handler.GetCheckpointSteps(location));
        Assert.Null(StateComparer.FirstDifference(HarnessState.Create(10, 1, 8), handler.Restore(location, 10)));
        Assert.Null(StateComparer.FirstDifference(HarnessState.Create(11, 2, 8), handler.Restore(location, 11)));
    }

    [Fact]
    public async Task A_prune_racing_saves_never_removes_a_pinned_step_the_newest_or_a_step_being_written()
    {
        var location = AzuriteFixture.NewLocation();
        using (var first = BlobTest.Handler())
        {
            first.Save(location, BlobTest.State(0), step: 0);
            first.SetPinned(location, 0, true);
        }

        using var stop = new CancellationTokenSource();
        var removedWhileSaving = new List<long>();
        var pruner = Task.Run(() =>
        {
            using var ops = BlobTest.Handler();
            while (!stop.IsCancellationRequested)
            {
                removedWhileSaving.AddRange(ops.Prune(location, new RetentionPolicy { Keep = 2 }).Select(i => i.Step));
            }
        });
        using (var trainer = BlobTest.Handler())
        {
            for (var step = 1; step <= 15; step++)
            {
                var info = trainer.Save(location, BlobTest.State(step, floats: 200_000), step: step);
                Assert.Equal(step, info.Step);
            }
        }

        stop.Cancel();
        await pruner;
        using var handler = BlobTest.Handler();
        handler.Prune(location, new RetentionPolicy { Keep = 2 });
        var steps = handler.GetCheckpointSteps(location);
        Assert.Equal(new long[] { 0, 14, 15 }, steps);
        Assert.DoesNotContain(0L, removedWhileSaving);
        Assert.All(steps, s => Assert.True(handler.Verify(location, s).Ok));
        // Every removed step's blobs went with it: 3 steps, 2 blobs each.
        Assert.Equal(6, BlobTest.BlobNames(location).Count(n => n.Contains("/data/", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("save.data.chunk-written@3")]
    [InlineData("blob.before-commit")]
    public void A_save_killed_during_upload_lists_nothing_and_its_leftovers_are_swept_after_the_grace_period(string fault)
    {
        var location = AzuriteFixture.NewLocation();
        using (var handler = BlobTest.Handler())
        {
            handler.Save(location, BlobTest.State(1), step: 1);
        }

        var (code, output) = Harness.Run(fault, "save", location, "2", "1", "8");
        Assert.True(code == Harness.Killed, $"the harness was not killed ({code}): {output}");
        using (var patient = BlobTest.Handler(new BlobSettings { SweepGrace = TimeSpan.FromHours(1) }))
        {
            Assert.Equal(new long[] { 1 }, patient.GetCheckpointSteps(location));
            // A later save works, and a sweep within the grace period leaves the killed save's blobs alone.
            patient.Save(location, BlobTest.State(3), step: 3);
            Assert.Empty(patient.RepairIndex(location).LeftoversRemoved);
        }

        var leftovers = BlobTest.BlobNames(location).Where(n => n.Contains("/data/00000000000000000002-", StringComparison.Ordinal)).ToList();
        if (fault == "blob.before-commit")
        {
            Assert.Equal(2, leftovers.Count);
        }

        using (var later = BlobTest.Handler(new BlobSettings { SweepGrace = TimeSpan.Zero }))
        {
            later.Save(location, BlobTest.State(2), step: 2);
            Assert.Equal(new long[] { 1, 2, 3 }, later.GetCheckpointSteps(location));
            Assert.Null(StateComparer.FirstDifference(BlobTest.State(2), later.Restore(location, 2)));
        }

        // Only committed saves' blobs remain, the committed steps' untouched by the sweep.
        Assert.Equal(6, BlobTest.BlobNames(location).Count(n => n.Contains("/data/", StringComparison.Ordinal)));
        using var check = BlobTest.Handler();
        Assert.All(new long[] { 1, 2, 3 }, s => Assert.True(check.Verify(location, s).Ok));
    }

    [Fact]
    public void Repair_sweeps_leftovers_older_than_the_grace_period_and_rebuilds_the_cache()
    {
        var location = AzuriteFixture.NewLocation();
        using (var handler = BlobTest.Handler())
        {
            handler.Save(location, BlobTest.State(1), step: 1);
        }

        var (code, _) = Harness.Run("blob.before-commit", "save", location, "2", "1", "8");
        Assert.Equal(Harness.Killed, code);
        using var sweeping = BlobTest.Handler(new BlobSettings { SweepGrace = TimeSpan.Zero });
        var dry = sweeping.RepairIndex(location, dryRun: true);
        Assert.Single(dry.LeftoversRemoved);
        Assert.Equal(5, BlobTest.BlobNames(location).Count);
        var report = sweeping.RepairIndex(location);
        Assert.Single(report.LeftoversRemoved);
        Assert.StartsWith("data/00000000000000000002-", report.LeftoversRemoved[0], StringComparison.Ordinal);
        Assert.Equal(new long[] { 1 }, report.StepsIndexed);
        Assert.Equal(3, BlobTest.BlobNames(location).Count);
    }
}
