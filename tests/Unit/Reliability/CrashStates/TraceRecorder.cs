using System.Diagnostics;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>
/// Records the file-system calls of one crash-harness command (tests/CrashHarness) with
/// <c>strace -f -y -x -s N</c>: every thread, file descriptors annotated with their paths, every
/// written buffer printed whole. Debian's <c>strace</c> package provides it; <c>build.ps1 -Task Test</c>
/// installs it when missing.
/// </summary>
internal static class TraceRecorder
{
    /// <summary>The calls that change persistent state or say where a descriptor points.</summary>
    public const string TracedCalls = "open,openat,creat,close,write,pwrite64,writev,pwritev,pwritev2,lseek,fsync,fdatasync,"
        + "rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,rmdir,ftruncate,truncate,fallocate,link,linkat,symlink,symlinkat";

    /// <summary>Largest buffer strace prints whole; traced states are kept far below it.</summary>
    private const int MaxString = 64 << 20;

    /// <summary>The strace executable, or null when this machine has none.</summary>
    public static string? FindStrace()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin").Append("/usr/sbin"))
        {
            var candidate = Path.Combine(dir, "strace");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// Runs the harness with <paramref name="args"/> under strace; returns the trace's lines. With
    /// <paramref name="failExchange"/>, strace makes every renameat2 fail with EINVAL (as NFS or FUSE do).
    /// </summary>
    public static string[] Record(string traceFile, bool failExchange, params string[] args)
    {
        var strace = FindStrace() ?? throw new InvalidOperationException("strace is not installed (apt-get install strace)");
        var psi = new ProcessStartInfo(strace) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-f", "-qq", "-y", "-x", "-s", MaxString.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-e", "signal=none", "-e", "trace=" + TracedCalls, "-o", traceFile, "--", "dotnet", Harness.DllPath })
        {
            psi.ArgumentList.Add(a);
        }

        if (failExchange)
        {
            psi.ArgumentList.Insert(psi.ArgumentList.IndexOf("--"), "-e");
            psi.ArgumentList.Insert(psi.ArgumentList.IndexOf("--"), "inject=renameat2:error=EINVAL");
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DATARAXCKPT_FAULT"] = string.Empty;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("the traced harness did not finish in 3 minutes");
        }

        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"the traced harness ({string.Join(' ', args)}) exited {p.ExitCode}: {stdout.Result}{stderr.Result}");
        }

        return File.ReadAllLines(traceFile);
    }
}
