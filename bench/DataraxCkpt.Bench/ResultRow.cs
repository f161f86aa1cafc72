namespace DataraxCkpt.Bench;

/// <summary>Every repetition of one measured operation of a scenario (the engine's or a baseline's).</summary>
internal sealed class ResultRow
{
    public required string Name { get; init; }

    /// <summary>Bytes of state the operation moves; MB/s are of these bytes.</summary>
    public required long StateBytes { get; init; }

    public List<double> Seconds { get; } = [];

    public List<long> PeakGrowthBytes { get; } = [];

    /// <summary>Bytes on disk the operation produced (save rows), when known.</summary>
    public long? StoredBytes { get; set; }

    public string? Note { get; set; }

    public void Add(Sample sample)
    {
        Seconds.Add(sample.Seconds);
        PeakGrowthBytes.Add(sample.PeakGrowthBytes);
    }

    public double MedianSeconds => Measure.Median(Seconds);

    public double MegabytesPerSecond => StateBytes / 1e6 / MedianSeconds;

    public long MaxPeakGrowthBytes => PeakGrowthBytes.Count == 0 ? 0 : PeakGrowthBytes.Max();
}
