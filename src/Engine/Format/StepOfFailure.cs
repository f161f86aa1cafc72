namespace DataraxCkpt.Format;

/// <summary>
/// Which step a failure of stored bytes belongs to. A numeric diff reads both steps inside one step's read, so
/// the step a failure belongs to travels with the exception (InvalidDataException is sealed: in its Data)
/// rather than being taken from whichever read caught it.
/// </summary>
internal static class StepOfFailure
{
    private const string Key = "DataraxCkpt.Step";

    /// <summary>An InvalidDataException of <paramref name="message"/> that records <paramref name="step"/>.</summary>
    public static InvalidDataException Create(long step, string message, Exception inner)
    {
        var e = new InvalidDataException(message, inner);
        e.Data[Key] = step;
        return e;
    }

    /// <summary>The step recorded by <see cref="Create"/>, or null.</summary>
    public static long? StepOf(Exception e) => e.Data[Key] as long?;
}
