using System.Globalization;

namespace DataraxCkpt.Bench;

/// <summary>
/// CPU time of the Azurite process serving a blob port, from /proc/&lt;pid&gt;/stat (utime + stime), so that a
/// remote operation's cost can be split into the client's (this process) and the store's. Azurite runs on the
/// same cores, so its CPU time is what the store costs, while wall time also holds waits for a core.
/// </summary>
internal sealed class ServerCpu
{
    /// <summary>Clock ticks per second of /proc/&lt;pid&gt;/stat's times (USER_HZ, 100 on every Linux build .NET runs on).</summary>
    private const double TicksPerSecond = 100;

    private readonly string _statPath;

    private ServerCpu(int pid)
    {
        Pid = pid;
        _statPath = $"/proc/{pid}/stat";
    }

    public int Pid { get; }

    /// <summary>The process started with <c>--blobPort &lt;port&gt;</c> (as build/Azurite.ps1 starts Azurite), or null when none is found (not Linux, another start).</summary>
    public static ServerCpu? ForBlobPort(int port)
    {
        if (!Directory.Exists("/proc"))
        {
            return null;
        }

        var wanted = $"--blobPort\0{port.ToString(CultureInfo.InvariantCulture)}\0";
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                // A shim (cmd, sh) may carry the same arguments; the node process is the one that serves.
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(wanted, StringComparison.Ordinal)
                    && File.ReadAllText(Path.Combine(dir, "comm")).Trim() == "node")
                {
                    return new ServerCpu(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A process that ended while the list was read, or one of another user.
            }
        }

        return null;
    }

    /// <summary>The port of a connection string's BlobEndpoint (http://127.0.0.1:PORT/...), or null.</summary>
    public static int? PortOf(string connection)
    {
        foreach (var part in connection.Split(';'))
        {
            if (part.StartsWith("BlobEndpoint=", StringComparison.OrdinalIgnoreCase)
                && Uri.TryCreate(part["BlobEndpoint=".Length..], UriKind.Absolute, out var uri))
            {
                return uri.Port;
            }
        }

        return null;
    }

    /// <summary>User plus system CPU seconds the process has used so far.</summary>
    public double Seconds()
    {
        // The command name (field 2) is in parentheses and may hold spaces: fields are counted after its ')'.
        var stat = File.ReadAllText(_statPath);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state): utime is field 14, stime field 15.
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
    }
}
