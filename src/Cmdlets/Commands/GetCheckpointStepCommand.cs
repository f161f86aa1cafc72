using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Lists the committed step numbers of a checkpoint directory, ascending, or only the latest.</para>
/// <para type="description">A missing or empty directory yields nothing, so <c>if (Get-CheckpointStep ./ck)</c> tells whether there is anything to restore.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "CheckpointStep", DefaultParameterSetName = PathSet, HelpUri = HelpLinks.Base + "Get-CheckpointStep.md")]
[OutputType(typeof(long))]
public sealed class GetCheckpointStepCommand : DirectoryCommandBase
{
    /// <summary>Return only the highest step (nothing when there is none).</summary>
    [Parameter]
    public SwitchParameter Latest { get; set; }

    /// <inheritdoc />
    private protected override void Process()
    {
        foreach (var directory in ResolveDirectories(Path, LiteralPath))
        {
            TryEngine(() =>
            {
                // Nothing is the answer for a missing directory; for a file, say that it is one.
                if (Latest)
                {
                    if (Handler.LatestStep(directory) is long latest)
                    {
                        WriteObject(latest);
                    }
                    else
                    {
                        ReportIfFile(directory);
                    }
                }
                else if (Handler.GetCheckpointSteps(directory) is { Count: > 0 } steps)
                {
                    WriteObject(steps, enumerateCollection: true);
                }
                else
                {
                    ReportIfFile(directory);
                }
            }, directory);
        }
    }
}
