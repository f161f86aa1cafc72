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

    /// <summary>Only the N lowest steps, ascending; read with one index query however many steps there are.</summary>
    [Parameter]
    public int? First { get; set; }

    /// <summary>Only the N highest steps, ascending; read with one index query. <c>-Last 1</c> is the latest step's record.</summary>
    [Parameter]
    public int? Last { get; set; }

    /// <inheritdoc />
    private protected override void Begin()
    {
        base.Begin();
        if (First is not null && Last is not null)
        {
            ThrowArgumentError("FirstWithLast", "-First and -Last cannot be used together. Use one of them, or pipe to Select-Object -First/-Last.", nameof(Last));
        }

        if ((First ?? Last) is < 1 and var count)
        {
            var name = First is null ? nameof(Last) : nameof(First);
            ThrowArgumentError("InvalidStepCount", $"-{name} {count} lists no step; -{name} must be 1 or more. Leave out -{name} to list every step.", name);
        }
    }

    /// <inheritdoc />
    private protected override void Process()
    {
        if (Step is not null && (First ?? Last) is not null)
        {
            ThrowArgumentError("StepWithFirstOrLast", $"-Step cannot be used with -{(First is null ? nameof(Last) : nameof(First))}: -Step names the steps to get. Use one of them (piped records and step numbers bind to -Step).", nameof(Step));
        }

        foreach (var directory in ExistingDirectories(ResolveDirectories(Path, LiteralPath)))
        {
            if (Step is null)
            {
                TryEngine(() => WriteObject(First is int first ? Handler.ListFirstCheckpoints(directory, first)
                    : Last is int last ? Handler.ListLastCheckpoints(directory, last)
                    : Handler.ListCheckpoints(directory), enumerateCollection: true), directory);
                continue;
            }

            foreach (var step in Step)
            {
                TryEngine(() => WriteObject(Handler.GetCheckpoint(directory, step)), directory);
            }
        }
    }
}
