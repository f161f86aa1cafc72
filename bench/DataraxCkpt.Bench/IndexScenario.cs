using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Bench;

/// <summary>
/// Scenario (d): a store with many steps. One real step is saved through the engine (it creates the
/// index and is the newest step); the other rows are copies of its index rows under lower step numbers,
/// inserted straight into index.sqlite in one transaction — 100,000 real saves would take longer than
/// the whole bench. Listing, latest and item listing only read the index, so they see exactly what real
/// saves would leave; the copied steps have no folder, so a prune of them is the index part of a prune
/// (its rows, its intents, one listing of the directory). The folder part is timed on a small store of
/// real saves. Measured at 10,000, 100,000 and 1,000,000 steps, to see how the cost grows.
/// </summary>
internal static class IndexScenario
{
    private const long RealStep = 10_000_000;
    private const int Kept = 10;
    private const int RealFolders = 200;
    private static readonly int[] Sizes = [10_000, 100_000, 1_000_000];

    /// <summary>Runs of each prune at 100,000 and 1,000,000 steps (each on a freshly built store): the median is reported.</summary>
    private const int PruneRepetitions = 3;

    private const string ListSteps = "list step numbers";
    private const string ListRecords = "list records (ListCheckpoints)";
    private const string LastRecords = "last 10 records (ListLastCheckpoints)";
    private const string Latest = "latest";
    private const string ItemListing = "item listing of one step";
    private const string PruneFew = "prune removing 10 steps (index part)";
    private const string PruneMost = "prune to 10 (index part)";

    public static ScenarioReport Run(int repetitions, string work)
    {
        var report = new ScenarioReport { Scenario = "d", Title = "store with 10,000, 100,000 and 1,000,000 steps", Repetitions = repetitions };
        using var handler = new CheckpointHandler();
        foreach (var steps in Sizes)
        {
            var dir = Path.Combine(work, $"store{steps}");
            var build = Stopwatch.StartNew();
            BuildStore(handler, dir, steps);
            report.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"built the {steps:N0}-step store in {build.Elapsed.TotalSeconds:F1} s (one real save + index rows copied in one transaction)"));
            Writeback.Flush();
            for (var rep = 0; rep < repetitions; rep++)
            {
                var listed = 0;
                report.Row($"{steps:N0} steps: {ListSteps}", 0).Add(Measure.Run(() => listed = handler.GetCheckpointSteps(dir).Count));
                if (listed != steps)
                {
                    throw new InvalidOperationException($"listed {listed} steps, expected {steps}");
                }

                report.Row($"{steps:N0} steps: {ListRecords}", 0).Add(Measure.Run(() => listed = handler.ListCheckpoints(dir).Count));
                if (listed != steps)
                {
                    throw new InvalidOperationException($"listed {listed} records, expected {steps}");
                }

                report.Row($"{steps:N0} steps: {LastRecords}", 0).Add(Measure.Run(() => handler.ListLastCheckpoints(dir, 10)));
                report.Row($"{steps:N0} steps: {Latest}", 0).Add(Measure.Run(() => handler.LatestStep(dir)));
                report.Row($"{steps:N0} steps: {ItemListing}", 0).Add(Measure.Run(() => handler.GetItems(dir, RealStep)));
            }

            if (steps >= 100_000)
            {
                // Each prune changes the store: one that removes few steps, then one that removes nearly all,
                // on a store rebuilt for each repetition (a single run of a 1,000,000-step prune was too noisy to judge growth by).
                var removed = 0;
                for (var rep = 0; rep < PruneRepetitions; rep++)
                {
                    if (rep > 0)
                    {
                        Directory.Delete(dir, recursive: true);
                        BuildStore(handler, dir, steps);
                    }

                    // The build just wrote the whole index: without a flush, the prune's fsyncs wait behind its writeback.
                    Writeback.Flush();

                    report.Row($"{steps:N0} steps: {PruneFew}", 0).Add(Measure.Run(() => removed = handler.Prune(dir, new RetentionPolicy { Keep = steps - 10 }).Count));
                    ExpectRemoved(removed, 10);
                    report.Row($"{steps:N0} steps: {PruneMost}", 0).Add(Measure.Run(() => removed = handler.Prune(dir, new RetentionPolicy { Keep = Kept }).Count));
                    ExpectRemoved(removed, steps - 10 - Kept);
                }

                report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"prune at {steps:N0} steps ({PruneRepetitions} runs each, the store rebuilt before each, median; rows without folders): Keep={steps - 10:N0} removed 10 steps, then Keep={Kept} removed {removed:N0}"));
            }

            Directory.Delete(dir, recursive: true);
        }

        PruneRealFolders(handler, work, report);
        report.Notes.Add(Writeback.Note("after building each store (and after each rebuild before its prunes) and after the setup of each 200-step prune"));
        AddTargets(report);
        return report;
    }

    /// <summary>The folder part of a prune: real saves, pruned to 10, against the same number of rows without folders.</summary>
    private static void PruneRealFolders(CheckpointHandler handler, string work, ScenarioReport report)
    {
        var real = Path.Combine(work, "real");
        for (var step = 0; step < RealFolders; step++)
        {
            handler.Save(real, new Dictionary<string, object?> { ["w"] = new float[16], ["epoch"] = step, ["name"] = "run" }, step: step);
        }

        Writeback.Flush();
        var removed = 0;
        var withFolders = Measure.Run(() => removed = handler.Prune(real, new RetentionPolicy { Keep = Kept }).Count);
        ExpectRemoved(removed, RealFolders - Kept);
        report.Row($"{RealFolders} real steps: prune to 10 (index and folders)", 0).Add(withFolders);

        var rows = Path.Combine(work, "rows");
        BuildStore(handler, rows, RealFolders);
        Writeback.Flush();
        var indexOnly = Measure.Run(() => removed = handler.Prune(rows, new RetentionPolicy { Keep = Kept }).Count);
        ExpectRemoved(removed, RealFolders - Kept);
        report.Row($"{RealFolders} steps: prune to 10 (index part)", 0).Add(indexOnly);

        var perFolder = (withFolders.Seconds - indexOnly.Seconds) / (RealFolders - Kept);
        report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"folder part of a prune (reading each removed step's manifest, moving its folder to the trash, deleting it): {perFolder * 1000:F2} ms a step here ({RealFolders - Kept} real steps, run once), so about {perFolder * 99_990:F0} s for the folders of 99,990 steps on top of the index part"));
    }

    private static void ExpectRemoved(int removed, int expected)
    {
        if (removed != expected)
        {
            throw new InvalidOperationException($"prune removed {removed} steps, expected {expected}");
        }
    }

    private static void AddTargets(ScenarioReport report)
    {
        foreach (var op in new[] { ListSteps, ListRecords, LastRecords, Latest })
        {
            var row = report.Find($"100,000 steps: {op}");
            report.Targets.Add(row is null ? new Target($"(d) {op} under 50 ms at 100,000 steps", "not measured", null)
                : new Target($"(d) {op} under 50 ms at 100,000 steps", string.Create(CultureInfo.InvariantCulture, $"{row.MedianSeconds * 1000:F1} ms"), row.MedianSeconds < 0.050));
        }

        foreach (var op in new[] { PruneFew, PruneMost })
        {
            var row = report.Find($"100,000 steps: {op}");
            report.Targets.Add(row is null ? new Target($"(d) {op} at most 1 s at 100,000 steps", "not measured", null)
                : new Target($"(d) {op} at most 1 s at 100,000 steps", string.Create(CultureInfo.InvariantCulture, $"{row.MedianSeconds:F2} s"), row.MedianSeconds <= 1.0));
        }

        foreach (var op in new[] { ListSteps, ListRecords, LastRecords, Latest, ItemListing, PruneFew, PruneMost })
        {
            for (var i = 0; i + 1 < Sizes.Length; i++)
            {
                var a = report.Find($"{Sizes[i]:N0} steps: {op}");
                var b = report.Find($"{Sizes[i + 1]:N0} steps: {op}");
                if (a is not null && b is not null)
                {
                    var factor = (double)Sizes[i + 1] / Sizes[i];
                    var growth = b.MedianSeconds / a.MedianSeconds;
                    // Linear growth is the step factor itself; a quarter more is allowed for noise.
                    report.Targets.Add(new Target(string.Create(CultureInfo.InvariantCulture, $"(d) {op}: cost grows at most linearly from {Sizes[i]:N0} to {Sizes[i + 1]:N0} steps ({factor:F0}× the steps)"),
                        string.Create(CultureInfo.InvariantCulture, $"{growth:F1}× the time ({a.MedianSeconds * 1000:F1} → {b.MedianSeconds * 1000:F1} ms)"), growth <= factor * 1.25));
                }
            }
        }
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
                INSERT INTO step_items(step, items)
                SELECT n.i, it.items
                FROM n, step_items AS it WHERE it.step = $real;
                """;
            items.Parameters.AddWithValue("$count", count);
            items.Parameters.AddWithValue("$real", RealStep);
            if (items.ExecuteNonQuery() != count)
            {
                throw new InvalidOperationException("the real step does not have the expected items");
            }
        }

        tx.Commit();
    }
}
