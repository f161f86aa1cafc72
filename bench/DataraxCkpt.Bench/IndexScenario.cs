using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Bench;

/// <summary>
/// Scenario (d): a store with many steps. One real step is saved through the engine (it creates the
/// index and is the newest step); the other rows are copies of its index rows under lower step numbers,
/// inserted straight into index.sqlite in one transaction — 100,000 real saves would take longer than
/// the whole bench. Listing, latest and item listing only read the index, so they see exactly what real
/// saves would leave; the copied steps have no folder, so prune removes their rows and skips the folder.
/// Measured at 10,000 and at 100,000 steps, to see how the cost grows.
/// </summary>
internal static class IndexScenario
{
    private const long RealStep = 10_000_000;
    private const int ItemsPerStep = 3;

    // Prune removes each step with its own durable index transactions (the crash-safe removal protocol),
    // so a prune of 100,000 steps takes minutes: it is timed at two smaller sizes and its growth judged.
    private const int PruneSmall = 500;
    private const int PruneLarge = 2_000;

    public static ScenarioReport Run(int repetitions, string work)
    {
        var report = new ScenarioReport { Scenario = "d", Title = "store with 10,000 and 100,000 steps", Repetitions = repetitions };
        using var handler = new CheckpointHandler();
        foreach (var steps in new[] { PruneSmall, PruneLarge, 10_000, 100_000 })
        {
            var pruneOnly = steps is PruneSmall or PruneLarge;
            var dir = Path.Combine(work, $"store{steps}");
            var build = Stopwatch.StartNew();
            BuildStore(handler, dir, steps);
            report.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"built the {steps:N0}-step store in {build.Elapsed.TotalSeconds:F1} s (one real save + index rows copied in one transaction)"));
            for (var rep = 0; rep < (pruneOnly ? 0 : repetitions); rep++)
            {
                var listed = 0;
                report.Row($"{steps:N0} steps: list step numbers", 0).Add(Measure.Run(() => listed = handler.GetCheckpointSteps(dir).Count));
                if (listed != steps)
                {
                    throw new InvalidOperationException($"listed {listed} steps, expected {steps}");
                }

                report.Row($"{steps:N0} steps: list records (ListCheckpoints)", 0).Add(Measure.Run(() => handler.ListCheckpoints(dir)));
                report.Row($"{steps:N0} steps: latest", 0).Add(Measure.Run(() => handler.LatestStep(dir)));
                report.Row($"{steps:N0} steps: item listing of one step", 0).Add(Measure.Run(() => handler.GetItems(dir, RealStep)));
            }

            if (pruneOnly)
            {
                var pruned = 0;
                report.Row($"{steps:N0} steps: prune to 5", 0).Add(Measure.Run(() => pruned = handler.Prune(dir, new RetentionPolicy { Keep = 5 }).Count));
                if (handler.GetCheckpointSteps(dir).Count != 5)
                {
                    throw new InvalidOperationException("prune did not leave 5 steps");
                }

                report.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"prune at {steps:N0} steps removed {pruned:N0} steps (run once: it changes the store)"));
            }

            Directory.Delete(dir, recursive: true);
        }

        foreach (var op in new[] { "list step numbers", "list records (ListCheckpoints)", "latest" })
        {
            var row = report.Find($"100,000 steps: {op}");
            report.Targets.Add(row is null ? new Target($"(d) {op} under 50 ms at 100,000 steps", "not measured", null)
                : new Target($"(d) {op} under 50 ms at 100,000 steps", string.Create(CultureInfo.InvariantCulture, $"{row.MedianSeconds * 1000:F1} ms"), row.MedianSeconds < 0.050));
        }

        foreach (var (op, small, large) in new[]
        {
            ("list step numbers", 10_000, 100_000), ("list records (ListCheckpoints)", 10_000, 100_000), ("latest", 10_000, 100_000),
            ("item listing of one step", 10_000, 100_000), ("prune to 5", PruneSmall, PruneLarge),
        })
        {
            var a = report.Find($"{small:N0} steps: {op}");
            var b = report.Find($"{large:N0} steps: {op}");
            if (a is not null && b is not null)
            {
                var factor = (double)large / small;
                var growth = b.MedianSeconds / a.MedianSeconds;
                // Linear growth is the step factor itself; a quarter more is allowed for noise.
                report.Targets.Add(new Target(string.Create(CultureInfo.InvariantCulture, $"(d) {op}: cost grows at most linearly ({factor:F0}× the steps)"),
                    string.Create(CultureInfo.InvariantCulture, $"{growth:F1}× the time ({a.MedianSeconds * 1000:F1} → {b.MedianSeconds * 1000:F1} ms)"), growth <= factor * 1.25));
            }
        }

        if (report.Find($"{PruneLarge:N0} steps: prune to 5") is { } prune)
        {
            report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"prune to 5 at 100,000 steps was not run (it would take the whole bench budget); linear from {PruneLarge:N0} steps it would take about {prune.MedianSeconds / (PruneLarge - 5) * 99_995:F0} s"));
        }

        return report;
    }

    /// <summary>A store of <paramref name="steps"/> steps: one real save, the rest index rows copied from it.</summary>
    public static void BuildStore(CheckpointHandler handler, string dir, int steps)
    {
        handler.Save(dir, new Dictionary<string, object?> { ["w"] = new float[16], ["epoch"] = 3, ["name"] = "run" }, step: RealStep);
        Fill(dir, steps - 1);
    }

    /// <summary>Copies the real step's rows under step numbers 0 … count-1.</summary>
    private static void Fill(string dir, int count)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(dir, "index.sqlite"), Pooling = false }.ToString());
        connection.Open();
        using var tx = connection.BeginTransaction();
        using (var steps = connection.CreateCommand())
        {
            steps.Transaction = tx;
            steps.CommandText = """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $count)
                INSERT INTO steps(step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned)
                SELECT n.i, printf('%032x', n.i), s.created_utc - ($count - n.i) * 10000000, s.size, s.stored_size, s.item_count, s.metadata, s.manifest_hash, 0
                FROM n, steps AS s WHERE s.step = $real;
                """;
            steps.Parameters.AddWithValue("$count", count);
            steps.Parameters.AddWithValue("$real", RealStep);
            steps.ExecuteNonQuery();
        }

        using (var items = connection.CreateCommand())
        {
            items.Transaction = tx;
            items.CommandText = """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $count)
                INSERT INTO items(step, ordinal, name, kind, dtype, shape, size, stored_size)
                SELECT n.i, it.ordinal, it.name, it.kind, it.dtype, it.shape, it.size, it.stored_size
                FROM n, items AS it WHERE it.step = $real;
                """;
            items.Parameters.AddWithValue("$count", count);
            items.Parameters.AddWithValue("$real", RealStep);
            if (items.ExecuteNonQuery() != count * ItemsPerStep)
            {
                throw new InvalidOperationException("the real step does not have the expected items");
            }
        }

        tx.Commit();
    }
}
