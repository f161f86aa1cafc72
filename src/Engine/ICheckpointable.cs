namespace DataraxCkpt;

/// <summary>
/// An object that can hand its state to a checkpoint and take it back, as Datarax's
/// <c>Checkpointable</c> (<c>get_state</c>/<c>set_state</c>).
/// </summary>
public interface ICheckpointable
{
    /// <summary>Returns the state to store. Keys are strings; values are any supported value.</summary>
    IDictionary<string, object?> GetState();

    /// <summary>Replaces the object's state with a restored one.</summary>
    void SetState(IDictionary<string, object?> state);
}
