using System.Globalization;
using System.Management.Automation;
using DataraxCkpt.Commands.Errors;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Removes checkpoint steps by retention rules (-Keep, -KeepFinite, -KeepEvery, -OlderThan) or by number (-Step).</para>
/// <para type="description">A step survives when any rule keeps it; pinned steps and the newest committed step survive
/// every rule. Only -Step (or piped records) removes the newest step, and -Step removes a pinned step only with -Force.
/// Rules that keep nothing (-Keep 0, -KeepEvery 0, a zero or negative -OlderThan) are refused. -WhatIf lists exactly
/// the steps a real run removes, with their sizes, and opens nothing for writing.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "Checkpoint", DefaultParameterSetName = LiteralPathStepSet,
    SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = HelpLinks.Base + "Remove-Checkpoint.md")]
[OutputType("DataraxCkpt.RetentionSummary", "DataraxCkpt.CheckpointInfo")]
public sealed class RemoveCheckpointCommand : CheckpointCommandBase
{
    private const string PathPolicySet = "PathPolicy";
    private const string LiteralPathPolicySet = "LiteralPathPolicy";
    private const string PathStepSet = "PathStep";
    private const string LiteralPathStepSet = "LiteralPathStep";
    private const string RemoveAllAdvice = "To remove every step on purpose, remove them by number: Get-Checkpoint <dir> | Remove-Checkpoint.";

    // Piped records of one directory each bind its Directory; the rules apply to the directory once per run.
    private readonly HashSet<string> _pruned = new(StringComparer.Ordinal);

    // Directories this run removed steps from: a piped folder inside one of them that is now missing was removed by it.
    private readonly List<string> _removedFrom = new();

    /// <summary>The checkpoint directory. Wildcards are expanded.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathPolicySet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathStepSet)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>The checkpoint directory, taken literally; bound from the Directory of piped checkpoint records or the PSPath of piped folders.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathPolicySet, ValueFromPipelineByPropertyName = true)]
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathStepSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "Directory")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Keep this many highest steps (1 or more).</summary>
    [Parameter(ParameterSetName = PathPolicySet)]
    [Parameter(ParameterSetName = LiteralPathPolicySet)]
    public int? Keep { get; set; }

    /// <summary>With -Keep or -KeepEvery: count only finite steps (every float tensor free of NaN and infinities), so the -Keep newest finite steps stay.</summary>
    [Parameter(ParameterSetName = PathPolicySet)]
    [Parameter(ParameterSetName = LiteralPathPolicySet)]
    public SwitchParameter KeepFinite { get; set; }

    /// <summary>Keep every step whose number is a multiple of this (1 or more).</summary>
    [Parameter(ParameterSetName = PathPolicySet)]
    [Parameter(ParameterSetName = LiteralPathPolicySet)]
    public long? KeepEvery { get; set; }

    /// <summary>Remove steps committed longer ago than this (steps newer than it are kept); more than zero, with a unit: (New-TimeSpan -Days 7) or '7.00:00:00' (a plain number is refused).</summary>
    [Parameter(ParameterSetName = PathPolicySet)]
    [Parameter(ParameterSetName = LiteralPathPolicySet)]
    [TimeSpanWithUnit]
    public TimeSpan? OlderThan { get; set; }

    /// <summary>A rule run removing more steps than this from one directory warns (as one removing more than half does).</summary>
    [Parameter(ParameterSetName = PathPolicySet)]
    [Parameter(ParameterSetName = LiteralPathPolicySet)]
    [ValidateRange(1, int.MaxValue)]
    public int LargeRemovalThreshold { get; set; } = 100;

    /// <summary>
    /// Remove exactly these steps. Optional in the -LiteralPath set only so that piped folders without a rule get
    /// NoRetentionRule instead of a binding error per folder (or a prompt); an empty -Step is refused the same way.
    /// </summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathStepSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = LiteralPathStepSet, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    [ArgumentCompleter(typeof(StepCompleter))]
    public long[] Step { get; set; } = Array.Empty<long>();

    /// <summary>With -Step, remove pinned steps too.</summary>
    [Parameter(ParameterSetName = PathStepSet)]
    [Parameter(ParameterSetName = LiteralPathStepSet)]
    public SwitchParameter Force { get; set; }

    /// <summary>
    /// With rules: emit one summary per directory (removed records, kept steps, bytes freed; under -WhatIf, the plan).
    /// With -Step: emit the record of each removed step.
    /// </summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>How long to wait for another process's lock on a directory; a number is seconds. Default 60 s.</summary>
    [Parameter]
    [SecondsOrTimeSpan]
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(60);

    private bool ByStep => ParameterSetName is PathStepSet or LiteralPathStepSet;

    /// <inheritdoc />
    private protected override TimeSpan? LockTimeoutSetting => LockTimeout;

    /// <inheritdoc />
    private protected override void Begin()
    {
        if (!ByStep)
        {
            ValidateRules();
        }

        base.Begin();
    }

    /// <inheritdoc />
    private protected override void Process()
    {
        foreach (var directory in ResolveDirectories(Path, LiteralPath))
        {
            if (ByStep)
            {
                if (Step.Length == 0)
                {
                    ThrowArgumentError("NoRetentionRule", $"Say which steps to remove from '{Shown(directory)}': -Keep, -KeepEvery and/or -OlderThan, or -Step (piped checkpoint records carry their Step).", nameof(Step));
                }

                // As for rules: a folder that is not a checkpoint directory is reported and left untouched, since
                // even a lookup by number would otherwise create a lock and an index in it.
                if (!IsCheckpointDirectoryOrReport(directory, alwaysError: true))
                {
                    continue;
                }

                foreach (var step in Step)
                {
                    // The dry run reports exactly what the real removal would (a missing or pinned step).
                    CheckpointInfo? planned = null;
                    if (TryEngine(() => planned = Handler.Remove(directory, step, Force.IsPresent, dryRun: true), directory) && RemoveOne(planned!, Force.IsPresent) is { } removed && PassThru)
                    {
                        WriteObject(removed);
                    }
                }
            }
            else if (_pruned.Add(directory))
            {
                PruneDirectory(directory);
            }
        }
    }

    private void ValidateRules()
    {
        if (Keep is null && KeepEvery is null && OlderThan is null)
        {
            ThrowArgumentError("NoRetentionRule", "Say which steps to remove: -Keep, -KeepEvery and/or -OlderThan, or -Step.", null);
        }

        // An unset variable reads as 0 (-Keep ([int]$env:KEEP)); a cleanup job must never turn that into "remove everything".
        if (Keep is < 1)
        {
            ThrowArgumentError("RetentionRuleKeepsNothing", $"-Keep {Keep} keeps no step; -Keep must be 1 or more. {RemoveAllAdvice}", nameof(Keep));
        }

        // -KeepFinite only says which steps -Keep and -KeepEvery count; with neither it would change nothing, silently.
        if (KeepFinite && Keep is null && KeepEvery is null)
        {
            ThrowArgumentError("KeepFiniteWithoutKeep", "-KeepFinite says which steps -Keep and -KeepEvery count (only steps whose float tensors hold no NaN or infinity); give -Keep or -KeepEvery too, such as -Keep 5 -KeepFinite.", nameof(KeepFinite));
        }

        if (KeepEvery is < 1)
        {
            ThrowArgumentError("RetentionRuleKeepsNothing", $"-KeepEvery {KeepEvery} names no multiple to keep; -KeepEvery must be 1 or more. {RemoveAllAdvice}", nameof(KeepEvery));
        }

        if (OlderThan is { } span && span <= TimeSpan.Zero)
        {
            ThrowArgumentError("RetentionRuleKeepsNothing", $"-OlderThan {span} keeps no step by age; give a span of more than zero, such as (New-TimeSpan -Days 7). {RemoveAllAdvice}", nameof(OlderThan));
        }
    }

    private void PruneDirectory(string directory)
    {
        if (!IsCheckpointDirectoryOrReport(directory, alwaysError: false))
        {
            return;
        }

        var policy = new RetentionPolicy { Keep = Keep, KeepFinite = KeepFinite.IsPresent, KeepEvery = KeepEvery, KeepNewerThan = OlderThan };
        IReadOnlyList<CheckpointInfo> planned = Array.Empty<CheckpointInfo>();
        IReadOnlyList<long> before = Array.Empty<long>();
        if (!TryEngine(() => planned = Handler.Prune(directory, policy, dryRun: true, StopToken), directory)
            || !TryEngine(() => before = Handler.PeekCheckpointSteps(directory), directory))
        {
            return;
        }

        var whatIf = false;
        var large = planned.Count > 0 && (planned.Count * 2 > before.Count || planned.Count > LargeRemovalThreshold);
        if (large)
        {
            // Said once per directory, before anything goes: in -WhatIf output, in a job's log, and in the summary.
            WriteWarning($"Removing {planned.Count} of {before.Count} steps from '{Shown(directory)}' ({(planned.Count * 2 > before.Count ? "more than half" : $"more than -LargeRemovalThreshold {LargeRemovalThreshold}")}). The newest step ({before.Max()}) and pinned steps stay.");
        }

        var removed = new List<CheckpointInfo>();
        for (var i = 0; i < planned.Count; i++)
        {
            ReportStep("Remove checkpoint", directory, planned[i].Step, i, planned.Count);
            if (RemoveOne(planned[i], force: false, dryRunReason: r => whatIf |= r == ShouldProcessReason.WhatIf, planDirectory: directory) is { } done)
            {
                removed.Add(done);
            }
        }

        CompleteSteps();
        if (!whatIf && removed.Count > 0)
        {
            _removedFrom.Add(directory);
        }

        var gone = removed.Select(r => r.Step).ToHashSet();
        var kept = before.Where(s => !gone.Contains(s)).ToArray();
        var freed = removed.Sum(r => r.StoredSize);
        WriteVerbose(whatIf
            ? $"'{Shown(directory)}': would remove {removed.Count} steps ({Size(freed)}) and keep {kept.Length}."
            : $"'{Shown(directory)}': removed {removed.Count} steps ({Size(freed)} freed), kept {kept.Length}.");
        if (PassThru)
        {
            var summary = new PSObject();
            summary.TypeNames.Insert(0, "DataraxCkpt.RetentionSummary");
            summary.Properties.Add(new PSNoteProperty("Directory", directory));
            summary.Properties.Add(new PSNoteProperty("Removed", removed.ToArray()));
            summary.Properties.Add(new PSNoteProperty("Kept", kept));
            summary.Properties.Add(new PSNoteProperty("BytesFreed", freed));
            summary.Properties.Add(new PSNoteProperty("LargeRemoval", large));
            summary.Properties.Add(new PSNoteProperty("WhatIf", whatIf));
            WriteObject(summary);
        }
    }

    /// <inheritdoc />
    private protected override bool RemovedEarlierInThisRun(string path) =>
        _removedFrom.Exists(d => path.Length > d.Length && path.StartsWith(d, StringComparison.Ordinal)
            && (path[d.Length] is '/' or '\\' || d.EndsWith('/') || d.EndsWith('\\')));

    /// <summary>
    /// True for an existing checkpoint directory. Otherwise reports it, or, for a path that came from the pipeline when
    /// rules are given (not <paramref name="alwaysError"/>), skips it with a -Verbose line: a folder holding no checkpoint
    /// here, a path that names no folder by the base class's rule (<see cref="CheckpointCommandBase.IsExistingDirectory"/>).
    /// </summary>
    private bool IsCheckpointDirectoryOrReport(string directory, bool alwaysError)
    {
        if (!IsExistingDirectory(directory, skipPiped: !alwaysError))
        {
            return false;
        }

        var isCheckpointDirectory = false;
        if (!TryEngine(() => isCheckpointDirectory = Handler.IsCheckpointDirectory(directory), directory))
        {
            return false;
        }

        if (!isCheckpointDirectory)
        {
            NotACheckpointDirectory(directory, alwaysError);
        }

        return isCheckpointDirectory;
    }

    private void NotACheckpointDirectory(string directory, bool alwaysError)
    {
        var message = $"'{Shown(directory)}' is not a checkpoint directory (no index, no step folders); Remove-Checkpoint left it untouched.";
        if (!PathsFromPipeline || alwaysError)
        {
            WriteError(CheckpointErrorRecords.Module("NotACheckpointDirectory", ErrorCategory.InvalidArgument,
                message + " Check the path.", directory));
        }
        else
        {
            WriteVerbose($"Skipped {message}");
        }
    }

    /// <summary>Removes one planned step after ShouldProcess; the removed record, the planned one under -WhatIf, or null.</summary>
    /// <remarks>
    /// A step planned by a rule (<paramref name="planDirectory"/> set) is removed only if it is still the
    /// version planned and not the newest step: another process may have overwritten, pinned or removed steps
    /// since the plan, and a rule never removes what it did not judge.
    /// </remarks>
    private CheckpointInfo? RemoveOne(CheckpointInfo planned, bool force, Action<ShouldProcessReason>? dryRunReason = null, string? planDirectory = null)
    {
        var description = $"Remove checkpoint step {planned.Step} ({Size(planned.StoredSize)}, committed {planned.CreatedUtc.UtcDateTime.ToString("u", CultureInfo.InvariantCulture)}) from '{Shown(planned.Directory)}'.";
        var question = $"Remove checkpoint step {planned.Step} ({Size(planned.StoredSize)}) from '{Shown(planned.Directory)}'?";
        if (ShouldProcess(description, question, "Remove-Checkpoint", out var reason))
        {
            // The engine logs the removal itself (-Verbose); logging it here too would print every line twice.
            CheckpointInfo? removed = null;
            if (planDirectory is null)
            {
                TryEngine(() => removed = Handler.Remove(planned.Directory, planned.Step, force), planned.Directory);
                return removed;
            }

            var kept = false;
            TryEngine(() => kept = (removed = Handler.RemoveIfUnchanged(planDirectory, planned)) is null, planDirectory);
            if (kept)
            {
                WriteWarning($"Step {planned.Step} in '{Shown(planDirectory)}' stays: it was overwritten, pinned or removed, or became the newest step, after the retention plan was made.");
            }

            return removed;
        }

        dryRunReason?.Invoke(reason);
        return reason == ShouldProcessReason.WhatIf ? planned : null;
    }

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 10):0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes"),
    };
}
