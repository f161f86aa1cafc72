using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Pins checkpoint steps so that no retention rule removes them.</para>
/// <para type="description">Remove-Checkpoint -Step removes a pinned step only with -Force; Unlock-Checkpoint unpins.</para>
/// </summary>
[Cmdlet(VerbsCommon.Lock, "Checkpoint", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = HelpLinks.Base + "Lock-Checkpoint.md")]
[OutputType("DataraxCkpt.CheckpointInfo")]
public sealed class LockCheckpointCommand : PinCommandBase
{
    /// <inheritdoc />
    protected override bool Pinned => true;
}
