using System.Diagnostics;

namespace DataraxCkpt.Bench;

/// <summary>
/// Scenario (f): asynchronous save of the 1 GiB state of scenario (a): time until <c>Save</c> returns
/// (the state is copied) against the total until the step is durable, and against a synchronous save.
/// </summary>
internal static class AsyncScenario
{
    public static ScenarioReport Run(int repetitions, string work)
    {
        var report = new ScenarioReport { Scenario = "f", Title = "async save of 1 GiB normal float32", Repetitions = repetitions };
        var tensors = StateData.Tensors(8, 32 << 20, bf16Like: false);
        var bytes = StateData.TotalBytes(tensors);
        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Length; i++)
        {
            state[$"layer{i}"] = tensors[i];
        }

        using var sync = new CheckpointHandler();
        using var async = new CheckpointHandler(new CheckpointOptions { Async = true });
        for (var rep = 0; rep < repetitions; rep++)
        {
            var syncDir = Path.Combine(work, $"sync{rep}");
            var asyncDir = Path.Combine(work, $"async{rep}");
            // Both saves start with no dirty data left (the previous repetition's deleted folders).
            Writeback.Flush();
            report.Row("synchronous save", bytes).Add(Measure.Run(() => sync.Save(syncDir, state, step: 1)));
            var returned = 0.0;
            Writeback.Flush();
            var total = Measure.Run(() =>
            {
                var clock = Stopwatch.StartNew();
                async.Save(asyncDir, state, step: 1);
                returned = clock.Elapsed.TotalSeconds;
                async.WaitUntilFinished();
            });
            report.Row("async: Save returns", bytes).Add(total with { Seconds = returned });
            report.Row("async: until durable (WaitUntilFinished)", bytes).Add(total);
            Directory.Delete(syncDir, recursive: true);
            Directory.Delete(asyncDir, recursive: true);
        }

        report.Notes.Add(Writeback.Note("before each timed save, synchronous and asynchronous alike"));
        var syncRow = report.Find("synchronous save");
        var returns = report.Find("async: Save returns");
        if (syncRow is not null && returns is not null)
        {
            var fraction = returns.MedianSeconds / syncRow.MedianSeconds;
            report.Targets.Add(new Target("(f) async Save returns in ≤ 0.25× the synchronous save time",
                string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{fraction:F2}× ({returns.MedianSeconds * 1000:F0} ms vs {syncRow.MedianSeconds * 1000:F0} ms)"), fraction <= 0.25));
            report.Notes.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"async Save return per repetition (s): {string.Join(", ", returns.Seconds.Select(s => s.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))} — the copy blocks are pooled, so only the first save pays the first touch of fresh memory"));
        }

        return report;
    }
}
