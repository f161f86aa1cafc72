using System.Reflection;
using System.Runtime.Loader;

namespace DataraxCkpt.Commands.Hosting;

/// <summary>
/// The private load context of the engine and all its dependencies (SQLite, LZ4, tensors).
/// pwsh ignores a module's deps.json, so the native e_sqlite3 would never be found and another
/// module's copy of Microsoft.Data.Sqlite could be picked instead of ours; resolving through the
/// engine's own deps.json fixes both. DataraxCkpt.Types is the one module assembly that does not load
/// here: it defers to the default context, so that scripts, the cmdlets and the engine share one copy
/// of the user-facing types.
/// </summary>
internal sealed class EngineLoadContext : AssemblyLoadContext
{
    /// <summary>The assembly of the user-facing types, shared with the default context.</summary>
    internal const string SharedTypesAssemblyName = "DataraxCkpt.Types";

    private readonly AssemblyDependencyResolver _resolver;

    /// <summary>Creates the context for the engine at <paramref name="engineAssemblyPath"/>.</summary>
    public EngineLoadContext(string engineAssemblyPath)
        : base("DataraxCkpt.Engine", isCollectible: false)
    {
        EngineAssemblyPath = engineAssemblyPath;
        _resolver = new AssemblyDependencyResolver(engineAssemblyPath);
    }

    /// <summary>Full path of DataraxCkpt.Engine.dll in the module's lib folder.</summary>
    public string EngineAssemblyPath { get; }

    /// <inheritdoc />
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // Only what the engine's deps.json lists loads here; framework assemblies come from the
        // default context (returning null falls back to it), so types like Hashtable stay shared.
        // The user-facing types must be the default context's copy too, or a script's
        // [DataraxCkpt.PrngKey] would be a different type from the one the engine reads.
        if (string.Equals(assemblyName.Name, SharedTypesAssemblyName, StringComparison.Ordinal))
        {
            return null;
        }

        // A framework assembly the module also ships (System.Text.Json for pwsh 7.4) comes from the framework
        // when the framework's copy is new enough (version and servicing release): precompiled, it spares the
        // JIT work of every first save and restore in a session (docs/performance-notes.md, round 4).
        var path = _resolver.ResolveAssemblyToPath(assemblyName);
        if (FrameworkAssemblies.Provides(assemblyName, path))
        {
            return null;
        }

        if (path is null)
        {
            return null;
        }

        // The copy build.ps1 precompiled for this OS, architecture and runtime version, when there is one;
        // there is no falling back after a failed load (the context remembers the failure for the name), so
        // the folder is chosen by the same three things the image was compiled for.
        return LoadFromAssemblyPath(ReadyToRunImages.For(path) ?? path);
    }

    /// <inheritdoc />
    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        var path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }
}
