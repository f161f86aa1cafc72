using System.Diagnostics;
using DataraxCkpt.Tests.Reliability.CrashStates;

namespace DataraxCkpt.Tests.Support;

/// <summary>
/// Runs the crash harness under strace, one system call on one file failing with a real errno from its N-th call on
/// (<c>-e inject=SYSCALL:error=ERRNO:when=WHEN</c>; <c>-P</c> counts only the calls on that path), in a child process:
/// the engine and SQLite see the errno exactly as a failing disk, a full one or a read-only mount gives it.
/// </summary>
internal static class InjectedErrno
{
    /// <param name="syscall">The call that fails: pread64, pwrite64, fsync, fcntl, ftruncate…</param>
    /// <param name="errno">Its errno's name: EIO, ENOSPC, EDQUOT, EROFS, EACCES…</param>
    /// <param name="when">strace's when: "3+" fails the third call and every later one, "5" the fifth alone.</param>
    /// <param name="file">The file whose calls are counted and failed (strace -P: a descriptor open on it counts too).</param>
    /// <param name="args">The harness's arguments.</param>
    public static (int ExitCode, string Output) Run(string syscall, string errno, string when, string file, params string[] args) =>
        Run(syscall, errno, when, [file], args);

    /// <summary>As above, the calls on any of <paramref name="files"/> counted and failed.</summary>
    public static (int ExitCode, string Output) Run(string syscall, string errno, string when, string[] files, params string[] args)
    {
        using var p = Start(syscall, errno, when, files, null, args);
        return Harness.Wait(p);
    }

    /// <summary>
    /// As above, started and not waited for (<see cref="Harness.Wait"/>), with the engine's own fault point
    /// <paramref name="fault"/> (<c>DATARAXCKPT_FAULT</c>, e.g. <c>repair.after-index-main-aside=kill</c>) set as well.
    /// </summary>
    public static Process Start(string syscall, string errno, string when, string[] files, string? fault, params string[] args) =>
        StartTraced(
            new[] { "-e", $"trace={syscall}", "-e", $"inject={syscall}:error={errno}:when={when}" }.Concat(files.SelectMany(f => new[] { "-P", f })),
            fault, args);

    /// <summary>The harness under strace with <paramref name="straceArgs"/> of the test's own (several injections), run to its end.</summary>
    public static (int ExitCode, string Output) RunTraced(IEnumerable<string> straceArgs, params string[] args)
    {
        using var p = StartTraced(straceArgs, null, args);
        return Harness.Wait(p);
    }

    private static Process StartTraced(IEnumerable<string> straceArgs, string? fault, string[] args)
    {
        var strace = TraceRecorder.FindStrace() ?? throw new InvalidOperationException("strace is not installed (apt-get install strace)");
        var psi = new ProcessStartInfo(strace) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-f", "-qq", "-o", "/dev/null" }.Concat(straceArgs).Concat(["--", "dotnet", Harness.DllPath]).Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DATARAXCKPT_FAULT"] = fault ?? string.Empty;
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        return Process.Start(psi)!;
    }
}
