using System.Diagnostics;
using System.Management.Automation;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// Shows the engine's save and restore progress with Write-Progress: only for operations that
/// outlast <see cref="ShowAfter"/>, at most every <see cref="MinInterval"/>, and completed at the end
/// so no bar lingers. The engine reports on the calling thread; reports from any other thread are
/// dropped, since a cmdlet may write only from its pipeline thread.
/// </summary>
internal sealed class CmdletProgressReporter : IProgress<CheckpointProgress>
{
    private static readonly TimeSpan ShowAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(200);

    private readonly Cmdlet _cmdlet;
    private readonly int _activityId;
    private readonly int _pipelineThreadId = Environment.CurrentManagedThreadId;
    private readonly Stopwatch _sinceStart = new();
    private TimeSpan _lastShown;
    private ProgressRecord? _shown;
    private readonly Stopwatch _sinceStepShown = new();
    private ProgressRecord? _stepShown;

    /// <summary>Creates a reporter writing through <paramref name="cmdlet"/>.</summary>
    public CmdletProgressReporter(Cmdlet cmdlet, int activityId)
    {
        _cmdlet = cmdlet;
        _activityId = activityId;
    }

    /// <inheritdoc />
    public void Report(CheckpointProgress value)
    {
        if (Environment.CurrentManagedThreadId != _pipelineThreadId)
        {
            return;
        }

        if (!_sinceStart.IsRunning)
        {
            _sinceStart.Start();
        }

        var elapsed = _sinceStart.Elapsed;
        if (elapsed < ShowAfter || elapsed - _lastShown < MinInterval)
        {
            return;
        }

        _lastShown = elapsed;
        var percent = value.BytesTotal > 0 ? (int)Math.Clamp(value.BytesDone * 100 / value.BytesTotal, 0, 100) : -1;
        _shown = new ProgressRecord(_activityId, $"{value.Operation} checkpoint step {value.Step}", $"{RemoteLocations.Shown(value.Directory)}: {value.BytesDone:N0} of {value.BytesTotal:N0} bytes")
        {
            PercentComplete = percent,
            ParentActivityId = _stepShown?.ActivityId ?? -1,
        };
        _cmdlet.WriteProgress(_shown);
    }

    /// <summary>Clears the bar of the operation that just ended, and restarts the clock for the next.</summary>
    /// <summary>
    /// Reports where a command that works through several steps is ("Test checkpoint: step 3 of 40"), as a
    /// parent of the byte progress. Shown from the first step when there are two or more, then at most
    /// every 200 ms, and always for the last.
    /// </summary>
    public void ReportStep(string activity, string directory, long step, int index, int count)
    {
        if (count < 2 || Environment.CurrentManagedThreadId != _pipelineThreadId)
        {
            return;
        }

        if (_stepShown is not null && index != count - 1 && _sinceStepShown.Elapsed < MinInterval)
        {
            return;
        }

        _sinceStepShown.Restart();
        _stepShown = new ProgressRecord(StepActivityId, $"{activity}: step {index + 1} of {count}", $"{directory}: step {step}")
        {
            PercentComplete = (int)((long)index * 100 / count),
        };
        _cmdlet.WriteProgress(_stepShown);
    }

    /// <summary>Completes the step progress bar, if one is shown.</summary>
    public void CompleteSteps()
    {
        if (_stepShown is not null && Environment.CurrentManagedThreadId == _pipelineThreadId)
        {
            _stepShown.RecordType = ProgressRecordType.Completed;
            _stepShown.PercentComplete = 100;
            _cmdlet.WriteProgress(_stepShown);
        }

        _stepShown = null;
        _sinceStepShown.Reset();
    }

    // A second activity of the same command, so the step bar and the byte bar show together.
    private int StepActivityId => _activityId ^ 0x2A5A_5A5A;

    public void Complete()
    {
        if (_shown is not null && Environment.CurrentManagedThreadId == _pipelineThreadId)
        {
            _shown.RecordType = ProgressRecordType.Completed;
            _cmdlet.WriteProgress(_shown);
        }

        _shown = null;
        _sinceStart.Reset();
        _lastShown = TimeSpan.Zero;
    }
}
