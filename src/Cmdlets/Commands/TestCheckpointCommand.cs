using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Verifies every stored checksum of checkpoint steps (all steps unless -Step is given).</para>
/// <para type="description">Emits one result per step with the problems found per item; -Quiet returns a single
/// True when every chosen step of every directory is intact, otherwise False.</para>
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

    /// <inheritdoc />
    protected override void ProcessRecord()
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
                        _allOk &= Handler.Verify(directory, step, StopToken).Ok;
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
                TryEngine(() => WriteObject(Handler.Verify(directory, step, StopToken)), directory);
            }

            CompleteSteps();
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (Quiet)
        {
            WriteObject(_allOk && _anyChecked);
        }

        base.EndProcessing();
    }
}
