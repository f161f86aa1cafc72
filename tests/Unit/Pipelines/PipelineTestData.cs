namespace DataraxCkpt.Tests.Pipelines;

/// <summary>Builders shared by the pipeline tests.</summary>
internal static class PipelineTestData
{
    public static MemorySource<int> Source(int count) => new(Enumerable.Range(0, count).ToArray());

    /// <summary>The next <paramref name="count"/> batches, each copied to an array.</summary>
    public static List<int[]> Take(Pipeline<int> pipeline, int count)
    {
        var batches = new List<int[]>(count);
        for (var i = 0; i < count; i++)
        {
            Assert.True(pipeline.MoveNext(), $"batch {i} missing");
            batches.Add(pipeline.Current.ToArray());
        }

        return batches;
    }

    /// <summary>Every batch of the pipeline's next <paramref name="epochs"/> epochs, per epoch.</summary>
    public static List<int[]> Epochs(Pipeline<int> pipeline, int epochs) =>
        Enumerable.Range(0, epochs).Select(_ => Take(pipeline, pipeline.BatchesPerEpoch).SelectMany(b => b).ToArray()).ToList();
}
