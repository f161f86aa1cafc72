using System.Globalization;
using DataraxCkpt.Tests.Support;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests.Reliability;

/// <summary>
/// Guarantees 1 and 4 under SIGKILL at instants nobody chose: a child saves 2 MiB steps in a loop with
/// keep 3 (so saves, commits and retention removals are all in flight) and is killed after a seeded
/// random delay. After every kill a fresh handler must find only whole steps, each restoring exactly,
/// and the next write must sweep every leftover. The named-point matrix is in CrashTests.
/// </summary>
[Trait("Category", "Reliability")]
[Collection(HeavyReliabilityCollection.Name)]
public sealed class RandomKillTests : IDisposable
{
    private const int Seed = 23;
    private const int Megabytes = 2;
    private readonly TempDirectory _dir = new();
    private readonly ITestOutputHelper _output;

    public RandomKillTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Random_time_kills_of_a_saving_loop_never_leave_a_partial_step_and_the_next_write_sweeps_leftovers()
    {
        var ck = _dir.Sub("ck");
        var random = new Random(ReliabilityScale.Seed);
        var kills = ReliabilityScale.Kills;
        int killed = 0, survived = 0, stepsChecked = 0, savesBeforeKills = 0;
        long next = 0;
        for (var round = 0; round < kills; round++)
        {
            // The delay counts from the child's first "saved" line, never from process start: a kill
            // during .NET start-up (or the first, JIT-bound save on a loaded machine) proves nothing
            // about the save loop. A 2 MiB save then takes 0.1–0.3 s, so 0–1000 ms spreads kills over
            // writes, commits and pruning (keep 3 removes a step on every save from the fourth on).
            var delay = random.Next(0, 1000);
            var saves = 0;
            using (var child = Harness.Start(null, "loop", ck, next.ToString(CultureInfo.InvariantCulture), "1000",
                Seed.ToString(CultureInfo.InvariantCulture), Megabytes.ToString(CultureInfo.InvariantCulture)))
            {
                using var firstSave = new ManualResetEventSlim();
                child.OutputDataReceived += (_, e) =>
                {
                    if (e.Data?.StartsWith("saved ", StringComparison.Ordinal) == true)
                    {
                        Interlocked.Increment(ref saves);
                        firstSave.Set();
                    }
                };
                child.BeginOutputReadLine();
                var stderr = new System.Text.StringBuilder();
                child.ErrorDataReceived += (_, e) =>
                {
                    lock (stderr)
                    {
                        stderr.AppendLine(e.Data);
                    }
                };
                child.BeginErrorReadLine();
                Assert.True(firstSave.Wait(TimeSpan.FromMinutes(1)) || child.HasExited, $"round {round}: the child saved nothing within a minute");
                Assert.False(child.WaitForExit(delay), $"round {round}: the saving loop exited on its own before the kill: {stderr}");
                child.Kill();
                child.WaitForExit();
                killed++;
                savesBeforeKills += Volatile.Read(ref saves);
            }

            using (var fresh = new CheckpointHandler())
            {
                var listed = fresh.GetCheckpointSteps(ck);
                Assert.True(listed.Count <= 4, $"round {round}: retention keeps 3 (+1 mid-commit) but {listed.Count} are listed");
                foreach (var step in listed)
                {
                    StoreAssert.RestoresExactly(fresh, ck, step, Seed, Megabytes);
                    Assert.True(fresh.Verify(ck, step).Ok, $"round {round}: step {step} fails verification");
                    stepsChecked++;
                }

                // The next write finishes or rolls back whatever the kill interrupted, then sweeps it. A
                // step published but not yet indexed is invisible to readers until then and is rolled
                // forward by that write, so the next number is past every numbered folder too.
                var folders = Directory.GetDirectories(ck).Select(Path.GetFileName)
                    .Where(n => n!.Length > 0 && n.All(char.IsAsciiDigit)).Select(n => long.Parse(n!, CultureInfo.InvariantCulture));
                next = Math.Max(fresh.LatestStep(ck) ?? -1, folders.DefaultIfEmpty(-1).Max()) + 1;
                fresh.Save(ck, HarnessState.Create(next, Seed, Megabytes), step: next, keep: 3);
                next++;
            }

            StoreAssert.NoLeftovers(ck);
            survived++;
        }

        StoreAssert.Figure(_output, 1, "random-time SIGKILL of a saving loop",
            $"rounds {kills}, killed inside the save loop (after its first save) {killed}, saves the killed children completed {savesBeforeKills}, survived {survived}, listed steps restored exactly {stepsChecked}");
        Assert.Equal(kills, killed);
    }
}
