using System.Management.Automation;
using DataraxCkpt.Commands.Conversion;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Restores a checkpoint step's state (the latest step unless -Step is given).</para>
/// <para type="description">Hashtable, ordered dictionary and PSCustomObject states come back as they were saved;
/// numeric arrays and tensors keep their .NET types and shapes.</para>
/// </summary>
[Cmdlet(VerbsData.Restore, "Checkpoint", DefaultParameterSetName = PathSet)]
[OutputType(typeof(System.Collections.Hashtable), typeof(System.Collections.Specialized.OrderedDictionary), typeof(PSObject))]
public sealed class RestoreCheckpointCommand : DirectoryCommandBase
{
    /// <summary>The step to restore; the latest when omitted.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    [ArgumentCompleter(typeof(StepCompleter))]
    public long? Step { get; set; }

    /// <summary>Restore only the leaves whose names (such as <c>params/*/kernel</c>) match one of these wildcards.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ItemNameCompleter))]
    public string[]? Item { get; set; }

    /// <summary>Return only the step's metadata.</summary>
    [Parameter]
    public SwitchParameter MetadataOnly { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (MetadataOnly && Item is not null)
        {
            ThrowTerminatingError(Errors.CheckpointErrorRecords.Module("MetadataOnlyWithItem", ErrorCategory.InvalidArgument,
                "-MetadataOnly and -Item cannot be used together: metadata has no items.", null));
        }

        foreach (var directory in ResolveDirectories(Path, LiteralPath))
        {
            TryEngine(() =>
            {
                object? restored = MetadataOnly
                    ? Handler.RestoreMetadata(directory, Step)
                    : Item is null
                        ? Handler.Restore(directory, Step, StopToken)
                        : Handler.Restore(directory, Step, Item, StopToken);
                WriteObject(StateFromEngine.Convert(restored), enumerateCollection: false);
            }, directory);
        }
    }
}
