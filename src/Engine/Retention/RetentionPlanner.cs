namespace DataraxCkpt.Retention;

/// <summary>
/// The retention rules: given the committed steps and a policy, which steps a prune removes.
/// A step survives when any rule keeps it — among the <c>Keep</c> highest step numbers, a multiple
/// of <c>KeepEvery</c>, committed within <c>KeepNewerThan</c>, pinned, the step the same save just
/// wrote, or the newest committed step. A policy with no rule removes nothing. With <c>KeepFinite</c>,
/// <c>Keep</c> and <c>KeepEvery</c> count only steps the caller reports finite; the other rules are unchanged.
/// Pure: finiteness is an input, asked only for the steps whose fate depends on it.
/// </summary>
internal static class RetentionPlanner
{
    /// <summary>The steps to remove, ascending.</summary>
    /// <param name="committed">Every committed step, in any order.</param>
    /// <param name="describe">Reads a step's number, commit time and pin.</param>
    /// <param name="policy">The rules (their values were checked when the policy was built).</param>
    /// <param name="now">The time KeepNewerThan counts back from.</param>
    /// <param name="protectedStep">A step that must survive whatever the rules say (the one just saved).</param>
    /// <param name="isFinite">Whether a step's float tensors are all finite; required when the policy sets <c>KeepFinite</c>.</param>
    public static List<T> StepsToRemove<T>(IReadOnlyList<T> committed, Func<T, (long Step, DateTimeOffset CreatedUtc, bool Pinned)> describe,
        RetentionPolicy policy, DateTimeOffset now, long? protectedStep, Func<T, bool>? isFinite = null)
    {
        if (policy.KeepFinite && isFinite is null)
        {
            throw new ArgumentNullException(nameof(isFinite), "A KeepFinite policy needs each step's finiteness.");
        }

        Func<T, bool> counts = policy.KeepFinite ? isFinite! : static _ => true;
        if (policy.KeepsEverything || committed.Count == 0)
        {
            return new List<T>();
        }

        var described = committed.Select(c => (Item: c, Info: describe(c))).OrderBy(c => c.Info.Step).ToList();

        // The newest committed step is what a resume restores; no rule, however written, may take it.
        // Only removing it by number does.
        var newestStep = described[^1].Info.Step;
        var newest = new HashSet<long> { newestStep };
        if (policy.Keep is { } keep)
        {
            var kept = 0;
            foreach (var c in described.AsEnumerable().Reverse())
            {
                if (kept == keep)
                {
                    break;
                }

                if (counts(c.Item))
                {
                    newest.Add(c.Info.Step);
                    kept++;
                }
            }
        }

        return described
            .Where(c => !(c.Info.Pinned
                || c.Info.Step == protectedStep
                || newest.Contains(c.Info.Step)
                || (policy.KeepNewerThan is { } span && now - c.Info.CreatedUtc < span)
                || (policy.KeepEvery is { } every && c.Info.Step % every == 0 && counts(c.Item))))
            .Select(c => c.Item)
            .ToList();
    }
}
