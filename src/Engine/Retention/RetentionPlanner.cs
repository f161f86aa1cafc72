namespace DataraxCkpt.Retention;

/// <summary>
/// The retention rules: given the committed steps and a policy, which steps a prune removes.
/// A step survives when any rule keeps it — among the <c>Keep</c> highest step numbers, a multiple
/// of <c>KeepEvery</c>, committed within <c>KeepNewerThan</c>, pinned, the step the same save just
/// wrote, or the newest committed step. A policy with no rule removes nothing.
/// </summary>
internal static class RetentionPlanner
{
    /// <summary>The steps to remove, ascending.</summary>
    /// <param name="committed">Every committed step, in any order.</param>
    /// <param name="describe">Reads a step's number, commit time and pin.</param>
    /// <param name="policy">The rules (their values were checked when the policy was built).</param>
    /// <param name="now">The time KeepNewerThan counts back from.</param>
    /// <param name="protectedStep">A step that must survive whatever the rules say (the one just saved).</param>
    public static List<T> StepsToRemove<T>(IReadOnlyList<T> committed, Func<T, (long Step, DateTimeOffset CreatedUtc, bool Pinned)> describe,
        RetentionPolicy policy, DateTimeOffset now, long? protectedStep)
    {
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
            foreach (var c in described.AsEnumerable().Reverse().Take(keep))
            {
                newest.Add(c.Info.Step);
            }
        }

        return described
            .Where(c => !(c.Info.Pinned
                || c.Info.Step == protectedStep
                || newest.Contains(c.Info.Step)
                || (policy.KeepEvery is { } every && c.Info.Step % every == 0)
                || (policy.KeepNewerThan is { } span && now - c.Info.CreatedUtc < span)))
            .Select(c => c.Item)
            .ToList();
    }
}
