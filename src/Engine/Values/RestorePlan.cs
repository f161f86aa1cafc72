namespace DataraxCkpt.Values;

/// <summary>
/// The container updates of a restore into an existing state, applied only after every tensor of the
/// step was decoded: a failure before that leaves the target's containers as they were.
/// </summary>
internal sealed class RestorePlan
{
    private readonly List<Action> _updates = new();

    public void Add(Action update) => _updates.Add(update);

    public void Apply()
    {
        foreach (var update in _updates)
        {
            update();
        }
    }
}
