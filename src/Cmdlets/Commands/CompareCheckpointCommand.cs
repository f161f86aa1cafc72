using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Shows which leaves were added, removed or changed between two steps of a checkpoint directory; with -Numeric, how far each tensor moved.</para>
/// <para type="description">For tensors of equal shape and dtype, the largest absolute element difference is given.
/// A container whose type or key comparer changed, that became a leaf (or a leaf that became a container), or an empty
/// container that appeared or went is reported on its own path with its type code as DType (e.g. hashtable -> ordered).
/// The difference step defaults to the latest. -Numeric reads both steps' tensors chunk by chunk and emits, per tensor
/// of equal shape and dtype, the largest and mean absolute difference, the relative L2 change and the count of elements that differ.</para>
/// </summary>
[Cmdlet(VerbsData.Compare, "Checkpoint", DefaultParameterSetName = PathSet, HelpUri = HelpLinks.Base + "Compare-Checkpoint.md")]
[OutputType("DataraxCkpt.ItemDifference", "DataraxCkpt.TensorDifference")]
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

    /// <summary>Compare the numbers of the tensors present in both steps with equal shape and dtype (one DataraxCkpt.TensorDifference each).</summary>
    [Parameter]
    public SwitchParameter Numeric { get; set; }

    /// <summary>Only leaves whose names match one of these wildcards.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ItemNameCompleter))]
    public string[]? Item { get; set; }

    /// <inheritdoc />
    private protected override void Process()
    {
        var patterns = ItemNamePatterns.From(Item);
        foreach (var directory in ExistingDirectories(ResolveDirectories(Path, LiteralPath)))
        {
            TryEngine(() =>
            {
                var after = DifferenceStep ?? Handler.LatestStep(directory) ?? throw new NoCheckpointsException(directory);
                if (Numeric)
                {
                    var differences = Handler.CompareNumeric(directory, ReferenceStep, after, Item, StopToken);
                    WriteVerbose($"Compared the numbers of {differences.Count} tensor(s) of steps {ReferenceStep} and {after} in '{Shown(directory)}'.");
                    WriteObject(differences, enumerateCollection: true);
                    return;
                }

                foreach (var difference in Handler.Compare(directory, ReferenceStep, after))
                {
                    if (patterns is null || patterns.IsMatch(difference.Name))
                    {
                        WriteObject(difference);
                    }
                }
            }, directory);
        }
    }
}
