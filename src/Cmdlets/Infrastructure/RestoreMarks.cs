namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>The note properties Restore-Checkpoint adds to each restored state, so output over several steps can be matched up.</summary>
internal static class RestoreMarks
{
    /// <summary>The step the state was restored from.</summary>
    public const string Step = "PSCheckpointStep";

    /// <summary>The checkpoint directory the state was restored from.</summary>
    public const string Directory = "PSCheckpointDirectory";
}
