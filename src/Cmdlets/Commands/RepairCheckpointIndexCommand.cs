using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Rebuilds a checkpoint directory's index from its self-describing step folders and sweeps leftovers of interrupted work.</para>
/// <para type="description">With -WhatIf, reports what a repair would do (a dry run) and changes nothing.</para>
/// </summary>
[Cmdlet(VerbsDiagnostic.Repair, "CheckpointIndex", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType("DataraxCkpt.RepairReport")]
public sealed class RepairCheckpointIndexCommand : CheckpointCommandBase
{
    /// <summary>The checkpoint directory. Wildcards are expanded.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>The checkpoint directory, taken literally; bound from PSPath or Directory of piped objects.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "Directory")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (var directory in ResolveDirectories(Path, LiteralPath))
        {
            var go = ShouldProcess($"Rebuild the index of '{directory}' and remove leftovers of interrupted work.",
                $"Rebuild the index of '{directory}'?", "Repair-CheckpointIndex", out var reason);
            if (go || reason == ShouldProcessReason.WhatIf)
            {
                TryEngine(() => WriteObject(Handler.RepairIndex(directory, dryRun: !go)), directory);
            }
        }
    }
}
