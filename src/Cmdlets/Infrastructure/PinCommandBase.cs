using System.Management.Automation;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>The parameters and work shared by Lock-Checkpoint and Unlock-Checkpoint.</summary>
public abstract class PinCommandBase : DirectoryCommandBase
{
    /// <summary>The steps to change.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    [ArgumentCompleter(typeof(StepCompleter))]
    public long[] Step { get; set; } = Array.Empty<long>();

    /// <summary>Emit the updated record of each step.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>How long to wait for another process's lock on the directory; a number is seconds. Default 60 s.</summary>
    [Parameter]
    [SecondsOrTimeSpan]
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <inheritdoc />
    private protected override TimeSpan? LockTimeoutSetting => LockTimeout;

    /// <summary>True to pin, false to unpin.</summary>
    protected abstract bool Pinned { get; }

    /// <inheritdoc />
    private protected override void Process()
    {
        foreach (var directory in ResolveDirectories(Path, LiteralPath))
        {
            foreach (var step in Step)
            {
                if (!ShouldProcess($"Step {step} in '{Shown(directory)}'", Pinned ? "Pin checkpoint" : "Unpin checkpoint"))
                {
                    continue;
                }

                TryEngine(() =>
                {
                    var info = Handler.SetPinned(directory, step, Pinned);
                    if (PassThru)
                    {
                        WriteObject(info);
                    }
                }, directory);
            }
        }
    }
}
