using DataraxCkpt.Tests.Support;
using System.Diagnostics;
using System.Reflection;
using DataraxCkpt.Tests.Pipelines;

namespace DataraxCkpt.Tests.Examples;

/// <summary>
/// Runs examples/PipelineResume as a child process, kills it with SIGKILL (<see cref="Process.Kill()"/>)
/// in the middle of a run, restarts it on the same checkpoint directory, and compares its final hash
/// with an uninterrupted run's.
/// </summary>
public sealed class PipelineResumeExampleTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private static string ExampleDll =>
        typeof(PipelineResumeExampleTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "PipelineResumeDll").Value!;

    private static string[] Options(long seed = 7, long delayMs = 0) =>
        ["--records", "500", "--batch-size", "16", "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
         "--batches", "120", "--every", "10", "--keep", "3", "--delay-ms", delayMs.ToString(System.Globalization.CultureInfo.InvariantCulture)];

    [Fact]
    public void Killed_mid_run_and_restarted_twice_the_example_prints_the_uninterrupted_final_hash()
    {
        Assert.True(File.Exists(ExampleDll), $"example not built at {ExampleDll}");
        using var uninterruptedDir = new TempDirectory();
        using var interruptedDir = new TempDirectory();

        var reference = FinalHash(RunToEnd(uninterruptedDir.Path, Options()));

        // Kill between two saves (37 and 83 are not multiples of the save interval), so that the run
        // must both redo unsaved batches and continue its hash from the checkpoint.
        var firstLife = RunUntilKilled(interruptedDir.Path, Options(delayMs: 5), "batch 37 ");
        Assert.DoesNotContain(firstLife, l => l.StartsWith("final hash:", StringComparison.Ordinal));
        var secondLife = RunUntilKilled(interruptedDir.Path, Options(delayMs: 5), "batch 83 ");
        Assert.Contains(secondLife, l => l.StartsWith("resumed from step ", StringComparison.Ordinal));
        var lastLife = RunToEnd(interruptedDir.Path, Options());

        Assert.Contains(lastLife, l => l.StartsWith("resumed from step ", StringComparison.Ordinal));
        Assert.Equal(reference, FinalHash(lastLife));
    }

    [Fact]
    public void The_final_hash_depends_on_the_batches_seen()
    {
        using var a = new TempDirectory();
        using var b = new TempDirectory();

        Assert.NotEqual(FinalHash(RunToEnd(a.Path, Options(seed: 7))), FinalHash(RunToEnd(b.Path, Options(seed: 8))));
    }

    private static string FinalHash(IReadOnlyList<string> lines)
    {
        var line = Assert.Single(lines, l => l.StartsWith("final hash: ", StringComparison.Ordinal));
        return line["final hash: ".Length..];
    }

    private static Process Start(string directory, string[] options)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(ExampleDll);
        info.ArgumentList.Add(directory);
        foreach (var option in options)
        {
            info.ArgumentList.Add(option);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start the example");
    }

    private static List<string> RunToEnd(string directory, string[] options)
    {
        using var process = Start(directory, options);
        var stderr = process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            lines.Add(line);
        }

        if (!process.WaitForExit(Timeout))
        {
            process.Kill();
            Assert.Fail("the example did not finish in time");
        }

        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}: {stderr.Result}");
        return lines;
    }

    private static List<string> RunUntilKilled(string directory, string[] options, string marker)
    {
        using var process = Start(directory, options);
        _ = process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        var watch = Stopwatch.StartNew();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            lines.Add(line);
            if (line.StartsWith(marker, StringComparison.Ordinal) || watch.Elapsed > Timeout)
            {
                process.Kill(); // SIGKILL on Unix: no finally blocks, no flushing, no disposal
                break;
            }
        }

        Assert.True(process.WaitForExit(Timeout), "the killed example did not exit");
        Assert.Contains(lines, l => l.StartsWith(marker, StringComparison.Ordinal));
        return lines;
    }
}
