using System.Globalization;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests.Reliability;

/// <summary>The checks every reliability suite repeats: exact restores, no leftovers, figures printed for CI.</summary>
public static class StoreAssert
{
    private static readonly object FigureGate = new();

    /// <summary>Restores <paramref name="step"/> and compares it byte for byte with what HarnessState generates.</summary>
    public static void RestoresExactly(CheckpointHandler h, string dir, long step, int seed, int tensors, int floats = HarnessState.MebibyteOfFloats)
    {
        var expected = HarnessState.Create(step, seed, tensors, floats);
        var actual = Assert.IsType<Dictionary<string, object?>>(h.Restore(dir, step));
        Assert.True(HarnessDigest.Of(expected) == HarnessDigest.Of(actual), $"step {step} does not restore exactly what was saved (seed {seed})");
    }

    /// <summary>No staging or trash folder is left, and the index lists exactly the numbered folders.</summary>
    public static void NoLeftovers(string dir)
    {
        foreach (var folder in new[] { ".staging", ".trash" })
        {
            var path = Path.Combine(dir, folder);
            if (Directory.Exists(path))
            {
                Assert.DoesNotContain(Directory.GetFileSystemEntries(path), e => !e.EndsWith(".lock", StringComparison.Ordinal));
            }
        }

        using var h = new CheckpointHandler();
        var numbered = Directory.GetDirectories(dir).Select(Path.GetFileName)
            .Where(n => n!.Length > 0 && n.All(char.IsAsciiDigit)).Select(n => long.Parse(n!, CultureInfo.InvariantCulture)).Order();
        Assert.Equal(numbered, h.GetCheckpointSteps(dir));
    }

    /// <summary>Prints one figure line; docs/guarantees.md quotes these lines.</summary>
    public static void Figure(ITestOutputHelper output, int guarantee, string what, string figures)
    {
        var line = $"FIGURE guarantee {guarantee} | {what} | {figures}";
        output.WriteLine(line);
        Console.WriteLine(line);

        // tests/soak.ps1 collects every figure of a soak in one file.
        var file = Environment.GetEnvironmentVariable("DATARAXCKPT_FIGURES_FILE");
        if (!string.IsNullOrEmpty(file))
        {
            lock (FigureGate)
            {
                File.AppendAllText(file, line + Environment.NewLine);
            }
        }
    }
}
