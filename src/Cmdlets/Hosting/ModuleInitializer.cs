using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace DataraxCkpt.Commands.Hosting;

/// <summary>
/// Runs when the module is imported and removed. It teaches the default load context to find
/// DataraxCkpt.Engine — and only that assembly — in the module's private <see cref="EngineLoadContext"/>,
/// and DataraxCkpt.Types beside the root module (the manifest's RequiredAssemblies normally loads it
/// first; this covers a session that imports the root module's dll directly).
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private const string EngineAssemblyName = "DataraxCkpt.Engine";

    // The module's one mutable static: the context must outlive any single cmdlet call and be
    // created once per process, since an assembly can load only once into a context.
    private static EngineLoadContext? s_engineContext;

    /// <summary>Hooks assembly resolution on import.</summary>
    public void OnImport()
    {
        AssemblyLoadContext.Default.Resolving -= ResolveEngine;
        AssemblyLoadContext.Default.Resolving += ResolveEngine;
    }

    /// <summary>Unhooks assembly resolution when the module is removed.</summary>
    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        AssemblyLoadContext.Default.Resolving -= ResolveEngine;
    }

    private static Assembly? ResolveEngine(AssemblyLoadContext defaultContext, AssemblyName assemblyName)
    {
        if (string.Equals(assemblyName.Name, EngineLoadContext.SharedTypesAssemblyName, StringComparison.Ordinal))
        {
            var typesPath = Path.Combine(ModuleFolder(), EngineLoadContext.SharedTypesAssemblyName + ".dll");
            return File.Exists(typesPath) ? defaultContext.LoadFromAssemblyPath(typesPath) : null;
        }

        if (!string.Equals(assemblyName.Name, EngineAssemblyName, StringComparison.Ordinal))
        {
            return null;
        }

        var context = LazyInitializer.EnsureInitialized(ref s_engineContext, CreateContext);
        return context.LoadFromAssemblyName(assemblyName);
    }

    private static string ModuleFolder() =>
        Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)
            ?? throw new InvalidOperationException("The DataraxCkpt module's folder cannot be determined.");

    private static EngineLoadContext CreateContext()
    {
        var enginePath = Path.Combine(ModuleFolder(), "lib", EngineAssemblyName + ".dll");
        if (!File.Exists(enginePath))
        {
            throw new FileNotFoundException(
                $"The DataraxCkpt engine was not found at '{enginePath}'. Rebuild the module with ./build.ps1 -Task Build.", enginePath);
        }

        return new EngineLoadContext(enginePath);
    }
}
