using System.Globalization;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>The problem text Test-Checkpoint -Finite gives a tensor that holds NaN or infinities.</summary>
internal static class NotFiniteProblem
{
    /// <summary>Such as <c>not finite: 2 NaN, 1 +Inf of 12 elements</c>; only the kinds present are named.</summary>
    public static string Describe(TensorStatistics statistics)
    {
        var parts = new List<string>(3);
        if (statistics.NaNCount > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{statistics.NaNCount} NaN"));
        }

        if (statistics.PositiveInfinityCount > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{statistics.PositiveInfinityCount} +Inf"));
        }

        if (statistics.NegativeInfinityCount > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{statistics.NegativeInfinityCount} -Inf"));
        }

        return string.Create(CultureInfo.InvariantCulture, $"not finite: {string.Join(", ", parts)} of {statistics.Count} elements");
    }
}
