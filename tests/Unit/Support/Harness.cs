using System.Diagnostics;

namespace DataraxCkpt.Tests.Support;

/// <summary>Runs the crash harness (tests/CrashHarness) as a child process.</summary>
public static class Harness
{
    /// <summary>Exit code of a process killed by SIGKILL, as .NET reports it.</summary>
    public const int Killed = 137;

    public static string DllPath
    {
        get
        {
            var beside = Path.Combine(AppContext.BaseDirectory, "DataraxCkpt.CrashHarness.dll");
            if (File.Exists(beside) && File.Exists(Path.ChangeExtension(beside, ".runtimeconfig.json")))
            {
                return beside;
            }

            // tests/Unit/bin/<cfg>/net10.0 → tests/CrashHarness/bin/<cfg>/net10.0
            var own = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var config = own.Parent!.Name;
            return Path.GetFullPath(Path.Combine(own.FullName, "..", "..", "..", "..", "CrashHarness", "bin", config, own.Name, "DataraxCkpt.CrashHarness.dll"));
        }
    }

    public static Process Start(string? fault, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(DllPath);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DATARAXCKPT_FAULT"] = fault ?? string.Empty;
        // A child killed with SIGKILL cannot remove the runtime's diagnostic pipes (clr-debug-pipe-*,
        // dotnet-diagnostic-*) from the temp folder; thousands of crash runs left ~10,000 of them there,
        // which slowed every PowerShell path lookup in /tmp to milliseconds. The children need no debugger.
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        return Process.Start(psi)!;
    }

    /// <summary>Runs to the end and returns the exit code and the output.</summary>
    public static (int ExitCode, string Output) Run(string? fault, params string[] args)
    {
        using var p = Start(fault, args);
        return Wait(p);
    }

    /// <summary>Waits (3 minutes at most) for a started harness process, the harness alone or under a tracer, and returns its exit code and output.</summary>
    public static (int ExitCode, string Output) Wait(Process p)
    {
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("harness did not finish in 3 minutes");
        }

        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
