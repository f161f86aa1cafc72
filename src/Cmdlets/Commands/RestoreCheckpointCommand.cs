using System.Management.Automation;
using DataraxCkpt.Commands.Conversion;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Restores a checkpoint step's state (the latest step unless -Step is given).</para>
/// <para type="description">Hashtable, ordered dictionary and PSCustomObject states come back as they were saved;
/// numeric arrays and tensors keep their .NET types and shapes. With -IncludeInfo, each restored state carries
/// PSCheckpointStep and PSCheckpointDirectory note properties, so output over several steps or directories can be matched up.</para>
/// </summary>
[Cmdlet(VerbsData.Restore, "Checkpoint", DefaultParameterSetName = PathSet, HelpUri = HelpLinks.Base + "Restore-Checkpoint.md")]
[OutputType(typeof(System.Collections.Hashtable), typeof(System.Collections.Specialized.OrderedDictionary), typeof(PSObject))]
public sealed class RestoreCheckpointCommand : DirectoryCommandBase
{
    /// <summary>The step to restore; the latest when omitted. Bound from piped step numbers or the Step of piped records.</summary>
    [Parameter(Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    [ArgumentCompleter(typeof(StepCompleter))]
    public long? Step { get; set; }

    /// <summary>Restore only the leaves whose names (such as <c>params/*/kernel</c>) match one of these wildcards.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ItemNameCompleter))]
    public string[]? Item { get; set; }

    /// <summary>
    /// Mark each restored state with PSCheckpointStep and PSCheckpointDirectory note properties, to match up output
    /// over several steps or directories. Opt-in because the marks travel with the state into ConvertTo-Json and Format-List.
    /// </summary>
    [Parameter]
    public SwitchParameter IncludeInfo { get; set; }

    /// <summary>
    /// Restore into this state (as Restore-Checkpoint returned it, or built with the same shapes): every stored array is
    /// decoded into the array the state holds at the same place, which keeps its identity; other values are replaced in
    /// their hashtable, PSCustomObject or list. Every array's element type and shape is checked before anything is written.
    /// The state is written to the pipeline.
    /// </summary>
    [Parameter]
    [ValidateNotNull]
    public PSObject? Into { get; set; }

    /// <summary>Return only the step's metadata.</summary>
    [Parameter]
    public SwitchParameter MetadataOnly { get; set; }

    /// <inheritdoc />
    private protected override void Begin()
    {
        // Separate parameter sets would make every piped restore ambiguous between them, so the conflict is checked here.
        if (MetadataOnly && Item is not null)
        {
            ThrowArgumentError("MetadataOnlyWithItem", "-MetadataOnly and -Item cannot be used together: metadata has no items. Drop -Item to get the metadata, or -MetadataOnly to restore the items.", nameof(Item));
        }

        if (Into is not null && (MetadataOnly || Item is not null))
        {
            ThrowArgumentError("IntoWithItemOrMetadata", "-Into restores a whole step into a state; it cannot be used with -Item or -MetadataOnly. Drop -Into, or restore the whole step.", nameof(Into));
        }

        if (Into is not null)
        {
            // Every IList passes a type test (a float[] too); only the conversion knows whether it is a state container.
            try
            {
                _ = StateIntoTarget.Of(Into);
            }
            catch (ArgumentException e)
            {
                ThrowArgumentError("IntoNotAState", e.Message, nameof(Into));
            }
        }

        base.Begin();
    }

    /// <inheritdoc />
    private protected override void Process()
    {
        foreach (var directory in ExistingDirectories(ResolveDirectories(Path, LiteralPath)))
        {
            TryEngine(() =>
            {
                // The step is resolved here only when it is reported; otherwise the engine picks the latest itself.
                long? chosen = IncludeInfo ? Step ?? Handler.LatestStep(directory) : Step;
                if (Into is not null)
                {
                    var into = StateIntoTarget.Of(Into);
                    Handler.RestoreInto(directory, into.EngineState, chosen, StopToken);
                    into.WriteBack();
                    WriteObject(IncludeInfo ? Mark(Into, chosen, directory) : Into, enumerateCollection: false);
                    return;
                }

                object? restored = MetadataOnly
                    ? Handler.RestoreMetadata(directory, chosen)
                    : Item is null
                        ? Handler.Restore(directory, chosen, StopToken)
                        : Handler.Restore(directory, chosen, Item, StopToken);
                var state = StateFromEngine.Convert(restored);
                WriteObject(IncludeInfo ? Mark(state, chosen, directory) : state, enumerateCollection: false);
            }, directory);
        }
    }

    // The marks live on the PSObject wrapper (on a PSCustomObject, beside its properties); Save-Checkpoint leaves them out.
    private static object? Mark(object? state, long? step, string directory)
    {
        if (state is null)
        {
            return null;
        }

        var wrapped = PSObject.AsPSObject(state);
        wrapped.Properties.Add(new PSNoteProperty(RestoreMarks.Step, step));
        wrapped.Properties.Add(new PSNoteProperty(RestoreMarks.Directory, directory));
        return wrapped;
    }
}
