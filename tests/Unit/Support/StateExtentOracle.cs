using System.Globalization;
using System.Text.Json;
using DataraxCkpt.Format;

namespace DataraxCkpt.Tests.Support;

/// <summary>
/// The state node's end as the byte-at-a-time scan of round 27 found it, kept as the oracle that the 32-byte scan of
/// round 41 (<see cref="ManifestCodec.StateExtent(System.ReadOnlySpan{byte}, int)"/>) is held to, and that scan's answer in the same words: the end,
/// or which refusal ("deep", "in string", "open").
/// </summary>
internal static class StateExtentOracle
{
    /// <summary>The byte-at-a-time scan: the end, or the name of its refusal.</summary>
    public static string ByteScan(ReadOnlySpan<byte> value, int maxNesting)
    {
        var depth = 0;
        var inString = false;
        for (var at = 0; at < value.Length; at++)
        {
            var b = value[at];
            if (inString)
            {
                if (b == (byte)'"')
                {
                    inString = false;
                }
                else if (b == (byte)'\\')
                {
                    at++;
                }

                continue;
            }

            switch (b)
            {
                case (byte)'"':
                    inString = true;
                    break;
                case (byte)'[' or (byte)'{':
                    if (++depth > maxNesting)
                    {
                        return "deep";
                    }

                    break;
                case (byte)']' or (byte)'}':
                    if (--depth == 0)
                    {
                        return (at + 1).ToString(CultureInfo.InvariantCulture);
                    }

                    break;
            }
        }

        return inString ? "in string" : "open";
    }

    /// <summary>The engine's scan, its refusals named as <see cref="ByteScan"/> names them (anything else prefixed "??").</summary>
    public static string BlockScan(byte[] value, int maxNesting) => Named(() => ManifestCodec.StateExtent(value, maxNesting));

    /// <summary>The engine's scan by the path <paramref name="scan"/>, its answer named as <see cref="BlockScan(byte[], int)"/> names it.</summary>
    public static string BlockScan(byte[] value, int maxNesting, StateScan scan) => Named(() => ManifestCodec.StateExtent(value, maxNesting, scan));

    /// <summary>
    /// Whether this machine runs <paramref name="scan"/> in hardware; a path it does not is reported skipped, not passed
    /// (run in software it would still compute the same lanes, but it is not the code that machine would run).
    /// </summary>
    public static bool Runs(StateScan scan) => scan switch
    {
        StateScan.Vector256 => System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated,
        StateScan.Vector128 => System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated,
        _ => true,
    };

    private static string Named(Func<int> scan)
    {
        try
        {
            return scan().ToString(CultureInfo.InvariantCulture);
        }
        catch (JsonException e)
        {
            return e.Message.Contains("nests deeper", StringComparison.Ordinal) ? "deep"
                : e.Message.Contains("inside a string", StringComparison.Ordinal) ? "in string"
                : e.Message == "the state node ends before its brackets close" ? "open"
                : "??" + e.Message;
        }
    }
}
