using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DataraxCkpt.Tests.Support;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests.Reliability;

/// <summary>
/// Guarantee 5 under load: separate processes (tests/CrashHarness LoadWorker) share one directory for a
/// bounded time — writers saving distinct steps, two racers saving the same steps, an overwriter
/// replacing one step, a pruner with keep, readers listing and restoring. Every participant journals
/// what it committed with a digest; afterwards every surviving step must restore exactly its writer's
/// bytes, every contested step must have exactly one winner, the only failures anyone saw must be
/// StepExists on contested steps, and no reader may have seen mixed or partial data.
/// </summary>
[Trait("Category", "Reliability")]
[Collection(HeavyReliabilityCollection.Name)]
public sealed class ConcurrentLoadTests : IDisposable
{
    private const int Tensors = 2;
    private const int Floats = 16384; // 64 KiB tensors: many operations per second on two cores
    private readonly TempDirectory _dir = new();
    private readonly ITestOutputHelper _output;

    public ConcurrentLoadTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Concurrent_writers_racers_pruner_and_readers_lose_nothing_and_never_see_mixed_data()
    {
        var ck = _dir.Sub("ck");
        var journal = _dir.Sub("journal");
        Directory.CreateDirectory(journal);
        Directory.CreateDirectory(ck); // the pruner and readers may start before the first save
        var seconds = ReliabilityScale.LoadSeconds;
        var participants = new List<(string Role, string Name, int Seed, string[] Extra)>
        {
            ("writer", "writer0", 100, ["0", "2"]),
            ("writer", "writer1", 101, ["1", "2"]),
            ("racer", "racerA", 200, []),
            ("racer", "racerB", 201, []),
            ("overwriter", "overwriter", 300, []),
            ("pruner", "pruner", 400, []),
            ("reader", "reader0", 500, []),
            ("reader", "reader1", 501, []),
        };

        var clock = Stopwatch.StartNew();
        var processes = participants.Select(p => Harness.Start(null, [
            "worker", ck, journal, p.Role, p.Name, seconds.ToString(CultureInfo.InvariantCulture),
            p.Seed.ToString(CultureInfo.InvariantCulture), Tensors.ToString(CultureInfo.InvariantCulture),
            Floats.ToString(CultureInfo.InvariantCulture), .. p.Extra])).ToList();
        var outputs = processes.Select(p => (Out: p.StandardOutput.ReadToEndAsync(), Err: p.StandardError.ReadToEndAsync())).ToList();
        foreach (var (p, i) in processes.Select((p, i) => (p, i)))
        {
            if (!p.WaitForExit(TimeSpan.FromSeconds(seconds + 120)))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail($"{participants[i].Name} did not finish");
            }

            var text = await outputs[i].Out + await outputs[i].Err;
            Assert.True(p.ExitCode == 0, $"{participants[i].Name} exited {p.ExitCode}: {text}");
            p.Dispose();
        }

        var elapsed = clock.Elapsed.TotalSeconds;
        var errors = Directory.GetFiles(journal, "*.errors").SelectMany(File.ReadAllLines).ToList();
        Assert.True(errors.Count == 0, "participants saw unexpected outcomes:\n" + string.Join("\n", errors.Take(20)));

        long ops = 0, lostRaces = 0, vanished = 0;
        foreach (var file in Directory.GetFiles(journal, "*.summary"))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            ops += doc.RootElement.GetProperty("ops").GetInt64();
            lostRaces += doc.RootElement.GetProperty("lost").GetInt64();
            vanished += doc.RootElement.GetProperty("vanished").GetInt64();
        }

        Assert.Equal(participants.Count, Directory.GetFiles(journal, "*.summary").Length);

        // Who committed what: <step>.<name>.win holds "seed tensors floats digest".
        var wins = Directory.GetFiles(journal, "*.win").Select(f => Path.GetFileName(f))
            .GroupBy(n => long.Parse(n!.Split('.')[0], CultureInfo.InvariantCulture))
            .ToDictionary(g => g.Key, g => g.ToList());
        var contested = Directory.GetFiles(journal, "*.lost").Concat(Directory.GetFiles(journal, "*.win"))
            .Select(f => long.Parse(Path.GetFileName(f).Split('.')[0], CultureInfo.InvariantCulture))
            .Where(s => s >= LoadWorker.RacerBase).Distinct().ToList();
        foreach (var step in contested)
        {
            var winners = wins.TryGetValue(step, out var w) ? w.Count : 0;
            Assert.True(winners == 1, $"contested step {step} has {winners} winners");
        }

        foreach (var lost in Directory.GetFiles(journal, "*.lost"))
        {
            Assert.Equal("StepExists", File.ReadAllText(lost));
        }

        Assert.All(wins, p => Assert.True(p.Value.Count == 1, $"step {p.Key} was committed by {string.Join(", ", p.Value)}"));

        // Every surviving step restores exactly its writer's bytes.
        long checkedSteps = 0, lostSteps = 0;
        using (var h = new CheckpointHandler())
        {
            var listed = h.GetCheckpointSteps(ck);
            foreach (var step in listed)
            {
                string expectedDigest;
                if (step == LoadWorker.OverwriteStep)
                {
                    expectedDigest = File.ReadAllText(Directory.GetFiles(journal, "ow.*.last").Single()).Split(' ')[2];
                }
                else
                {
                    Assert.True(wins.ContainsKey(step), $"step {step} is listed but no participant committed it");
                    expectedDigest = File.ReadAllText(Path.Combine(journal, wins[step][0])).Split(' ')[3];
                }

                var restored = Assert.IsType<Dictionary<string, object?>>(h.Restore(ck, step));
                Assert.True(HarnessDigest.Of(restored) == expectedDigest, $"step {step} does not restore its writer's bytes");
                Assert.True(h.Verify(ck, step).Ok);
                checkedSteps++;
            }

            // Retention keeps every 5th step, so each such committed step must still be there.
            foreach (var step in wins.Keys.Where(s => s % LoadWorker.PruneKeepEvery == 0 && !listed.Contains(s)))
            {
                lostSteps++;
                _output.WriteLine($"committed step {step} is kept by the policy but missing");
            }
        }

        StoreAssert.NoLeftovers(ck);
        StoreAssert.Figure(_output, 5, "multi-process load (8 processes: 2 writers, 2 racers, overwriter, pruner, 2 readers)",
            $"{seconds} s, operations done {ops} ({ops / elapsed:0.0}/s held), steps committed {wins.Count}, contested steps {contested.Count} " +
            $"(lost races = StepExists {lostRaces}), restores of pruned steps {vanished}, surviving steps checked {checkedSteps}, operations lost {lostSteps}, unexpected errors {errors.Count}");
        Assert.Equal(0, lostSteps);
        Assert.True(contested.Count > 0 && lostRaces > 0, "the racers never contested a step");
    }
}
