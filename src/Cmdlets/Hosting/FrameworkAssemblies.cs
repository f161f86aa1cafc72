using System.Reflection;

namespace DataraxCkpt.Commands.Hosting;

/// <summary>
/// The assemblies of the shared framework pwsh runs on (Microsoft.NETCore.App), by simple name, with their
/// versions. The module's lib folder also carries NuGet copies of some of them (System.Text.Json and its
/// dependencies, for pwsh 7.4 on .NET 8); where the running framework's own copy is at least the version
/// the engine was built against, that copy is the one to use: it is the same code, precompiled
/// (ReadyToRun), where the NuGet copy is JIT-compiled from IL on first use and again when it gets hot.
/// </summary>
internal static class FrameworkAssemblies
{
    private static readonly Lazy<Dictionary<string, Version?>> s_versions = new(Read);

    /// <summary>
    /// True when the running framework has an assembly of this name whose version is at least the one
    /// requested, so the default context (which always answers framework names from the framework) serves it.
    /// </summary>
    public static bool Provides(AssemblyName requested)
    {
        if (requested.Name is null || !s_versions.Value.TryGetValue(requested.Name, out var version) || version is null)
        {
            return false;
        }

        return requested.Version is null || version >= requested.Version;
    }

    private static Dictionary<string, Version?> Read()
    {
        var result = new Dictionary<string, Version?>(StringComparer.OrdinalIgnoreCase);
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
                    result[name.Name] = name.Version;
                }
            }
            catch (Exception e) when (e is BadImageFormatException or IOException or UnauthorizedAccessException)
            {
                // A native file or an unreadable entry: not an assembly the engine could take from the framework.
            }
        }

        return result;
    }
}
