using System.Globalization;

namespace DataraxCkpt.Bench;

/// <summary>
/// Resident-memory figures of this process from /proc: the current RSS, the peak (VmHWM), and a reset
/// of the peak (writing 5 to clear_refs), so each measured operation gets its own peak in one process.
/// </summary>
internal static class ProcessMemory
{
    public static long Rss() => Field("VmRSS:");

    public static long Peak() => Field("VmHWM:");

    public static void ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
            // Older kernels: the peak then covers the whole process life, which only overstates it.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static long Field(string name)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                var kb = line[name.Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }
}
