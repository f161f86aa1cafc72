using System.Diagnostics;
using System.Reflection;

namespace DataraxCkpt.Commands.Hosting;

/// <summary>
/// The assemblies of the shared framework pwsh runs on (Microsoft.NETCore.App), by simple name, with their
/// versions. The module's lib folder also carries NuGet copies of some of them (System.Text.Json and its
/// dependencies, for pwsh 7.4 on .NET 8); where the running framework's own copy is at least the version
/// the engine was built against and at least the servicing release of the shipped copy, that copy is the
/// one to use: it is the same code, precompiled (ReadyToRun), where the NuGet copy is JIT-compiled from IL
/// on first use and again when it gets hot.
/// </summary>
internal static class FrameworkAssemblies
{
    private static readonly Lazy<Dictionary<string, FrameworkAssembly>> s_assemblies = new(Read);

    /// <summary>
    /// True when the running framework has an assembly of this name whose version is at least the one
    /// requested and whose file version is at least that of the module's copy at <paramref name="shippedPath"/>
    /// (when the module ships one), so the default context (which always answers framework names from the
    /// framework) serves it.
    /// </summary>
    public static bool Provides(AssemblyName requested, string? shippedPath)
    {
        if (requested.Name is null || !s_assemblies.Value.TryGetValue(requested.Name, out var framework))
        {
            return false;
        }

        return Prefers(framework.Version, framework.FileVersion, requested.Version,
            shippedPath is null ? null : FileVersionOf(shippedPath));
    }

    /// <summary>
    /// The decision of <see cref="Provides"/> from the versions alone. The assembly version alone is not
    /// enough: it stays the same across a major version's servicing releases (System.Text.Json is 8.0.0.0
    /// from 8.0.0 to 8.0.x), so a module's NuGet copy carrying a servicing fix (System.Text.Json 8.0.4,
    /// CVE-2024-30105, in JSON the engine reads from disk) would otherwise give way to an older framework's
    /// unfixed copy. The file version tells servicing releases apart; without one, the shipped copy stays.
    /// </summary>
    internal static bool Prefers(Version? frameworkVersion, Version? frameworkFileVersion, Version? requestedVersion, Version? shippedFileVersion)
    {
        if (frameworkVersion is null || (requestedVersion is not null && frameworkVersion < requestedVersion))
        {
            return false;
        }

        return shippedFileVersion is null || (frameworkFileVersion is not null && frameworkFileVersion >= shippedFileVersion);
    }

    private static Version? FileVersionOf(string path)
    {
        try
        {
            var info = FileVersionInfo.GetVersionInfo(path);
            return info.FileMajorPart == 0 && info.FileMinorPart == 0 && info.FileBuildPart == 0 && info.FilePrivatePart == 0
                ? null
                : new Version(info.FileMajorPart, info.FileMinorPart, info.FileBuildPart, info.FilePrivatePart);
        }
        catch (Exception e) when (e is FileNotFoundException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static Dictionary<string, FrameworkAssembly> Read()
    {
        var result = new Dictionary<string, FrameworkAssembly>(StringComparer.OrdinalIgnoreCase);
        // Only the framework's own folder: pwsh's application assemblies are on the same list, and the
        // engine's private context exists to keep its dependencies apart from theirs and other modules'.
        var frameworkFolder = Path.GetDirectoryName(typeof(object).Assembly.Location);
        if (string.IsNullOrEmpty(frameworkFolder) || AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is not string list)
        {
            return result;
        }

        foreach (var path in list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (!string.Equals(Path.GetDirectoryName(path), frameworkFolder, StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                var name = AssemblyName.GetAssemblyName(path);
                if (name.Name is not null)
                {
                    result[name.Name] = new FrameworkAssembly(path, name.Version);
                }
            }
            catch (Exception e) when (e is BadImageFormatException or IOException or UnauthorizedAccessException)
            {
                // A native file or an unreadable entry: not an assembly the engine could take from the framework.
            }
        }

        return result;
    }

    /// <summary>One framework assembly; its file version is read only for the few names the module also ships.</summary>
    private sealed class FrameworkAssembly(string path, Version? version)
    {
        private readonly Lazy<Version?> _fileVersion = new(() => FileVersionOf(path));

        public Version? Version { get; } = version;

        public Version? FileVersion => _fileVersion.Value;
    }
}
