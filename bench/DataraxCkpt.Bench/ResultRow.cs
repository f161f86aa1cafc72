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

    /// <summary>
    /// A run kept out of the timing (the unmeasured first call before measured pairs: JIT, first touch of fresh
    /// memory). Its peak still counts in <see cref="MaxPeakGrowthBytes"/>: it is the call a user makes first, and
    /// the peak RSS targets held it before the pairs had a warm-up.
    /// </summary>
    public void AddUnmeasured(Sample sample) => UnmeasuredPeakGrowthBytes.Add(sample.PeakGrowthBytes);

    public List<long> UnmeasuredPeakGrowthBytes { get; } = [];

    public double MedianSeconds => Measure.Median(Seconds);

    public double MegabytesPerSecond => StateBytes / 1e6 / MedianSeconds;

    /// <summary>The largest peak growth over every run, the unmeasured first one included.</summary>
    public long MaxPeakGrowthBytes => PeakGrowthBytes.Concat(UnmeasuredPeakGrowthBytes).DefaultIfEmpty(0).Max();
}
