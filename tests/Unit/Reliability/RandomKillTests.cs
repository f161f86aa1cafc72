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
        int killed = 0, finished = 0, survived = 0, stepsChecked = 0;
        long next = 0;
        for (var round = 0; round < kills; round++)
        {
            // .NET starts in ~0.2 s and a 2 MiB save takes tens of ms: this spreads kills over startup,
            // writes, commits and pruning.
            var delay = random.Next(150, 1500);
            using (var child = Harness.Start(null, "loop", ck, next.ToString(CultureInfo.InvariantCulture), "1000",
                Seed.ToString(CultureInfo.InvariantCulture), Megabytes.ToString(CultureInfo.InvariantCulture)))
            {
                if (child.WaitForExit(delay))
                {
                    // A thousand saves never finish within the delay: an early exit is a failed save.
                    finished++;
                    Assert.Fail($"round {round}: the saving loop exited {child.ExitCode} on its own: {child.StandardError.ReadToEnd()}");
                }
                else
                {
                    child.Kill();
                    child.WaitForExit();
                    killed++;
                }
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
            $"rounds {kills}, killed mid-run {killed}, child finished first {finished}, survived {survived}, listed steps restored exactly {stepsChecked}");
        Assert.True(killed > 0, "no round killed the child mid-run; the delays no longer hit the save loop");
    }
}
