using System.Runtime.InteropServices;

namespace DataraxCkpt.Commands.Hosting;

/// <summary>
/// The ReadyToRun copies of the engine's assemblies that build.ps1 compiles for the building machine, kept
/// apart in lib/readytorun/&lt;rid&gt;-net&lt;major&gt; because a runtime refuses to load a ReadyToRun image
/// compiled for another OS or architecture (BadImageFormatException) rather than falling back to its IL.
/// lib/ itself stays IL-only, so the same module folder or package loads on every supported runtime.
/// </summary>
internal static class ReadyToRunImages
{
    private static readonly string s_folder = Path.Combine("readytorun", $"{RuntimeIdentifier()}-net{Environment.Version.Major}");

    /// <summary>The precompiled copy of the lib/ assembly at <paramref name="ilPath"/> for this runtime, or null.</summary>
    public static string? For(string ilPath)
    {
        var folder = Path.GetDirectoryName(ilPath);
        if (folder is null)
        {
            return null;
        }

        var candidate = Path.Combine(folder, s_folder, Path.GetFileName(ilPath));
        return File.Exists(candidate) ? candidate : null;
    }

    /// <summary>
    /// What a ReadyToRun image is compiled for (crossgen2's target OS and architecture), named as build.ps1
    /// names the folder: glibc and musl Linux share one target, and the process's architecture is the one
    /// whose code runs (an x64 pwsh emulated on arm64 is x64).
    /// </summary>
    private static string RuntimeIdentifier()
    {
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        return $"{os}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
    }
}
