using System.Diagnostics;

namespace DataraxCkpt.Tests.Storage;

/// <summary>A read-only bind mount of a folder (mount --bind, then remount ro), unmounted on dispose. Needs root on Linux.</summary>
internal sealed class ReadOnlyMount : IDisposable
{
    private ReadOnlyMount(string path) => Path = path;

    public string Path { get; }

    public static ReadOnlyMount Of(string source, string mountPoint)
    {
        Directory.CreateDirectory(mountPoint);
        Run("mount", "--bind", source, mountPoint);
        var mount = new ReadOnlyMount(mountPoint);
        try
        {
            Run("mount", "-o", "remount,ro,bind", mountPoint);
            return mount;
        }
        catch
        {
            mount.Dispose();
            throw;
        }
    }

    /// <summary>Whether this process may make bind mounts (probed once with a throw-away mount), and why not.</summary>
    public static readonly Lazy<string?> WhyNot = new(() =>
    {
        if (!OperatingSystem.IsLinux())
        {
            return "bind mounts are a Linux feature";
        }

        var probe = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "dxck-mount-probe-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(probe);
        try
        {
            try
            {
                using (Of(probe, probe))
                {
                }

                return null;
            }
            catch (InvalidOperationException e)
            {
                return e.Message;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                return $"mount could not be started: {e.Message}";
            }
        }
        finally
        {
            Directory.Delete(probe);
        }
    });

    public void Dispose() => Run("umount", Path);

    internal static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {p.ExitCode}: {err.Trim()}");
        }
    }
}

/// <summary>A fact that needs a real read-only bind mount: skipped, with the reason, where mounting is not permitted.</summary>
internal sealed class RootMountFactAttribute : FactAttribute
{
    public RootMountFactAttribute()
    {
        if (ReadOnlyMount.WhyNot.Value is { } why)
        {
            Skip = $"A read-only bind mount cannot be made here ({why}); the simulated read-only tests still run.";
        }
    }
}
