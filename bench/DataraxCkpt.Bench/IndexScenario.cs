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

    public static ScenarioReport Run(int repetitions, string work)
    {
        var report = new ScenarioReport { Scenario = "d", Title = "store with 10,000 and 100,000 steps", Repetitions = repetitions };
        using var handler = new CheckpointHandler();
        foreach (var steps in new[] { 10_000, 100_000 })
        {
            var dir = Path.Combine(work, $"store{steps}");
            var build = Stopwatch.StartNew();
            handler.Save(dir, new Dictionary<string, object?> { ["w"] = new float[16], ["epoch"] = 3, ["name"] = "run" }, step: RealStep);
            Fill(dir, steps - 1);
            report.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"built the {steps:N0}-step store in {build.Elapsed.TotalSeconds:F1} s (one real save + index rows copied in one transaction)"));
            for (var rep = 0; rep < repetitions; rep++)
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

            var pruned = 0;
            report.Row($"{steps:N0} steps: prune to 5", 0).Add(Measure.Run(() => pruned = handler.Prune(dir, new RetentionPolicy { Keep = 5 }).Count));
            if (handler.GetCheckpointSteps(dir).Count != 5)
            {
                throw new InvalidOperationException("prune did not leave 5 steps");
            }

            report.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"prune at {steps:N0} steps removed {pruned:N0} steps (run once: it changes the store)"));
            Directory.Delete(dir, recursive: true);
        }

        foreach (var op in new[] { "list step numbers", "list records (ListCheckpoints)", "latest" })
        {
            var row = report.Find($"100,000 steps: {op}");
            report.Targets.Add(row is null ? new Target($"(d) {op} under 50 ms at 100,000 steps", "not measured", null)
                : new Target($"(d) {op} under 50 ms at 100,000 steps", string.Create(CultureInfo.InvariantCulture, $"{row.MedianSeconds * 1000:F1} ms"), row.MedianSeconds < 0.050));
        }

        foreach (var op in new[] { "list step numbers", "list records (ListCheckpoints)", "latest", "item listing of one step", "prune to 5" })
        {
            var small = report.Find($"10,000 steps: {op}");
            var large = report.Find($"100,000 steps: {op}");
            if (small is not null && large is not null)
            {
                var growth = large.MedianSeconds / small.MedianSeconds;
                // Ten times the steps: linear growth is a factor of 10; a quarter more is allowed for noise.
                report.Targets.Add(new Target($"(d) {op}: cost grows at most linearly (10× steps)",
                    string.Create(CultureInfo.InvariantCulture, $"{growth:F1}× the time for 10× the steps ({small.MedianSeconds * 1000:F1} → {large.MedianSeconds * 1000:F1} ms)"), growth <= 12.5));
            }
        }

        return report;
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
