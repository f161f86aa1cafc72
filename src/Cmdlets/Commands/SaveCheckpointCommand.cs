using System.Collections;
using System.Management.Automation;
using DataraxCkpt.Commands.Conversion;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Saves a state (hashtable, ordered dictionary, PSCustomObject, arrays, tensors) as a checkpoint step.</para>
/// <para type="description">Each object piped in becomes one step; several inputs become consecutive steps.</para>
/// </summary>
[Cmdlet(VerbsData.Save, "Checkpoint", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType("DataraxCkpt.CheckpointInfo")]
public sealed class SaveCheckpointCommand : CheckpointCommandBase
{
    private string? _directory;
    private long _inputIndex;

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

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        var directories = ParameterSetName == LiteralPathSet
            ? ResolveDirectories(null, new[] { LiteralPath })
            : ResolveDirectories(new[] { Path }, null);
        if (directories.Count != 1)
        {
            ThrowTerminatingError(Errors.CheckpointErrorRecords.Module("AmbiguousPath", ErrorCategory.InvalidArgument,
                directories.Count == 0
                    ? $"'{Path}{LiteralPath}' names no file-system directory to save to."
                    : $"'{Path}' matches {directories.Count} directories; a save needs exactly one.",
                Path + LiteralPath));
        }

        _directory = directories[0];
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var directory = _directory!;
        long? step = Step is long first ? first + _inputIndex : null;
        _inputIndex++;

        var what = step is long s ? $"Step {s} in '{directory}'" : $"Next step in '{directory}'";
        if (!ShouldProcess(what, Overwrite ? "Save checkpoint (overwrite)" : "Save checkpoint"))
        {
            return;
        }

        var target = StateToEngine.Convert(InputObject);
        TryEngine(() =>
        {
            var metadata = StateToEngine.ConvertMetadata(Metadata);
            var saved = Handler.Save(directory, target, step, Keep, Overwrite.IsPresent, metadata);
            WriteVerbose($"Saved step {saved.Step} to '{saved.Directory}'.");
            if (PassThru)
            {
                WriteObject(saved);
            }
        }, InputObject);
    }
}
