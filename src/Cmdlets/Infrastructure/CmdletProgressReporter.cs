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
        _shown = new ProgressRecord(_activityId, $"{value.Operation} checkpoint step {value.Step}", $"{value.Directory}: {value.BytesDone:N0} of {value.BytesTotal:N0} bytes")
        {
            PercentComplete = percent,
        };
        _cmdlet.WriteProgress(_shown);
    }

    /// <summary>Clears the bar of the operation that just ended, and restarts the clock for the next.</summary>
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
