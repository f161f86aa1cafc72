using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Gets the records of committed checkpoint steps: step, time, sizes, item count, metadata, pinned.</para>
/// <para type="description">The records pipe into Restore-Checkpoint and Remove-Checkpoint, which bind their Directory and Step.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "Checkpoint", DefaultParameterSetName = PathSet, HelpUri = HelpLinks.Base + "Get-Checkpoint.md")]
[OutputType("DataraxCkpt.CheckpointInfo")]
public sealed class GetCheckpointCommand : DirectoryCommandBase
{
    /// <summary>Only these steps; each missing step is reported as an error. Bound from piped step numbers or the Step of piped records.</summary>
    [Parameter(Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    [ArgumentCompleter(typeof(StepCompleter))]
    public long[]? Step { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (var directory in ExistingDirectories(ResolveDirectories(Path, LiteralPath)))
        {
            if (Step is null)
            {
                TryEngine(() => WriteObject(Handler.ListCheckpoints(directory), enumerateCollection: true), directory);
                continue;
            }

            foreach (var step in Step)
            {
                TryEngine(() => WriteObject(Handler.GetCheckpoint(directory, step)), directory);
            }
        }
    }
}
