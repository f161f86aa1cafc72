using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Shows which leaves were added, removed or changed between two steps of a checkpoint directory.</para>
/// <para type="description">For tensors of equal shape and dtype, the largest absolute element difference is given.
/// The difference step defaults to the latest.</para>
/// </summary>
[Cmdlet(VerbsData.Compare, "Checkpoint", DefaultParameterSetName = PathSet, HelpUri = HelpLinks.Base + "Compare-Checkpoint.md")]
[OutputType("DataraxCkpt.ItemDifference")]
public sealed class CompareCheckpointCommand : DirectoryCommandBase
{
    /// <summary>The earlier step (the reference).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateRange(0, long.MaxValue)]
    [ArgumentCompleter(typeof(StepCompleter))]
    public long ReferenceStep { get; set; }

    /// <summary>The later step; the latest when omitted.</summary>
    [Parameter(Position = 2)]
    [ValidateRange(0, long.MaxValue)]
    [ArgumentCompleter(typeof(StepCompleter))]
    public long? DifferenceStep { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (var directory in ExistingDirectories(ResolveDirectories(Path, LiteralPath)))
        {
            TryEngine(() =>
            {
                var after = DifferenceStep ?? Handler.LatestStep(directory) ?? throw new NoCheckpointsException(directory);
                WriteObject(Handler.Compare(directory, ReferenceStep, after), enumerateCollection: true);
            }, directory);
        }
    }
}
