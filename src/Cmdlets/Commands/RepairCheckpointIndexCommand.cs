using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Rebuilds a checkpoint directory's index from its self-describing step folders and sweeps leftovers of interrupted work.</para>
/// <para type="description">With -WhatIf, reports what a repair would do (a dry run) and changes nothing.</para>
/// </summary>
[Cmdlet(VerbsDiagnostic.Repair, "CheckpointIndex", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = HelpLinks.Base + "Repair-CheckpointIndex.md")]
[OutputType("DataraxCkpt.RepairReport")]
public sealed class RepairCheckpointIndexCommand : DirectoryCommandBase
{
    /// <summary>How long to wait for another process's lock on the directory; a number is seconds. Default 60 s.</summary>
    [Parameter]
    [SecondsOrTimeSpan]
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <inheritdoc />
    private protected override TimeSpan? LockTimeoutSetting => LockTimeout;

    /// <inheritdoc />
    private protected override void Process()
    {
        foreach (var directory in ResolveDirectories(Path, LiteralPath))
        {
            var go = ShouldProcess($"Rebuild the index of '{Shown(directory)}' and remove leftovers of interrupted work.",
                $"Rebuild the index of '{Shown(directory)}'?", "Repair-CheckpointIndex", out var reason);
            if (go || reason == ShouldProcessReason.WhatIf)
            {
                TryEngine(() => WriteObject(Handler.RepairIndex(directory, dryRun: !go, StopToken)), directory);
            }
        }
    }
}
