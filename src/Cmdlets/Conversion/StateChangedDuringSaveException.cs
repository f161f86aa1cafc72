namespace DataraxCkpt.Commands.Conversion;

/// <summary>
/// A state kept changing while Save-Checkpoint converted it (its own ScriptProperty getters changed a list, a dictionary
/// or an object of it on every walk), so no walk saw the state as it is: the save is refused before anything is written.
/// </summary>
internal sealed class StateChangedDuringSaveException : InvalidOperationException
{
    /// <summary>The error id of the record Save-Checkpoint writes for it.</summary>
    public const string ErrorId = "StateChangedDuringSave";

    /// <summary>Creates the exception for the container at <paramref name="valuePath"/>.</summary>
    /// <param name="valuePath">The path of a container that changed during the last walk (<c>state.l</c>).</param>
    /// <param name="walks">How many walks were made.</param>
    public StateChangedDuringSaveException(string valuePath, int walks)
        : base($"The value at '{valuePath}' changed while it was being saved (its own ScriptProperty getters?): save a state that does not change while it is read. " +
            $"It changed during each of {walks} walks of the state; nothing was written.")
    {
        ValuePath = valuePath;
    }

    /// <summary>The path of the container that kept changing.</summary>
    public string ValuePath { get; }
}
