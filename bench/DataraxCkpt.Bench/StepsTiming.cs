using System.Globalization;

namespace DataraxCkpt.Bench;

/// <summary>
/// The bench's (d) "list step numbers" alone, <c>handler.GetCheckpointSteps(dir)</c> repeated on one store (the loop of
/// <see cref="ListingRepetitions"/>), for comparing two builds run alternately (docs/performance-notes.md, round 45): per
/// listing the wall time and the process's and calling thread's CPU time; medians and minimums after two warm-ups.
/// DataraxCkpt.Bench stepstime DIR [REPS] (DIR built by <c>DataraxCkpt.Bench store DIR STEPS</c>).
/// </summary>
internal static class StepsTiming
{
    public static int Run(string directory, int repetitions)
    {
        var timing = ListingRepetitions.Run("stepstime", "steps", directory, repetitions, (handler, dir) => handler.GetCheckpointSteps(dir), steps => steps.Count);
        if (timing is null)
        {
            return 2;
        }

        var (wall, cpu, own) = (timing.Wall, timing.ProcessCpu, timing.ThreadCpu);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{timing.Count:N0} steps, {repetitions} listings, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}: wall {Measure.Median(wall):F2} (min {wall.Min():F2}) ms, "
            + $"process CPU {Measure.Median(cpu):F2} (min {cpu.Min():F2}) ms, thread CPU {Measure.Median(own):F2} (min {own.Min():F2}) ms"));
        return 0;
    }
}
