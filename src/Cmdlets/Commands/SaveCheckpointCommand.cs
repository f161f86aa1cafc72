using System.Collections;
using System.Management.Automation;
using DataraxCkpt.Commands.Conversion;
using DataraxCkpt.Commands.Errors;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Saves a state (hashtable, ordered dictionary, PSCustomObject, arrays, tensors) as a checkpoint step.</para>
/// <para type="description">Each object piped in becomes one step; several inputs become consecutive steps.</para>
/// </summary>
[Cmdlet(VerbsData.Save, "Checkpoint", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = HelpLinks.Base + "Save-Checkpoint.md")]
[OutputType("DataraxCkpt.CheckpointInfo")]
public sealed class SaveCheckpointCommand : CheckpointCommandBase
{
    private string? _directory;
    private long _inputIndex;
    private bool _inputFromPipeline;

    /// <summary>The checkpoint directory (created when missing). Wildcards are expanded.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>The checkpoint directory, taken literally.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "Directory")]
    [ValidateNotNullOrEmpty]
    public string LiteralPath { get; set; } = string.Empty;

    /// <summary>The state to save. Each pipeline input is saved as its own step.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true)]
    [AllowNull]
    public object? InputObject { get; set; }

    /// <summary>Step number of the (first) save; omitted, the next step after the latest (0 when empty).</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long? Step { get; set; }

    /// <summary>After saving, keep only this many highest steps (pinned steps and the new one always survive).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Keep { get; set; }

    /// <summary>Replace the step atomically when it exists.</summary>
    [Parameter]
    public SwitchParameter Overwrite { get; set; }

    /// <summary>Metadata stored with the step, apart from the state.</summary>
    [Parameter]
    public IDictionary? Metadata { get; set; }

    /// <summary>Emit the saved step's record.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>How long to wait for another process's lock on the directory; a number is seconds. Default 60 s.</summary>
    [Parameter]
    [SecondsOrTimeSpan]
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <inheritdoc />
    private protected override TimeSpan? LockTimeoutSetting => LockTimeout;

    /// <inheritdoc />
    private protected override void Begin()
    {
        base.Begin();
        // Resolved once through the provider: a folder that does not exist yet is named, not matched (./run[1] is
        // where the save goes); a wildcard is asked of the provider only when the path has wildcard characters.
        _directory = ParameterSetName == LiteralPathSet ? ResolveDestination(LiteralPath, literal: true) : ResolveDestination(Path, literal: false);
        _inputFromPipeline = !MyInvocation.BoundParameters.ContainsKey(nameof(InputObject));
    }

    /// <inheritdoc />
    private protected override void Process()
    {
        var directory = _directory!;
        if (_inputFromPipeline && IsLeaf(InputObject))
        {
            // PowerShell unrolls a piped array, so [float[]](1,2,3) | Save-Checkpoint would save three one-number steps.
            WriteError(new ErrorRecord(
                new PSArgumentException("A single value arrived from the pipeline, where each input becomes one whole step; a piped array arrives one element at a time. " +
                    "To save an array or a value as a step, pass it with -InputObject $a, or pipe it wrapped: ,$a | Save-Checkpoint <dir>. To save several values, pipe a hashtable: @{ a = $a } | Save-Checkpoint <dir>.", nameof(InputObject)),
                "PipedLeafValue", ErrorCategory.InvalidArgument, InputObject));
            return;
        }

        long? step = Step is long first ? first + _inputIndex : null;
        _inputIndex++;

        var what = step is long s ? $"Step {s} in '{Shown(directory)}'" : $"Next step in '{Shown(directory)}'";
        if (!ShouldProcess(what, Overwrite ? "Save checkpoint (overwrite)" : "Save checkpoint"))
        {
            return;
        }

        object? target;
        Dictionary<string, object?>? metadata;
        try
        {
            // The state and the metadata in one conversion: a metadata value's getter may change the state.
            target = StateToEngine.Convert(WithoutRestoreMarks(InputObject), Metadata, out metadata);
        }
        catch (Exception e) when (e is StateChangedDuringSaveException or UnsupportedValueException)
        {
            // This input's failure, found before the engine was called: nothing was written, the next input is saved.
            WriteError(CheckpointErrorRecords.From(e, InputObject, directory));
            return;
        }

        TryEngine(() =>
        {
            CheckpointInfo saved;
            try
            {
                saved = Handler.Save(directory, target, step, Keep, Overwrite.IsPresent, metadata, StopToken);
            }
            catch (RetentionFailedException e)
            {
                // The step is committed: the save succeeded, only the retention after it did not run.
                saved = e.Checkpoint;
                WriteWarning(e.Redacted(RemoteLocations.Shown, RemoteLocations.Scrubbed).Message);
            }

            WriteVerbose($"Saved step {saved.Step} to '{Shown(saved.Directory)}'.");
            if (PassThru)
            {
                WriteObject(saved);
            }
        }, InputObject, directory);
    }

    /// <summary>
    /// True for a single value that is a leaf of a state rather than a state: a number, string, boolean, date.
    /// PowerShell unrolls a piped array into such values; an array that arrives whole was wrapped on purpose
    /// (<c>,$a | Save-Checkpoint</c>) and is saved as it is, as are dictionaries and objects with properties.
    /// </summary>
    private static bool IsLeaf(object? input)
    {
        var value = input is PSObject pso ? pso.BaseObject : input;
        return value switch
        {
            null => false,
            IDictionary => false,
            PSCustomObject => false,
            string or bool or char or DateTime or DateTimeOffset or TimeSpan or Guid or decimal => true,
            _ when value.GetType().IsPrimitive || value.GetType().IsEnum => true,
            _ => false,
        };
    }

    // Restore-Checkpoint marks a PSCustomObject state with PSCheckpointStep/PSCheckpointDirectory; they describe
    // where it came from, not the state, so a re-save leaves them out.
    private static object? WithoutRestoreMarks(object? input)
    {
        if (input is not PSObject { BaseObject: PSCustomObject } pso || pso.Properties[RestoreMarks.Step] is null)
        {
            return input;
        }

        var copy = new PSObject();
        foreach (var property in pso.Properties)
        {
            if (property.Name is not (RestoreMarks.Step or RestoreMarks.Directory))
            {
                copy.Properties.Add(new PSNoteProperty(property.Name, property.Value));
            }
        }

        return copy;
    }
}
