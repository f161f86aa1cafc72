using System.Diagnostics;
using System.Runtime.InteropServices;

namespace DataraxCkpt.Faults;

/// <summary>
/// The fault-injection seam for crash and resource-fault tests. Off unless the environment variable
/// <c>DATARAXCKPT_FAULT</c> is set when the process starts, as <c>point</c> or <c>point=action</c>
/// (<c>kill</c>: SIGKILL this process, the default; <c>ioerror</c>: throw an I/O error;
/// <c>diskfull</c>: throw the error a full disk gives; <c>sqlite:CODE</c>: throw the <see cref="Microsoft.Data.Sqlite.SqliteException"/>
/// SQLite raises with that result code (primary or extended, e.g. 778, SQLITE_IOERR_WRITE, which a write over a disk quota
/// gives), at a point inside an index transaction; <c>bug</c>: throw an
/// <see cref="InvalidOperationException"/>, an error of none of the kinds the engine expects; <c>delay</c> or <c>delay:MS</c>:
/// sleep MS milliseconds, default 100, one hit at a time across threads, so that tests can stop or watch
/// long work at a known pace on a machine of any speed), optionally <c>@N</c> to act on the N-th hit or
/// <c>@N+</c> on the N-th and every later one (an error that persists, e.g. a rename and its undo).
/// Named points are listed in docs/guarantees.md. With the variable unset each hit is one static read. A malformed
/// entry is refused when the variable is read: every hit then throws an <see cref="ArgumentException"/> naming the
/// variable, the entry and the allowed forms (<see cref="Parse"/>).
/// </summary>
internal static partial class FaultInjector
{
    public const string EnvironmentVariable = "DATARAXCKPT_FAULT";

    /// <summary>The forms an entry may take, for errors.</summary>
    internal const string AllowedForms = "point, point=kill, point=ioerror, point=diskfull, point=sqlite:CODE (an SQLite result code from 1 to "
        + "2147483647), point=bug, point=delay or point=delay:MS (MS from 0 to 2147483647 milliseconds), each optionally followed by @N (the N-th "
        + "hit, N >= 1) or @N+ (the N-th and every later hit)";

    /// <summary>The parsed variable: null when unset (each hit is then this one static read).</summary>
    private static readonly Plan? Configured = FromEnvironment();

    // Delays are taken one at a time so that N hits cost N delays whatever the number of cores.
    private static readonly object DelayGate = new();
    private static int _hits;

    /// <summary>What the variable asks for; <see cref="Invalid"/> is set instead when it cannot be parsed.</summary>
    internal sealed record Plan(string Point, string Action, int DelayMilliseconds, int TriggerOn, bool Persistent)
    {
        /// <summary>Why the variable was refused; every hit throws it, so the misconfigured test fails at once.</summary>
        public string? Invalid { get; init; }

        /// <summary>The result code of a <c>sqlite:CODE</c> action: primary (its low byte) and extended (the whole).</summary>
        public int SqliteCode { get; init; }
    }

    private static Plan? FromEnvironment()
    {
        var spec = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(spec))
        {
            return null;
        }

        try
        {
            return Parse(spec);
        }
        catch (ArgumentException e)
        {
            // Not thrown from the type initializer: that would surface as a TypeInitializationException.
            return new Plan(string.Empty, string.Empty, 0, 1, false) { Invalid = e.Message };
        }
    }

    /// <summary>
    /// Parses an entry. Refused: an unknown action (it used to kill the process), a delay that is not a number
    /// or is negative (<c>delay:-1</c> slept for ever holding the delay lock; <c>delay:abc</c> threw only when
    /// the point was hit), and a count that is not a whole number of at least 1.
    /// </summary>
    /// <exception cref="ArgumentException">The entry is malformed; the message names the variable, the entry and the allowed forms.</exception>
    internal static Plan Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        ArgumentException Refuse(string why) =>
            new($"{EnvironmentVariable}='{spec}' is not a valid fault entry: {why}. Allowed forms: {AllowedForms}.");

        var rest = spec.Trim();
        var triggerOn = 1;
        var persistent = false;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            var count = rest[(at + 1)..];
            persistent = count.EndsWith('+');
            var digits = persistent ? count[..^1] : count;
            if (!int.TryParse(digits, System.Globalization.NumberStyles.None, inv, out triggerOn) || triggerOn < 1)
            {
                throw Refuse($"the hit count '{count}' is not a whole number of at least 1 (optionally followed by '+')");
            }

            rest = rest[..at];
        }

        var eq = rest.IndexOf('=', StringComparison.Ordinal);
        var point = eq < 0 ? rest : rest[..eq];
        var action = eq < 0 ? "kill" : rest[(eq + 1)..];
        if (point.Length == 0)
        {
            throw Refuse("it names no point");
        }

        var delay = 0;
        var sqliteCode = 0;
        switch (action)
        {
            case "kill" or "ioerror" or "diskfull" or "bug":
                break;
            case "delay":
                delay = 100;
                break;
            case var d when d.StartsWith("delay:", StringComparison.Ordinal):
                if (!int.TryParse(d.AsSpan(6), System.Globalization.NumberStyles.None, inv, out delay))
                {
                    throw Refuse($"the delay '{d[6..]}' is not a whole number of milliseconds from 0 to {int.MaxValue}");
                }

                break;
            case var q when q.StartsWith("sqlite:", StringComparison.Ordinal):
                if (!int.TryParse(q.AsSpan(7), System.Globalization.NumberStyles.None, inv, out sqliteCode) || sqliteCode < 1)
                {
                    throw Refuse($"the SQLite result code '{q[7..]}' is not a whole number from 1 to {int.MaxValue}");
                }

                break;
            default:
                throw Refuse($"'{action}' is not an action");
        }

        var kind = action.StartsWith("delay", StringComparison.Ordinal) ? "delay" : sqliteCode > 0 ? "sqlite" : action;
        return new Plan(point, kind, delay, triggerOn, persistent) { SqliteCode = sqliteCode };
    }

    /// <summary>Marks a named point; acts when it is the configured one.</summary>
    public static void Hit(string point)
    {
        var plan = Configured;
        if (plan is null)
        {
            return;
        }

        if (plan.Invalid is { } invalid)
        {
            throw new ArgumentException(invalid);
        }

        if (!string.Equals(point, plan.Point, StringComparison.Ordinal))
        {
            return;
        }

        var hit = Interlocked.Increment(ref _hits);
        if (hit < plan.TriggerOn || (hit > plan.TriggerOn && !plan.Persistent))
        {
            return;
        }

        switch (plan.Action)
        {
            case "ioerror":
                throw new IOException($"Injected I/O error at '{point}'.");
            case "diskfull":
                throw new IOException($"No space left on device (injected at '{point}').", unchecked((int)0x80070070));
            case "sqlite":
                // As Microsoft.Data.Sqlite reports one: the primary code (SQLite's low byte) and the extended code.
                throw new Microsoft.Data.Sqlite.SqliteException($"SQLite Error {plan.SqliteCode}: injected at '{point}'.", plan.SqliteCode & 0xFF, plan.SqliteCode);
            case "bug":
                throw new InvalidOperationException($"Injected unexpected error at '{point}'.");
            case "delay":
                Delay(plan.DelayMilliseconds);
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
