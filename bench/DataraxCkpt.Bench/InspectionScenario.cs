using System.Globalization;

namespace DataraxCkpt.Bench;

/// <summary>
/// Scenario (i), issue 16: statistics over a step of normal float32 tensors (1 GiB by default) against a
/// restore of the same step, and a numeric diff of two such steps against restoring both; both against
/// numpy computing the same on arrays already in memory. <c>DATARAXCKPT_BENCH_INSPECT_MIB</c> sets the
/// step's size (a small value proves the scenario runs; the figures come from the default).
/// </summary>
internal static class InspectionScenario
{
    private const int TensorCount = 8;
    public const string SizeVariable = "DATARAXCKPT_BENCH_INSPECT_MIB";

    public static ScenarioReport Run(int repetitions, string work, int pairs = TensorScenario.DefaultPairs)
    {
        var mib = int.TryParse(Environment.GetEnvironmentVariable(SizeVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m >= 8 ? m : 1024;
        var elements = (int)((long)mib * 1024 * 1024 / sizeof(float) / TensorCount);
        var report = new ScenarioReport
        {
            Scenario = "i",
            Title = $"statistics and numeric diff over {mib} MiB of normal float32 ({TensorCount} tensors)",
            Repetitions = repetitions,
            Pairs = pairs,
        };
        if (mib != 1024)
        {
            report.Notes.Add($"{SizeVariable}={mib}: a reduced size; the issue's targets are for 1024 MiB");
        }

        var tensors = StateData.Tensors(TensorCount, elements, bf16Like: false);
        var bytes = StateData.TotalBytes(tensors);
        var ck = Path.Combine(work, "ck");
        using var handler = new CheckpointHandler();
        handler.Save(ck, StateOf(tensors), step: 1);
        var input1 = Path.Combine(work, "input1.bin");
        StateData.WriteConcatenated(input1, tensors);

        // Step 2: every third element moved a little, so a diff has real work in every chunk.
        foreach (var t in tensors)
        {
            for (var i = 0; i < t.Length; i += 3)
            {
                t[i] *= 1.001f;
            }
        }

        handler.Save(ck, StateOf(tensors), step: 2);
        var input2 = Path.Combine(work, "input2.bin");
        StateData.WriteConcatenated(input2, tensors);
        tensors = null!;
        GC.Collect();

        using var python = PythonBaselines.Start();
        python.Call("load_tensors", ("path", input1), ("count", TensorCount));
        python.Call("load_tensors2", ("path", input2), ("count", TensorCount));
        TensorScenario.NoteBaselines(report, python);

        IReadOnlyList<TensorStatistics>? stats = null;
        IReadOnlyList<TensorDifference>? diff = null;
        object? restored = null;
        void Restore() => restored = handler.Restore(ck, 1);
        void Statistics() => stats = handler.GetStatistics(ck, 1);
        void RestoreBoth()
        {
            restored = handler.Restore(ck, 1);
            restored = handler.Restore(ck, 2);
        }

        void Diff() => diff = handler.CompareNumeric(ck, 1, 2);

        // One unmeasured pair of each first (JIT, first touch of the restore's fresh arrays), then the measured
        // pairs, adjacent in time, which side goes first alternating: the targets take the median of the
        // per-pair ratios.
        // As in the measured pairs, the restored arrays are let go after each restore: held, they stayed resident under
        // the next first calls (and a first restore of both steps ran with the same step's arrays still referenced).
        // The setup wrote two steps and two input files: their writeback is not left to run under the timed reads.
        Writeback.Flush();
        var first = new Sample[4];
        first[0] = Measure.Run(Restore);
        restored = null;
        first[1] = Measure.Run(Statistics);
        first[2] = Measure.Run(RestoreBoth);
        restored = null;
        first[3] = Measure.Run(Diff);
        foreach (var name in new[] { "DataraxCkpt restore of the same step", "DataraxCkpt statistics", "DataraxCkpt restore of both steps", "DataraxCkpt numeric diff" })
        {
            report.Row(name, name.Contains("both", StringComparison.Ordinal) || name.Contains("diff", StringComparison.Ordinal) ? 2 * bytes : bytes);
        }

        // Kept out of the times, not out of the peaks: the peak RSS targets hold each operation's first call too.
        report.Row("DataraxCkpt restore of the same step", bytes).AddUnmeasured(first[0]);
        report.Row("DataraxCkpt statistics", bytes).AddUnmeasured(first[1]);
        report.Row("DataraxCkpt restore of both steps", 2 * bytes).AddUnmeasured(first[2]);
        report.Row("DataraxCkpt numeric diff", 2 * bytes).AddUnmeasured(first[3]);

        for (var pair = 0; pair < pairs; pair++)
        {
            var engineFirst = pair % 2 == 0;
            for (var side = 0; side < 2; side++)
            {
                if ((side == 0) == engineFirst)
                {
                    report.Row("DataraxCkpt statistics", bytes).Add(Measure.Run(Statistics));
                }
                else
                {
                    report.Row("DataraxCkpt restore of the same step", bytes).Add(Measure.Run(Restore));
                    restored = null;
                }
            }

            for (var side = 0; side < 2; side++)
            {
                if ((side == 0) == engineFirst)
                {
                    report.Row("DataraxCkpt numeric diff", 2 * bytes).Add(Measure.Run(Diff));
                }
                else
                {
                    report.Row("DataraxCkpt restore of both steps", 2 * bytes).Add(Measure.Run(RestoreBoth));
                    restored = null;
                }
            }
        }

        report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"engine rows: {pairs} measured pairs per comparison (the engine's inspection first in every other pair), after one unmeasured call of each (its peak RSS counts in the rows' peaks) (s): restore {first[0].Seconds:F3}, statistics {first[1].Seconds:F3}, restore of both steps {first[2].Seconds:F3}, numeric diff {first[3].Seconds:F3}"));

        report.Notes.Add(Writeback.Note("once after the setup, before every timed call (engine and numpy alike)"));

        // numpy (seconds a call): a few repetitions, medians; its targets are ratios of medians.
        for (var rep = 0; rep < repetitions; rep++)
        {
            if (python.Call("np_stats") is Sample npStats)
            {
                report.Row("numpy statistics on restored arrays", bytes).Add(npStats);
            }

            if (python.Call("np_diff") is Sample npDiff)
            {
                report.Row("numpy numeric diff on restored arrays", 2 * bytes).Add(npDiff);
            }
        }

        CheckFigures(report, stats!, diff!);
        var statsRow = report.Find("DataraxCkpt statistics");
        var diffRow = report.Find("DataraxCkpt numeric diff");
        report.Targets.Add(Ratio.PairedAtLeast("(i) statistics ≥ 0.8× restore of the same step", statsRow, report.Find("DataraxCkpt restore of the same step"), 0.8));
        report.Targets.Add(Ratio.PairedAtLeast("(i) numeric diff ≥ 0.8× restoring both steps", diffRow, report.Find("DataraxCkpt restore of both steps"), 0.8));
        report.Targets.Add(Ratio.AtLeast("(i) statistics faster than numpy on restored arrays", statsRow, report.Find("numpy statistics on restored arrays"), 1.0));
        report.Targets.Add(Ratio.AtLeast("(i) numeric diff faster than numpy on restored arrays", diffRow, report.Find("numpy numeric diff on restored arrays"), 1.0));
        report.Targets.Add(Ratio.PeakWithin("(i) statistics peak RSS growth ≤ 64 MiB", statsRow, 64L << 20));
        report.Targets.Add(Ratio.PeakWithin("(i) numeric diff peak RSS growth ≤ 64 MiB", diffRow, 64L << 20));
        return report;
    }

    private static Dictionary<string, object?> StateOf(float[][] tensors)
    {
        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Length; i++)
        {
            state[$"layer{i}"] = tensors[i];
        }

        return state;
    }

    /// <summary>The engine's figures for layer0 against numpy's, when numpy ran.</summary>
    private static void CheckFigures(ScenarioReport report, IReadOnlyList<TensorStatistics> stats, IReadOnlyList<TensorDifference> diff)
    {
        var s = stats[0];
        var d = diff[0];
        report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"engine layer0: mean {s.Mean:R}, std {s.StandardDeviation:R}, L2 {s.L2Norm:R}, min {s.Min:R}, max {s.Max:R}; diff: {d.DifferentCount} differ, max |a−b| {d.MaxAbsoluteDifference:R}, relative {d.RelativeChange:R}"));
        var numpy = Path.Combine("/tmp", "dxck-bench-np-figures.json");
        if (File.Exists(numpy))
        {
            report.Notes.Add("numpy layer0: " + File.ReadAllText(numpy).Trim());
            File.Delete(numpy);
        }
    }
}
