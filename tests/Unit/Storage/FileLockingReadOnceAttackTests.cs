using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Attack on 07ecb04: the runtime reads DOTNET_SYSTEM_IO_DISABLEFILELOCKING once, when it first opens a file (at process
/// start), and keeps it; the store read the variable again at every change. A PowerShell user's
/// <c>$env:DOTNET_SYSTEM_IO_DISABLEFILELOCKING = $null</c> in a session started with it set let every save through while
/// the runtime still took no lock (the refusal bypassed); setting it in a session whose runtime locks refused every
/// change although the locks work. What decides is whether this process's runtime takes the lock. Not parallel: it
/// changes the test process's environment, which every other test's store would read.
/// </summary>
[Collection(Name)]
public sealed class FileLockingReadOnceAttackTests : IDisposable
{
    public const string Name = "Process environment (not parallel)";

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public void A_variable_set_after_the_runtime_read_it_does_not_refuse_saves_it_still_guards()
    {
        Skip.If(OperatingSystem.IsWindows(), "the switch only turns off the flock .NET takes on Unix");
        var ck = _dir.Sub("ck");
        var before = Environment.GetEnvironmentVariable(RuntimeFileLocking.EnvironmentVariable);
        Environment.SetEnvironmentVariable(RuntimeFileLocking.EnvironmentVariable, "1");
        try
        {
            // This process's runtime read the variable unset long ago: its FileShare.None opens still exclude.
            var probe = Path.Combine(_dir.Path, "probe");
            using (var first = new FileStream(probe, FileMode.Create, FileAccess.ReadWrite, FileShare.None))
            {
                Assert.Throws<IOException>(() => new FileStream(probe, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose());
            }

            using var h = new CheckpointHandler(new CheckpointOptions { AllowNetworkFileSystem = false });
            h.Save(ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
            Assert.Equal([1L], h.GetCheckpointSteps(ck));
        }
        finally
        {
            Environment.SetEnvironmentVariable(RuntimeFileLocking.EnvironmentVariable, before);
        }
    }
}

[CollectionDefinition(FileLockingReadOnceAttackTests.Name, DisableParallelization = true)]
public sealed class ProcessEnvironmentCollection
{
}
