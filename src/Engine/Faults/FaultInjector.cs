using System.Diagnostics;
using System.Runtime.InteropServices;

namespace DataraxCkpt.Faults;

/// <summary>
/// The fault-injection seam for crash and resource-fault tests. Off unless the environment variable
/// <c>DATARAXCKPT_FAULT</c> is set when the process starts, as <c>point</c> or <c>point=action</c>
/// (<c>kill</c>: SIGKILL this process, the default; <c>ioerror</c>: throw an I/O error;
/// <c>diskfull</c>: throw the error a full disk gives; <c>bug</c>: throw an
/// <see cref="InvalidOperationException"/>, an error of none of the kinds the engine expects; <c>delay</c> or <c>delay:MS</c>:
/// sleep MS milliseconds, default 100, one hit at a time across threads, so that tests can stop or watch
/// long work at a known pace on a machine of any speed), optionally <c>@N</c> to act on the N-th hit or
/// <c>@N+</c> on the N-th and every later one (an error that persists, e.g. a rename and its undo).
/// Named points are listed in docs/guarantees.md. With the variable unset each hit is one static read.
/// </summary>
internal static partial class FaultInjector
{
    public const string EnvironmentVariable = "DATARAXCKPT_FAULT";

    private static readonly string? Point;
    private static readonly string Action = "kill";
    private static readonly int TriggerOn = 1;
    private static readonly bool Persistent;
    // Delays are taken one at a time so that N hits cost N delays whatever the number of cores.
    private static readonly object DelayGate = new();
    private static int _hits;

    static FaultInjector()
    {
        var spec = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(spec))
        {
            return;
        }

        var at = spec.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            var count = spec[(at + 1)..];
            Persistent = count.EndsWith('+');
            TriggerOn = int.Parse(Persistent ? count[..^1] : count, System.Globalization.CultureInfo.InvariantCulture);
            spec = spec[..at];
        }

        var eq = spec.IndexOf('=', StringComparison.Ordinal);
        Point = eq < 0 ? spec : spec[..eq];
        if (eq >= 0)
        {
            Action = spec[(eq + 1)..];
        }
    }

    /// <summary>Marks a named point; acts when it is the configured one.</summary>
    public static void Hit(string point)
    {
        if (Point is null || !string.Equals(point, Point, StringComparison.Ordinal))
        {
            return;
        }

        var hit = Interlocked.Increment(ref _hits);
        if (hit < TriggerOn || (hit > TriggerOn && !Persistent))
        {
            return;
        }

        switch (Action)
        {
            case "ioerror":
                throw new IOException($"Injected I/O error at '{point}'.");
            case "diskfull":
                throw new IOException($"No space left on device (injected at '{point}').", unchecked((int)0x80070070));
            case "bug":
                throw new InvalidOperationException($"Injected unexpected error at '{point}'.");
            case "delay":
                Delay(100);
                break;
            case var delay when delay.StartsWith("delay:", StringComparison.Ordinal):
                Delay(int.Parse(delay.AsSpan(6), System.Globalization.CultureInfo.InvariantCulture));
                break;
            default:
                if (OperatingSystem.IsWindows())
                {
                    Process.GetCurrentProcess().Kill();
                }

                _ = Kill(Environment.ProcessId, 9);
                Thread.Sleep(Timeout.Infinite);
                break;
        }
    }

    private static void Delay(int milliseconds)
    {
        lock (DelayGate)
        {
            Thread.Sleep(milliseconds);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
