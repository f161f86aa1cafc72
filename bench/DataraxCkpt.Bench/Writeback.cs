using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace DataraxCkpt.Bench;

/// <summary>
/// Flushes the file systems' dirty data before a timed durable operation, so that its fsyncs do not wait behind
/// writeback of untimed setup (a GiB input file, a 100,000-row index built just before its prune, the files of the
/// previous repetition or scenario). One idle run measured (c)'s save at 306 ms against 144 ms for the same build
/// run alone, and (d)'s prune at 1.03 s against 0.70 s, on unchanged code. Called on every side of a comparison
/// alike (engine, raw file, numpy, torch, lz4), never inside a timing. Linux: libc <c>sync()</c>, which returns
/// once the dirty data is written. macOS and the BSDs: the same call, which may return before the writes end.
/// Windows: no flush (there is no call that flushes every volume without administrator rights); the note says so.
/// </summary>
internal static class Writeback
{
    private static readonly List<double> Seconds = [];

    /// <summary>Whether this OS has a flush of every file system (<c>sync()</c>).</summary>
    public static bool Supported => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();

    /// <summary>Writes every file system's dirty data out (where <see cref="Supported"/>); counted for <see cref="Note"/>.</summary>
    public static void Flush()
    {
        if (!Supported)
        {
            return;
        }

        var clock = Stopwatch.StartNew();
        Sync();
        Seconds.Add(clock.Elapsed.TotalSeconds);
    }

    /// <summary>The scenario note: where the flushes were, how many ran and how long they took.</summary>
    /// <param name="where">Where the scenario flushes, e.g. "after the setup and before each timed save, on both sides".</param>
    public static string Note(string where)
    {
        if (!Supported)
        {
            return $"writeback: not flushed ({RuntimeInformation.OSDescription} has no sync() that flushes every file system; the timed operations may wait behind the setup's writeback)";
        }

        var caveat = OperatingSystem.IsLinux() ? "which returns once dirty data is written" : "which on this OS may return before the writes end";
        return Seconds.Count == 0
            ? $"writeback: no flush ran ({where})"
            : string.Create(CultureInfo.InvariantCulture,
                $"writeback: the file systems were flushed (sync(), {caveat}) {where}, never inside a timing: {Seconds.Count} flushes, median {Measure.Median(Seconds) * 1000:F0} ms, longest {Seconds.Max() * 1000:F0} ms");
    }

    // DllImport as SmallLeavesProfile's clock_gettime: LibraryImport would need unsafe code allowed in the bench for one call without arguments.
    [DllImport("libc", EntryPoint = "sync")]
    private static extern void Sync();
}
