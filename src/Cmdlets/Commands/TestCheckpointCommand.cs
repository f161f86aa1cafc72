using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Verifies every stored checksum of checkpoint steps (all steps unless -Step is given); with -Finite, also that no float tensor holds NaN or infinity.</para>
/// <para type="description">Emits one result per step with the problems found per item; -Quiet returns a single
/// True when every chosen step of every directory is intact (and, with -Finite, finite), otherwise False.</para>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "Checkpoint", DefaultParameterSetName = PathSet, HelpUri = HelpLinks.Base + "Test-Checkpoint.md")]
[OutputType("DataraxCkpt.StepVerification", "System.Boolean")]
public sealed class TestCheckpointCommand : DirectoryCommandBase
{
    private bool _allOk = true;
    private bool _anyChecked;

    /// <summary>Only these steps; all committed steps when omitted.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    [ArgumentCompleter(typeof(StepCompleter))]
    public long[]? Step { get; set; }

    /// <summary>Return only True (everything intact) or False.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <summary>A step also fails when any float tensor holds NaN, +Inf or -Inf; the problems name those items.</summary>
    [Parameter]
    public SwitchParameter Finite { get; set; }

    /// <inheritdoc />
    private protected override void Process()
    {
        // -Quiet answers with False for a missing directory (as Test-Path does); otherwise a typo is an error,
        // never an empty result that reads as "nothing is damaged".
        var directories = ResolveDirectories(Path, LiteralPath);
        foreach (var directory in Quiet ? directories : ExistingDirectories(directories))
        {
            if (Quiet)
            {
                // A bool answers the question; a missing step or directory answers it with False.
                try
                {
                    foreach (var step in Step ?? Handler.GetCheckpointSteps(directory))
                    {
                        _anyChecked = true;
                        _allOk &= Check(directory, step).Ok;
                    }
                }
                catch (CheckpointException)
                {
                    _allOk = false;
                }

                continue;
            }

            IReadOnlyList<long> steps = Step ?? Array.Empty<long>();
            if (Step is null && !TryEngine(() => steps = Handler.GetCheckpointSteps(directory), directory))
            {
                continue;
            }

            for (var i = 0; i < steps.Count; i++)
            {
                var step = steps[i];
                ReportStep("Test checkpoint", directory, step, i, steps.Count);
                TryEngine(() => WriteObject(Check(directory, step)), directory);
            }

            CompleteSteps();
        }
    }

    /// <summary>
    /// Verifies the checksums of one step; with -Finite, a step whose bytes are intact is then read for NaN and
    /// infinities (a damaged step already failed, and its numbers cannot be trusted).
    /// </summary>
    private StepVerification Check(string directory, long step)
    {
        var verification = Handler.Verify(directory, step, StopToken);
        if (!Finite || !verification.Ok)
        {
            return verification;
        }

        var notFinite = Handler.GetStatistics(directory, step, null, StopToken)
            .Where(s => !s.IsFinite)
            .Select(s => new ItemProblem(s.Item, NotFiniteProblem.Describe(s)))
            .ToList();
        if (notFinite.Count == 0)
        {
            return verification;
        }

        WriteVerbose($"Step {step} of '{Shown(directory)}' is not finite: {string.Join("; ", notFinite.Select(p => $"{p.Item} ({p.Problem})"))}.");
        return new StepVerification(directory, step, verification.ItemsChecked, verification.Problems.Concat(notFinite).ToList());
    }

    /// <inheritdoc />
    private protected override void End()
    {
        if (Quiet)
        {
            WriteObject(_allOk && _anyChecked);
        }

        base.End();
    }
}
