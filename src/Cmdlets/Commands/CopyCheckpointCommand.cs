using System.Management.Automation;
using DataraxCkpt.Commands.Errors;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Copies checkpoint steps to another checkpoint directory, verified on the way.</para>
/// <para type="description">Each step is read back in full with every checksum checked, then committed on the
/// destination exactly as a save commits it, with its step number, metadata, creation time and pin.</para>
/// </summary>
[Cmdlet(VerbsCommon.Copy, "Checkpoint", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low,
    HelpUri = HelpLinks.Base + "Copy-Checkpoint.md")]
[OutputType("DataraxCkpt.CheckpointInfo")]
public sealed class CopyCheckpointCommand : DirectoryCommandBase
{
    private string? _destination;

    /// <summary>The checkpoint directory to copy to; created when it does not exist. Wildcards are not expanded.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = string.Empty;

    /// <summary>The steps to copy; every committed step when omitted. Binds the Step of piped Get-Checkpoint records.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    [ArgumentCompleter(typeof(StepCompleter))]
    public long[]? Step { get; set; }

    /// <summary>Replaces a step that already exists at the destination (atomically, as Save-Checkpoint -Overwrite does).</summary>
    [Parameter]
    public SwitchParameter Overwrite { get; set; }

    /// <summary>Does not pin the copies of pinned steps.</summary>
    [Parameter]
    public SwitchParameter NoPin { get; set; }

    /// <summary>Writes the destination's record of each copied step.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    private protected override void Begin()
    {
        base.Begin();
        // Resolved as a save resolves its directory: a path that names none stops the copy with the one error that says why.
        _destination = ResolveDestination(Destination, literal: true);
    }

    /// <inheritdoc />
    private protected override void Process()
    {
        var destination = _destination!;
        foreach (var source in ResolveDirectories(Path, LiteralPath))
        {
            if (string.Equals(Trim(source), Trim(destination), OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase))
            {
                WriteError(CheckpointErrorRecords.Module("CopyOntoItself", ErrorCategory.InvalidArgument,
                    $"Cannot copy checkpoint directory '{Shown(source)}' onto itself. Choose another -Destination.", source));
                continue;
            }

            IReadOnlyList<long> steps = Step ?? Array.Empty<long>();
            if (Step is null)
            {
                // Every step; a missing source directory is reported by the engine's copy of no steps.
                if (!TryEngine(() => steps = Handler.GetCheckpointSteps(source), source)
                    || (steps.Count == 0 && !TryEngine(() => Handler.Copy(source, destination, Array.Empty<long>(), cancellationToken: StopToken), source)))
                {
                    continue;
                }
            }

            for (var i = 0; i < steps.Count; i++)
            {
                var step = steps[i];
                ReportStep("Copy checkpoint", source, step, i, steps.Count);
                if (!ShouldProcess($"Step {step} from '{Shown(source)}' to '{Shown(destination)}'", Overwrite ? "Copy checkpoint (overwrite)" : "Copy checkpoint"))
                {
                    continue;
                }

                TryEngine(() =>
                {
                    IReadOnlyList<DataraxCkpt.CheckpointInfo> copied;
                    try
                    {
                        copied = Handler.Copy(source, destination, new[] { step }, Overwrite.IsPresent, keepPins: !NoPin.IsPresent, StopToken);
                    }
                    catch (ArgumentException e) when (e.ParamName == "to")
                    {
                        // The engine resolves links and refuses nested directories, which a comparison of
                        // the paths as typed cannot see; the error is the same as for identical paths.
                        // Its message quotes both paths (the engine's, after links): each by its shown form, the source first (a
                        // destination inside it keeps its '/sub'), then any
                        // other quoted query holding a SAS signature scrubbed, as for every engine error.
                        var refusal = e.Message.Replace($" (Parameter '{e.ParamName}')", string.Empty, StringComparison.Ordinal)
                            .Replace(source, Shown(source), StringComparison.Ordinal)
                            .Replace(destination, Shown(destination), StringComparison.Ordinal);
                        WriteError(CheckpointErrorRecords.Module("CopyOntoItself", ErrorCategory.InvalidArgument,
                            RemoteLocations.Scrubbed(refusal), source));
                        return;
                    }

                    WriteVerbose($"Copied step {step} from '{Shown(source)}' to '{Shown(destination)}'.");
                    if (PassThru)
                    {
                        WriteObject(copied[0]);
                    }
                }, source);
            }

            CompleteSteps();
        }
    }

    private static string Trim(string path) => path.TrimEnd(System.IO.Path.DirectorySeparatorChar, System.IO.Path.AltDirectorySeparatorChar);
}
