using System.Diagnostics;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Attack on 26c2355 (a save's commit no longer probes its own staging lock). With the runtime's file locking turned off
/// (DOTNET_SYSTEM_IO_DISABLEFILELOCKING=1 or the System.IO.DisableFileLocking switch, which makes FileShare.None take no
/// flock on Unix), neither the directory lock nor any staging owner lock excludes anyone: every other save's staging
/// folder looks abandoned to a writer's recovery, which rolls back its intent and sweeps its files while it writes. On
/// a8edeba every save failed there, loudly (its commit's probe found its own lock free, rolled its own save back and
/// the publish found no folder). Since 26c2355 a lone writer's saves succeed, so nothing tells the user until two
/// writers meet and one loses a live save. A store must not accept a save it cannot guard.
/// </summary>
public sealed class DisabledFileLockingAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public void A_save_is_not_accepted_when_the_runtime_takes_no_file_locks()
    {
        Skip.If(OperatingSystem.IsWindows(), "the switch only turns off the flock .NET takes on Unix; Windows share modes stay");
        var ck = _dir.Sub("ck");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Harness.DllPath, "save", ck, "1", "1", "1", "4" })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DATARAXCKPT_FAULT"] = string.Empty;
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        psi.Environment["DOTNET_SYSTEM_IO_DISABLEFILELOCKING"] = "1";
        psi.Environment["DATARAXCKPT_ALLOW_NETWORK_FS"] = string.Empty;
        using var p = Process.Start(psi)!;
        var (exit, output) = Harness.Wait(p);
        Assert.True(exit != 0, "a save was accepted where no lock excludes another writer: " + output);
        // The harness prints a CheckpointException as 'ErrorId: message': the refusal, naming the variable and the way out.
        Assert.Contains("FileLockingDisabled: Checkpoint directory '" + ck + "' cannot be written by this process", output, StringComparison.Ordinal);
        Assert.Contains("Unset DOTNET_SYSTEM_IO_DISABLEFILELOCKING", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(ck), "the refused save created its directory");
        using var check = new CheckpointHandler();
        Assert.Empty(check.GetCheckpointSteps(ck));
    }
}
