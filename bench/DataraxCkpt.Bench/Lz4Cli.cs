using System.Diagnostics;

namespace DataraxCkpt.Bench;

/// <summary>The <c>lz4</c> command-line tool (fast level) on the same bytes: compress to a file plus fsync, and decompress.</summary>
internal static class Lz4Cli
{
    public const string ToolPath = "/usr/bin/lz4";

    public static bool Available => File.Exists(ToolPath);

    /// <summary>Compresses <paramref name="input"/> and makes the output durable, as a save must.</summary>
    public static void Compress(string input, string output)
    {
        Run(ToolPath, ["-1", "-f", "-q", input, output]);
        using var file = new FileStream(output, FileMode.Open, FileAccess.ReadWrite);
        file.Flush(flushToDisk: true);
    }

    /// <summary>Decompresses to /dev/null: the tool's decode speed, without a destination file's cost.</summary>
    public static void Decompress(string input) => Run("/bin/sh", ["-c", $"{ToolPath} -d -c -q '{input}' > /dev/null"]);

    private static void Run(string file, string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { UseShellExecute = false })
            ?? throw new InvalidOperationException($"could not start {file}");
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}");
        }
    }
}
