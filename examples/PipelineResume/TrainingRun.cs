namespace DataraxCkpt.Examples.PipelineResume;

/// <summary>
/// Everything the example must resume: the pipeline's own state, how many batches were consumed and
/// the running hash of them. Saved and restored as one checkpoint step, so the three never disagree.
/// </summary>
internal sealed class TrainingRun : ICheckpointable
{
    public TrainingRun(Pipeline<int> pipeline) => Pipeline = pipeline;

    public Pipeline<int> Pipeline { get; }

    public long Batches { get; private set; }

    public RunHash Hash { get; private set; } = new();

    /// <summary>Consumes one batch.</summary>
    public IReadOnlyList<int> Step()
    {
        if (!Pipeline.MoveNext())
        {
            throw new InvalidOperationException("The pipeline yields no batches.");
        }

        Hash.Add(Pipeline.Current);
        Batches++;
        return Pipeline.Current;
    }

    public IDictionary<string, object?> GetState() => new Dictionary<string, object?>
    {
        ["pipeline"] = Pipeline.GetState(),
        ["batches"] = Batches,
        ["hash"] = Hash.Hex,
    };

    public void SetState(IDictionary<string, object?> state)
    {
        // Read everything before changing anything; the pipeline validates its own part.
        var pipelineState = AsDictionary(state["pipeline"]);
        var batches = Convert.ToInt64(state["batches"], System.Globalization.CultureInfo.InvariantCulture);
        var hash = new RunHash((string)state["hash"]!);
        Pipeline.SetState(pipelineState);
        Batches = batches;
        Hash = hash;
    }

    // The engine may hand nested dictionaries back as another dictionary type.
    private static IDictionary<string, object?> AsDictionary(object? value) => value switch
    {
        IDictionary<string, object?> d => d,
        IReadOnlyDictionary<string, object?> r => r.ToDictionary(p => p.Key, p => p.Value),
        System.Collections.IDictionary legacy => legacy.Keys.Cast<object>().ToDictionary(k => (string)k, k => legacy[k]),
        _ => throw new InvalidOperationException($"The checkpoint's 'pipeline' entry is a {value?.GetType().Name ?? "null"}, not a dictionary."),
    };
}
