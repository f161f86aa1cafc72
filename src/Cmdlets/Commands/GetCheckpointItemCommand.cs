using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Lists the leaves of a checkpoint step (name, kind, dtype, shape, sizes) from the index, without decompressing anything; with -Statistics, the numbers inside each tensor.</para>
/// <para type="description">The latest step unless -Step is given; -Name (alias -Item) filters leaf names such as <c>params/*/kernel</c> with wildcards.
/// -Statistics reads the tensors chunk by chunk and emits count, NaN and infinity counts, zeros, min, max, mean, standard deviation and L2 norm per tensor.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "CheckpointItem", DefaultParameterSetName = PathSet, HelpUri = HelpLinks.Base + "Get-CheckpointItem.md")]
[OutputType("DataraxCkpt.CheckpointItemInfo", "DataraxCkpt.TensorStatistics")]
public sealed class GetCheckpointItemCommand : DirectoryCommandBase
{
    /// <summary>The step; the latest when omitted.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    [ArgumentCompleter(typeof(StepCompleter))]
    public long? Step { get; set; }

    /// <summary>Only leaves whose names match one of these wildcards.</summary>
    [Parameter]
    [Alias("Item")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ItemNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Read the tensors and emit their statistics (one DataraxCkpt.TensorStatistics per tensor) instead of the index records.</summary>
    [Parameter]
    public SwitchParameter Statistics { get; set; }

    /// <inheritdoc />
    private protected override void Process()
    {
        var patterns = ItemNamePatterns.From(Name);
        foreach (var directory in ExistingDirectories(ResolveDirectories(Path, LiteralPath)))
        {
            TryEngine(() =>
            {
                var step = Step ?? Handler.LatestStep(directory) ?? throw new NoCheckpointsException(directory);
                if (Statistics)
                {
                    // The engine matches the same grammar and reads only the matching tensors' bytes.
                    var statistics = Handler.GetStatistics(directory, step, Name, StopToken);
                    WriteVerbose($"Statistics of {statistics.Count} tensor(s) of step {step} in '{Shown(directory)}'.");
                    WriteObject(statistics, enumerateCollection: true);
                    return;
                }

                foreach (var item in Handler.GetItems(directory, step))
                {
                    if (patterns is null || patterns.IsMatch(item.Name))
                    {
                        WriteObject(item);
                    }
                }
            }, directory);
        }
    }
}
