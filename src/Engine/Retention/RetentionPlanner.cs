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
            return StepsToRemoveInOrder(committed, infos, policy, now, protectedStep, counts);
        }

        // Any other order is sorted first (stable: equal numbers keep their input order) and planned by the same
        // rules: one predicate, so the two orders cannot drift apart.
        var order = new int[infos.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Array.Sort(order, (a, b) => infos[a].Step != infos[b].Step ? infos[a].Step.CompareTo(infos[b].Step) : a.CompareTo(b));
        var sorted = new T[order.Length];
        var sortedInfos = new (long Step, DateTimeOffset CreatedUtc, bool Pinned)[order.Length];
        for (var i = 0; i < order.Length; i++)
        {
            sorted[i] = committed[order[i]];
            sortedInfos[i] = infos[order[i]];
        }

        return StepsToRemoveInOrder(sorted, sortedInfos, policy, now, protectedStep, counts);
    }

    /// <summary>
    /// The rules, for steps in ascending order of number (a local index lists them so; any other input is sorted
    /// first): no set of kept numbers, a mark per position instead. A prune of a million steps allocated about
    /// 260 MB through a set. Kept is decided per number: a number that appears more than once (no store lists
    /// one twice, but a plan must not depend on that) is kept whole when any of its entries is marked.
    /// </summary>
    private static List<T> StepsToRemoveInOrder<T>(IReadOnlyList<T> committed, (long Step, DateTimeOffset CreatedUtc, bool Pinned)[] infos,
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

        // The newest number and those Keep marks stand for every entry of theirs.
        for (var i = infos.Length - 2; i >= 0; i--)
        {
            newest[i] |= newest[i + 1] && infos[i].Step == infos[i + 1].Step;
        }

        for (var i = 1; i < infos.Length; i++)
        {
            newest[i] |= newest[i - 1] && infos[i].Step == infos[i - 1].Step;
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
