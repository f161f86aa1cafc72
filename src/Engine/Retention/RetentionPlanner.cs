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

        var infos = new (long Step, DateTimeOffset CreatedUtc, bool Pinned)[committed.Count];
        var ascending = true;
        for (var i = 0; i < infos.Length; i++)
        {
            infos[i] = describe(committed[i]);
            ascending &= i == 0 || infos[i].Step > infos[i - 1].Step;
        }

        if (ascending)
        {
            return StepsToRemoveAscending(committed, infos, policy, now, protectedStep, counts);
        }

        var described = committed.Select((c, i) => (Item: c, Info: infos[i])).OrderBy(c => c.Info.Step).ToList();

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

    /// <summary>
    /// The same rules, asked in the same order, for steps already strictly ascending (a local index lists
    /// them so): no sorted copy and no set of kept numbers, a mark per position instead. A prune of a million
    /// steps allocated about 260 MB here through the general path. Each number appears once, so a position
    /// marked kept is exactly a number in the general path's set.
    /// </summary>
    private static List<T> StepsToRemoveAscending<T>(IReadOnlyList<T> committed, (long Step, DateTimeOffset CreatedUtc, bool Pinned)[] infos,
        RetentionPolicy policy, DateTimeOffset now, long? protectedStep, Func<T, bool> counts)
    {
        var newest = new bool[infos.Length];
        newest[^1] = true;
        if (policy.Keep is { } keep)
        {
            var kept = 0;
            for (var i = infos.Length - 1; i >= 0 && kept != keep; i--)
            {
                if (counts(committed[i]))
                {
                    newest[i] = true;
                    kept++;
                }
            }
        }

        var removed = new List<T>();
        for (var i = 0; i < infos.Length; i++)
        {
            var info = infos[i];
            if (!(info.Pinned
                || info.Step == protectedStep
                || newest[i]
                || (policy.KeepNewerThan is { } span && now - info.CreatedUtc < span)
                || (policy.KeepEvery is { } every && info.Step % every == 0 && counts(committed[i]))))
            {
                removed.Add(committed[i]);
            }
        }

        return removed;
    }
}
