using System.Management.Automation;
using DataraxCkpt.Commands.Errors;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Removes checkpoint steps by retention rules (-Keep, -KeepEvery, -OlderThan) or by number (-Step).</para>
/// <para type="description">A step survives when any rule keeps it; pinned steps survive every rule, and -Step
/// removes a pinned step only with -Force. -WhatIf lists exactly the steps a real run removes and touches nothing.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "Checkpoint", DefaultParameterSetName = LiteralPathStepSet,
    SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType("DataraxCkpt.CheckpointInfo")]
public sealed class RemoveCheckpointCommand : CheckpointCommandBase
{
    private const string PathPolicySet = "PathPolicy";
    private const string LiteralPathPolicySet = "LiteralPathPolicy";
    private const string PathStepSet = "PathStep";
    private const string LiteralPathStepSet = "LiteralPathStep";

    /// <summary>The checkpoint directory. Wildcards are expanded.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathPolicySet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathStepSet)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>The checkpoint directory, taken literally; bound from the Directory of piped checkpoint records or the PSPath of piped folders.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathPolicySet, ValueFromPipelineByPropertyName = true)]
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathStepSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "Directory")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Keep this many highest steps.</summary>
    [Parameter(ParameterSetName = PathPolicySet)]
    [Parameter(ParameterSetName = LiteralPathPolicySet)]
    [ValidateRange(0, int.MaxValue)]
    public int? Keep { get; set; }

    /// <summary>Keep every step whose number is a multiple of this.</summary>
    [Parameter(ParameterSetName = PathPolicySet)]
    [Parameter(ParameterSetName = LiteralPathPolicySet)]
    [ValidateRange(1, long.MaxValue)]
    public long? KeepEvery { get; set; }

    /// <summary>Remove steps committed longer ago than this (steps newer than it are kept).</summary>
    [Parameter(ParameterSetName = PathPolicySet)]
    [Parameter(ParameterSetName = LiteralPathPolicySet)]
    public TimeSpan? OlderThan { get; set; }

    /// <summary>Remove exactly these steps.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathStepSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathStepSet, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    [ArgumentCompleter(typeof(StepCompleter))]
    public long[] Step { get; set; } = Array.Empty<long>();

    /// <summary>With -Step, remove pinned steps too.</summary>
    [Parameter(ParameterSetName = PathStepSet)]
    [Parameter(ParameterSetName = LiteralPathStepSet)]
    public SwitchParameter Force { get; set; }

    /// <summary>Emit the record of each removed step (with -WhatIf, of each step a real run would remove).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private bool ByStep => ParameterSetName is PathStepSet or LiteralPathStepSet;

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        if (!ByStep && Keep is null && KeepEvery is null && OlderThan is null)
        {
            ThrowTerminatingError(CheckpointErrorRecords.Module("NoRetentionRule", ErrorCategory.InvalidArgument,
                "Say which steps to remove: -Keep, -KeepEvery and/or -OlderThan, or -Step.", null));
        }

        base.BeginProcessing();
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (var directory in ResolveDirectories(Path, LiteralPath))
        {
            if (ByStep)
            {
                foreach (var step in Step)
                {
                    // The dry run reports exactly what the real removal would (a missing or pinned step).
                    CheckpointInfo? planned = null;
                    if (TryEngine(() => planned = Handler.Remove(directory, step, Force.IsPresent, dryRun: true), directory))
                    {
                        RemoveOne(planned!, force: Force.IsPresent);
                    }
                }
            }
            else
            {
                var policy = new RetentionPolicy { Keep = Keep, KeepEvery = KeepEvery, KeepNewerThan = OlderThan };
                IReadOnlyList<CheckpointInfo> planned = Array.Empty<CheckpointInfo>();
                if (TryEngine(() => planned = Handler.Prune(directory, policy, dryRun: true, StopToken), directory))
                {
                    for (var i = 0; i < planned.Count; i++)
                    {
                        ReportStep("Remove checkpoint", directory, planned[i].Step, i, planned.Count);
                        RemoveOne(planned[i], force: false);
                    }

                    CompleteSteps();
                }
            }
        }
    }

    private void RemoveOne(CheckpointInfo planned, bool force)
    {
        var description = $"Remove checkpoint step {planned.Step} from '{planned.Directory}'.";
        var question = $"Remove checkpoint step {planned.Step} from '{planned.Directory}'?";
        if (ShouldProcess(description, question, "Remove-Checkpoint", out var reason))
        {
            TryEngine(() =>
            {
                var removed = Handler.Remove(planned.Directory, planned.Step, force);
                WriteVerbose($"Removed step {removed.Step} from '{removed.Directory}'.");
                if (PassThru)
                {
                    WriteObject(removed);
                }
            }, planned.Directory);
        }
        else if (reason == ShouldProcessReason.WhatIf && PassThru)
        {
            WriteObject(planned);
        }
    }
}
