using System.Diagnostics;

namespace DataraxCkpt.Tests.Support;

/// <summary>The <c>lz4</c> command-line tool as a second reader of the frames the engine writes.</summary>
public static class Lz4Tool
{
    /// <summary>Where the tool is installed (build.ps1 -Task Test installs it).</summary>
    public const string Path = "/usr/bin/lz4";

    /// <summary>What <c>lz4 -d -c</c> decodes from the frame at <paramref name="file"/>; the tool must exit 0.</summary>
    public static byte[] Decompress(string file)
    {
        var psi = new ProcessStartInfo(Path, ["-d", "-c", file]) { RedirectStandardOutput = true };
        using var lz4 = Process.Start(psi)!;
        using var output = new MemoryStream();
        lz4.StandardOutput.BaseStream.CopyTo(output);
        lz4.WaitForExit();
        Assert.Equal(0, lz4.ExitCode);
        return output.ToArray();
    }
}
