using System.Text.Json;

namespace DataraxCkpt.Bench;

/// <summary>What one scenario run measured, written as JSON for bench/run-all.ps1 to render.</summary>
internal sealed class ScenarioReport
{
    public required string Scenario { get; init; }

    public required string Title { get; init; }

    public required int Repetitions { get; init; }

    /// <summary>Measured pairs of each cheap comparison judged on per-pair ratios (0: none; its rows are medians of <see cref="Repetitions"/>).</summary>
    public int Pairs { get; init; }

    public List<ResultRow> Rows { get; } = [];

    public List<Target> Targets { get; } = [];

    public List<string> Notes { get; } = [];

    public ResultRow Row(string name, long stateBytes)
    {
        var row = Rows.Find(r => r.Name == name);
        if (row is null)
        {
            row = new ResultRow { Name = name, StateBytes = stateBytes };
            Rows.Add(row);
        }

        return row;
    }

    public ResultRow? Find(string name) => Rows.Find(r => r.Name == name && r.Seconds.Count > 0);

    public void Write(string path)
    {
        var rows = Rows.Where(r => r.Seconds.Count > 0).Select(r => new
        {
            r.Name,
            r.StateBytes,
            MedianSeconds = r.MedianSeconds,
            MegabytesPerSecond = r.MegabytesPerSecond,
            r.Seconds,
            MaxPeakGrowthBytes = r.MaxPeakGrowthBytes,
            r.StoredBytes,
            r.Note,
        });
        var json = JsonSerializer.Serialize(new { Scenario, Title, Repetitions, Pairs, Rows = rows, Targets, Notes },
            new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllText(path, json);
    }

    public void Print(TextWriter output)
    {
        output.WriteLine($"== ({Scenario}) {Title}: median of {Repetitions}{(Pairs > 0 ? $"; {Pairs} measured pairs for the paired comparisons" : string.Empty)}");
        foreach (var r in Rows.Where(r => r.Seconds.Count > 0))
        {
            output.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"  {r.Name,-34} {r.MedianSeconds * 1000,10:F1} ms {r.MegabytesPerSecond,9:F0} MB/s  peak +{(r.MaxPeakGrowthBytes < 0 ? "    n/a" : (r.MaxPeakGrowthBytes / 1048576.0).ToString("F0", System.Globalization.CultureInfo.InvariantCulture)),7} MiB{(r.StoredBytes is long s ? $"  stored {s / (double)r.StateBytes:F3}" : string.Empty)}"));
        }

        foreach (var t in Targets)
        {
            output.WriteLine($"  [{(t.Met is null ? "n/a" : t.Met.Value ? "MET" : "MISSED")}] {t.Goal}: {t.Measured}");
        }

        foreach (var n in Notes)
        {
            output.WriteLine($"  note: {n}");
        }
    }
}
