using System.Globalization;

namespace DataraxCkpt.Bench;

/// <summary>
/// A note with every repetition's time of some rows, in the order they ran: a median of a few hides whether the
/// spread was one slow repetition or a drift (docs/performance-notes.md, round 47: (c)'s slow medians were its
/// first repetitions, still compiling).
/// </summary>
internal static class RepetitionNote
{
    /// <summary>The note of the rows that ran (absent rows, as a baseline that did not import, are left out).</summary>
    public static string Of(params ResultRow?[] rows) =>
        "per repetition, in order: " + string.Join("; ", rows.OfType<ResultRow>().Select(r =>
            $"{r.Name} {string.Join(", ", r.Seconds.Select(s => (s * 1000).ToString("F0", CultureInfo.InvariantCulture)))} ms"));
}
