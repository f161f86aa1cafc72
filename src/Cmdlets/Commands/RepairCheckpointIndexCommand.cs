using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Rebuilds a checkpoint directory's index from its self-describing step folders and sweeps leftovers of interrupted work.</para>
/// <para type="description">With -WhatIf, reports what a repair would do (a dry run) and changes nothing. A repair refuses
/// (IOError) when the disk fails to read index.sqlite itself; -Force then renames the index aside unread and rebuilds it
/// from the step folders.</para>
/// </summary>
[Cmdlet(VerbsDiagnostic.Repair, "CheckpointIndex", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = HelpLinks.Base + "Repair-CheckpointIndex.md")]
[OutputType("DataraxCkpt.RepairReport")]
public sealed class RepairCheckpointIndexCommand : DirectoryCommandBase
{
    /// <summary>How long to wait for another process's lock on the directory; a number is seconds. Default 60 s.</summary>
    [Parameter]
    [SecondsOrTimeSpan]
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// When the disk fails to read index.sqlite (IOError), rename it and its -wal and -shm aside unread
    /// (index.sqlite.unreadable-&lt;UTC time&gt;, kept) and rebuild the index from the step folders, instead of refusing.
    /// An index that reads is repaired as without it.
    /// </summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    private protected override TimeSpan? LockTimeoutSetting => LockTimeout;

    /// <inheritdoc />
    private protected override void Process()
    {
        foreach (var directory in ResolveDirectories(Path, LiteralPath))
        {
            // -Force renames the index aside, never deletes it (leftovers are swept as by any repair): the same ConfirmImpact (Medium) as any repair, so an unattended run does not prompt.
            var forced = Force ? " If the disk fails to read the index, set it aside unread (index.sqlite.unreadable-<UTC time>) and rebuild it from the step folders." : string.Empty;
            var go = ShouldProcess($"Rebuild the index of '{Shown(directory)}' and remove leftovers of interrupted work.{forced}",
                $"Rebuild the index of '{Shown(directory)}'?{forced}", "Repair-CheckpointIndex", out var reason);
            if (go || reason == ShouldProcessReason.WhatIf)
            {
                TryEngine(() => WriteObject(Handler.RepairIndex(directory, dryRun: !go, force: Force.IsPresent, StopToken)), directory);
            }
        }
    }
}
