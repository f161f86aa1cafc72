using System.Collections;
using System.Globalization;

namespace DataraxCkpt.Bench;

/// <summary>
/// Scenario (h): the engine's cost per scalar leaf (issue 15): a Hashtable of 100,000 ints and 2,000
/// nested configs (name, lr, tags array, bool), saved and restored warm, reported in µs per leaf.
/// </summary>
internal static class ScalarLeavesScenario
{
    /// <summary>Leaves of the Hashtable of ints; <c>--size</c> scales it (and the configs by 1/50) for a quick run.</summary>
    public static int Ints { get; set; } = 100_000;

    public static ScenarioReport Run(int repetitions, string work)
    {
        var report = new ScenarioReport { Scenario = "h", Title = string.Create(CultureInfo.InvariantCulture, $"scalar leaves in the engine: Hashtable of {Ints:N0} ints, {Ints / 50:N0} nested configs"), Repetitions = repetitions };
        var ints = new Hashtable(Ints);
        for (var i = 0; i < Ints; i++)
        {
            ints[string.Create(CultureInfo.InvariantCulture, $"k{i}")] = i;
        }

        var configs = new Hashtable();
        for (var i = 0; i < Ints / 50; i++)
        {
            configs[string.Create(CultureInfo.InvariantCulture, $"c{i}")] = new Hashtable
            {
                ["name"] = string.Create(CultureInfo.InvariantCulture, $"run-{i}"),
                ["lr"] = 0.001 * i,
                ["tags"] = new object?[] { "a", "b", "c" },
                ["enabled"] = i % 2 == 0,
            };
        }

        // Leaves of a config: name, lr, three tags, enabled.
        Measure1(report, string.Create(CultureInfo.InvariantCulture, $"{Ints / 1000}k ints"), ints, Ints, repetitions, Path.Combine(work, "ints"));
        Measure1(report, "configs", configs, (Ints / 50) * 6, repetitions, Path.Combine(work, "configs"));

        // Issue 17: numeric lists, as C# (List<double>) and as PowerShell hands them over (object[] of boxed
        // ints, what 1..1000 is): Ints / 100 lists of 1,000 numbers, half of each kind. The per-leaf figure
        // counts every number; a step lists one item per list (or, stored element by element, one per number).
        var lists = new Hashtable();
        for (var i = 0; i < Ints / 100; i++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"l{i}");
            lists[key] = i % 2 == 0
                ? Enumerable.Range(0, 1000).Select(j => i + j * 0.5).ToList()
                : Enumerable.Range(0, 1000).Select(j => (object)(i * 1000 + j)).ToArray();
        }

        Measure1(report, "numeric lists", lists, (Ints / 100) * 1000, repetitions, Path.Combine(work, "lists"), minItems: Ints / 100);
        return report;
    }

    private static void Measure1(ScenarioReport report, string label, object state, int leaves, int repetitions, string ck, int? minItems = null)
    {
        using var handler = new CheckpointHandler();
        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(state).LongLength;

        // One warm-up save and restore: the scenario measures the warm per-leaf cost, not JIT.
        handler.Save(ck, state, step: 0);
        handler.Restore(ck, 0);
        for (var rep = 0; rep < repetitions; rep++)
        {
            var step = rep + 1;
            report.Row($"{label} save", json).Add(Measure.Run(() => handler.Save(ck, state, step)));
            report.Row($"{label} restore", json).Add(Measure.Run(() => handler.Restore(ck, step)));
            report.Row($"{label} items", json).Add(Measure.Run(() =>
            {
                if (handler.GetItems(ck, step).Count < (minItems ?? leaves))
                {
                    throw new InvalidOperationException($"step {step} lists fewer than {minItems ?? leaves} items");
                }
            }));
        }

        foreach (var op in new[] { "save", "restore" })
        {
            var row = report.Find($"{label} {op}")!;
            var micros = row.MedianSeconds * 1e6 / leaves;

            // Milliseconds an operation, so many repetitions are cheap; the spread shows how much one run varies.
            var sorted = row.Seconds.Select(x => x * 1e6 / leaves).Order().ToArray();
            report.Targets.Add(new Target($"{label}: engine {op} ≤ 1 µs per leaf",
                string.Create(CultureInfo.InvariantCulture,
                    $"{micros:F2} µs per leaf, median of {sorted.Length} (IQR {PairedRatio.Quantile(sorted, 0.25):F2}–{PairedRatio.Quantile(sorted, 0.75):F2}, range {sorted[0]:F2}–{sorted[^1]:F2}; {leaves:N0} leaves in {row.MedianSeconds * 1000:F1} ms)"),
                micros <= 1.0));
        }

        var saveRow = report.Find($"{label} save")!;
        report.Targets.Add(Ratio.PeakWithin($"{label}: peak memory of a save ≤ 3× the JSON text ({json:N0} bytes)", saveRow, 3 * json));
    }
}
