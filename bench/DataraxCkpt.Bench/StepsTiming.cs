using System.Diagnostics;
using System.Globalization;

namespace DataraxCkpt.Bench;

/// <summary>
/// The bench's (d) "list step numbers" alone, <c>handler.GetCheckpointSteps(dir)</c> after the same forced compacting
/// collection as <see cref="Measure.Run"/>, repeated on one store, for comparing two builds run alternately
/// (docs/performance-notes.md, round 45): per listing the wall time and the process's and calling thread's CPU time;
/// medians and minimums after two warm-ups. DataraxCkpt.Bench stepstime DIR [REPS] (DIR built by
/// <c>DataraxCkpt.Bench store DIR STEPS</c>).
/// </summary>
internal static class StepsTiming
{
    public static int Run(string directory, int repetitions)
    {
        if (repetitions < 1 || !Directory.Exists(directory))
        {
            // A timing of "0 steps" from a mistyped folder would read as a measurement.
            Console.Error.WriteLine($"stepstime: need an existing checkpoint directory and at least one repetition (got '{directory}', {repetitions})");
            return 2;
        }

        using var handler = new CheckpointHandler();
        using var process = Process.GetCurrentProcess();
        var wall = new List<double>();
        var cpu = new List<double>();
        var own = new List<double>();
        var count = -1;
        for (var rep = -2; rep < repetitions; rep++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            process.Refresh();
            var cpuBefore = process.TotalProcessorTime;
            var threadBefore = SmallLeavesProfile.ThreadCpu();
            var clock = Stopwatch.StartNew();
            var steps = handler.GetCheckpointSteps(directory);
            var elapsed = clock.Elapsed.TotalMilliseconds;
            var thread = (SmallLeavesProfile.ThreadCpu() - threadBefore).TotalMilliseconds;
            process.Refresh();
            var used = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds;
            if (count >= 0 && steps.Count != count)
            {
                throw new InvalidOperationException($"listed {steps.Count} steps, expected {count}");
            }

            count = steps.Count;
            if (rep >= 0)
            {
                wall.Add(elapsed);
                cpu.Add(used);
                own.Add(thread);
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{count:N0} steps, {repetitions} listings, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}: wall {Measure.Median(wall):F2} (min {wall.Min():F2}) ms, "
            + $"process CPU {Measure.Median(cpu):F2} (min {cpu.Min():F2}) ms, thread CPU {Measure.Median(own):F2} (min {own.Min():F2}) ms"));
        return 0;
    }
}
