using System.Collections.Concurrent;
using System.Management.Automation;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// Narrates the engine's log lines with Write-Verbose. Lines logged on another thread (a background
/// save) are queued and written at the next <see cref="Flush"/> on the pipeline thread, since a
/// cmdlet may write only from its own thread. The engine quotes local paths as given, so a mistyped SAS URL that became
/// a local path would print its signature: each line goes through <see cref="RemoteLocations.Scrubbed"/>.
/// </summary>
internal sealed class CmdletVerboseLog
{
    private readonly Cmdlet _cmdlet;
    private readonly int _pipelineThreadId = Environment.CurrentManagedThreadId;
    private readonly ConcurrentQueue<string> _pending = new();

    /// <summary>Creates a log writing through <paramref name="cmdlet"/>.</summary>
    public CmdletVerboseLog(Cmdlet cmdlet) => _cmdlet = cmdlet;

    /// <summary>Receives one line from the engine.</summary>
    public void Write(string line)
    {
        if (Environment.CurrentManagedThreadId == _pipelineThreadId)
        {
            Flush();
            _cmdlet.WriteVerbose(RemoteLocations.Scrubbed(line));
        }
        else
        {
            _pending.Enqueue(line);
        }
    }

    /// <summary>Writes the lines queued from other threads; call on the pipeline thread.</summary>
    public void Flush()
    {
        while (_pending.TryDequeue(out var line))
        {
            _cmdlet.WriteVerbose(RemoteLocations.Scrubbed(line));
        }
    }
}
