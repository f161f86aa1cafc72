using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Unpins checkpoint steps so that retention rules apply to them again.</para>
/// <para type="description">The counterpart of Lock-Checkpoint.</para>
/// </summary>
[Cmdlet(VerbsCommon.Unlock, "Checkpoint", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = HelpLinks.Base + "Unlock-Checkpoint.md")]
[OutputType("DataraxCkpt.CheckpointInfo")]
public sealed class UnlockCheckpointCommand : PinCommandBase
{
    /// <inheritdoc />
    protected override bool Pinned => false;
}
