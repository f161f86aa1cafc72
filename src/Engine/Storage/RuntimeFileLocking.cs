using System.Reflection;
using Microsoft.Win32.SafeHandles;

namespace DataraxCkpt.Storage;

/// <summary>
/// Whether the .NET runtime's file locking is turned off in this process. Off, a <see cref="FileShare.None"/> open takes
/// no <c>flock</c> on Unix, so neither the directory's <c>.lock</c> nor a save's staging owner lock excludes anyone: two
/// writers are not kept apart, and every other save's staging lock reads as free, so a writer's recovery rolls back and
/// sweeps saves still being written. The runtime reads its setting once, at its first file open (the AppContext switch
/// when set, either way, else the environment variable as <c>1</c> or <c>true</c> in any case), and keeps it: a variable
/// set or removed later in the process (<c>$env:</c> in a PowerShell session) changes nothing. So the value the runtime
/// keeps is read (SafeFileHandle.DisableFileLocking); only where it cannot be are the switch and variable read as the
/// runtime reads them. Once per process.
/// </summary>
internal static class RuntimeFileLocking
{
    /// <summary>The AppContext switch the runtime reads.</summary>
    public const string SwitchName = "System.IO.DisableFileLocking";

    /// <summary>The environment variable the runtime reads when the switch is not set.</summary>
    public const string EnvironmentVariable = "DOTNET_SYSTEM_IO_DISABLEFILELOCKING";

    private static readonly Lazy<bool> Decided = new(Decide, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>True when this process's runtime takes no file locks.</summary>
    public static bool Disabled() => Decided.Value;

    /// <summary>The runtime's rule: a set switch decides; else the variable, <c>1</c> or <c>true</c> in any case, turns locking off.</summary>
    internal static bool Disabled(bool? appContextSwitch, string? environmentValue) =>
        appContextSwitch ?? (environmentValue is { } v && (v == "1" || string.Equals(v, "true", StringComparison.OrdinalIgnoreCase)));

    private static bool FromConfiguration() =>
        Disabled(AppContext.TryGetSwitch(SwitchName, out var value) ? value : null, Environment.GetEnvironmentVariable(EnvironmentVariable));

    private static bool Decide()
    {
        if (OperatingSystem.IsWindows())
        {
            // The switch turns off only the flock .NET takes on Unix; Windows share modes stay.
            return false;
        }

        try
        {
            if (typeof(SafeFileHandle).GetProperty("DisableFileLocking", BindingFlags.NonPublic | BindingFlags.Static)?.GetValue(null) is bool kept)
            {
                return kept;
            }
        }
        catch (Exception)
        {
            // Lazy would keep an exception and throw it at every later save: a runtime whose property cannot be read
            // falls back to the configuration, as one without it does.
        }

        // Not a second exclusive open of a scratch file: on a temporary folder where flock is a no-op (Linux NFS takes
        // POSIX locks, which one process never holds against itself) it would read as "off" and refuse every save.
        return FromConfiguration();
    }
}
