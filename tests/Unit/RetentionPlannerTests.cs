using DataraxCkpt.Retention;

namespace DataraxCkpt.Tests;

/// <summary>
/// The retention rules on their own (no store): which steps a policy removes, which rule keeps what,
/// and the refusal of a policy whose numbers make no sense, with the message a user sees. These pin
/// down what the mutation run of RetentionPlanner.cs found untested.
/// </summary>
public sealed class RetentionPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private sealed record Step(long Number, DateTimeOffset CreatedUtc, bool Pinned = false);

    private static List<long> Remove(IReadOnlyList<Step> steps, RetentionPolicy policy, long? protectedStep = null) =>
        RetentionPlanner.StepsToRemove(steps, s => (s.Number, s.CreatedUtc, s.Pinned), policy, Now, protectedStep).Select(s => s.Number).ToList();

    private static List<Step> Steps(params long[] numbers) => numbers.Select(n => new Step(n, Now.AddHours(-n))).ToList();

    [Fact]
    public void Keep_removes_all_but_the_highest_step_numbers_in_ascending_order_whatever_the_input_order()
    {
        Assert.Equal(new long[] { 1, 2, 3 }, Remove(Steps(5, 3, 1, 4, 2), new RetentionPolicy { Keep = 2 }));
        Assert.Equal(new long[] { 1, 2, 3, 4 }, Remove(Steps(5, 3, 1, 4, 2), new RetentionPolicy { Keep = 1 }));
        Assert.Empty(Remove(Steps(5, 3, 1), new RetentionPolicy { Keep = 3 }));
    }

    [Fact]
    public void A_policy_with_no_rule_removes_nothing()
    {
        Assert.Empty(Remove(Steps(1, 2, 3), new RetentionPolicy()));
    }

    [Fact]
    public void Pinned_steps_survive_every_rule()
    {
        var steps = new List<Step> { new(1, Now.AddDays(-9), Pinned: true), new(2, Now.AddDays(-9)), new(3, Now) };
        Assert.Equal(new long[] { 2 }, Remove(steps, new RetentionPolicy { Keep = 1 }));
        Assert.Equal(new long[] { 2 }, Remove(steps, new RetentionPolicy { KeepNewerThan = TimeSpan.FromMinutes(1) }));
    }

    [Fact]
    public void The_protected_step_survives_even_when_it_is_not_among_the_highest()
    {
        Assert.Equal(new long[] { 1, 3 }, Remove(Steps(1, 2, 3, 9), new RetentionPolicy { Keep = 1 }, protectedStep: 2));
    }

    [Fact]
    public void KeepEvery_keeps_multiples_and_combines_with_keep()
    {
        Assert.Equal(new long[] { 1, 2, 3, 5, 6, 7 }, Remove(Steps(1, 2, 3, 4, 5, 6, 7, 8, 9), new RetentionPolicy { Keep = 1, KeepEvery = 4 }));
        Assert.Equal(new long[] { 1, 3 }, Remove(Steps(0, 1, 2, 3, 4), new RetentionPolicy { KeepEvery = 2 }));
    }

    [Fact]
    public void KeepNewerThan_keeps_steps_younger_than_the_span_and_removes_one_exactly_that_old()
    {
        var steps = new List<Step> { new(1, Now.AddHours(-3)), new(2, Now.AddHours(-2)), new(3, Now.AddMinutes(-119)) };
        Assert.Equal(new long[] { 1, 2 }, Remove(steps, new RetentionPolicy { KeepNewerThan = TimeSpan.FromHours(2) }));
        // The newest step survives although it is older than the span.
        Assert.Equal(new long[] { 1, 2 }, Remove(steps, new RetentionPolicy { KeepNewerThan = TimeSpan.FromMinutes(1) }));
    }

    [Theory]
    [InlineData(-1, null, null, "Keep", "Keep must be 1 or more")]
    [InlineData(0, null, null, "Keep", "Keep must be 1 or more")]
    [InlineData(null, 0L, null, "KeepEvery", "KeepEvery must be 1 or more")]
    [InlineData(null, -5L, null, "KeepEvery", "KeepEvery must be 1 or more")]
    [InlineData(null, null, 0.0, "KeepNewerThan", "KeepNewerThan must be more than zero")]
    [InlineData(null, null, -1.0, "KeepNewerThan", "KeepNewerThan must be more than zero")]
    public void A_rule_that_would_keep_nothing_is_refused_when_the_policy_is_made(int? keep, long? every, double? newerThanSeconds, string parameter, string message)
    {
        var refused = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new RetentionPolicy { Keep = keep, KeepEvery = every, KeepNewerThan = newerThanSeconds is { } s ? TimeSpan.FromSeconds(s) : null });
        Assert.Equal(parameter, refused.ParamName);
        Assert.StartsWith(message, refused.Message, StringComparison.Ordinal);
        Assert.Contains("Remove-Checkpoint", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_newest_step_survives_a_rule_set_that_keeps_nothing_else()
    {
        Assert.Equal(new long[] { 1, 2, 3, 4 }, Remove(Steps(1, 2, 3, 4, 5), new RetentionPolicy { KeepEvery = 1000 }));
    }
    [Fact]
    public void Steps_listed_in_ascending_order_get_the_same_plan_as_the_same_steps_in_any_order()
    {
        // Ascending input (a local index) takes a path without a sorted copy; every rule must decide the same.
        var random = new Random(17);
        for (var trial = 0; trial < 300; trial++)
        {
            var numbers = Enumerable.Range(0, random.Next(1, 60)).Select(_ => (long)random.Next(0, 200)).Distinct().Order().ToList();
            var ascending = numbers.Select(n => new Step(n, Now.AddMinutes(-random.Next(0, 120)), Pinned: random.Next(8) == 0)).ToList();
            var shuffled = ascending.OrderBy(_ => random.Next()).ToList();
            var finite = ascending.Where(_ => random.Next(4) != 0).Select(s => s.Number).ToHashSet();
            var policy = new RetentionPolicy
            {
                Keep = random.Next(3) == 0 ? null : random.Next(1, 10),
                KeepEvery = random.Next(3) == 0 ? random.Next(1, 7) : null,
                KeepNewerThan = random.Next(3) == 0 ? TimeSpan.FromMinutes(random.Next(1, 90)) : null,
                KeepFinite = random.Next(2) == 0,
            };
            long? protectedStep = random.Next(3) == 0 ? numbers[random.Next(numbers.Count)] : null;
            var askedAscending = new List<long>();
            var askedShuffled = new List<long>();

            var a = RetentionPlanner.StepsToRemove(ascending, s => (s.Number, s.CreatedUtc, s.Pinned), policy, Now, protectedStep,
                s => { askedAscending.Add(s.Number); return finite.Contains(s.Number); });
            var b = RetentionPlanner.StepsToRemove(shuffled, s => (s.Number, s.CreatedUtc, s.Pinned), policy, Now, protectedStep,
                s => { askedShuffled.Add(s.Number); return finite.Contains(s.Number); });

            Assert.Equal(b, a);
            Assert.Equal(askedShuffled, askedAscending);
            Assert.True(a.Select(s => s.Number).SequenceEqual(a.Select(s => s.Number).Order()));
        }
    }

    /// <summary>
    /// The rules as docs/retention.md states them, written out with a set of kept numbers (the planner's general
    /// path before session 11): a step survives when any rule keeps its number or it.
    /// </summary>
    private static List<Step> Expected(IReadOnlyList<Step> steps, RetentionPolicy policy, long? protectedStep, Func<Step, bool> counts)
    {
        if (policy.KeepsEverything || steps.Count == 0)
        {
            return [];
        }

        var byNumber = steps.OrderBy(s => s.Number).ToList();
        var keptNumbers = new HashSet<long> { byNumber[^1].Number };
        if (policy.Keep is int keep)
        {
            keptNumbers.UnionWith(byNumber.AsEnumerable().Reverse().Where(counts).Take(keep).Select(s => s.Number));
        }

        return byNumber.Where(s => !(s.Pinned
            || s.Number == protectedStep
            || keptNumbers.Contains(s.Number)
            || (policy.KeepNewerThan is { } span && Now - s.CreatedUtc < span)
            || (policy.KeepEvery is { } every && s.Number % every == 0 && counts(s)))).ToList();
    }

    public static TheoryData<int?, long?, int?, bool> EveryRuleCombination()
    {
        var data = new TheoryData<int?, long?, int?, bool>();
        foreach (var keep in new int?[] { null, 1, 2, 5 })
        {
            foreach (var every in new long?[] { null, 1, 3 })
            {
                foreach (var newerThanMinutes in new int?[] { null, 45 })
                {
                    foreach (var finite in new[] { false, true })
                    {
                        data.Add(keep, every, newerThanMinutes, finite);
                    }
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryRuleCombination))]
    public void Every_rule_combination_removes_exactly_what_the_rules_say_from_ascending_and_shuffled_input_alike(
        int? keep, long? every, int? newerThanMinutes, bool keepFinite)
    {
        // One predicate now serves both orders (the shuffled input is sorted, then planned as an ascending one), so
        // each is checked against the rules written out independently, not only against the other.
        var policy = new RetentionPolicy
        {
            Keep = keep,
            KeepEvery = every,
            KeepNewerThan = newerThanMinutes is int m ? TimeSpan.FromMinutes(m) : null,
            KeepFinite = keepFinite,
        };
        var random = new Random((((keep ?? 0) * 10) + (int)(every ?? 0)) * 1000 + (newerThanMinutes ?? 0) * 2 + (keepFinite ? 1 : 0));
        var removedSomething = false;
        for (var trial = 0; trial < 60; trial++)
        {
            var numbers = Enumerable.Range(0, random.Next(1, 40)).Select(_ => (long)random.Next(0, 100)).Distinct().Order().ToList();
            var ascending = numbers.Select(n => new Step(n, Now.AddMinutes(-random.Next(0, 90)), Pinned: random.Next(10) == 0)).ToList();
            var shuffled = ascending.OrderBy(_ => random.Next()).ToList();
            var finite = ascending.Where(_ => random.Next(3) != 0).ToHashSet();
            long? protectedStep = random.Next(3) == 0 ? numbers[random.Next(numbers.Count)] : null;

            var expected = Expected(ascending, policy, protectedStep, keepFinite ? finite.Contains : _ => true);
            var fromAscending = RetentionPlanner.StepsToRemove(ascending, s => (s.Number, s.CreatedUtc, s.Pinned), policy, Now, protectedStep, finite.Contains);
            var fromShuffled = RetentionPlanner.StepsToRemove(shuffled, s => (s.Number, s.CreatedUtc, s.Pinned), policy, Now, protectedStep, finite.Contains);

            Assert.Equal(expected, fromAscending);
            Assert.Equal(expected, fromShuffled);
            Assert.DoesNotContain(ascending[^1], fromAscending);
            removedSomething |= expected.Count > 0;
        }

        // Each combination that can remove a step really removed some in a trial, so the equalities above were not all
        // empty (KeepEvery = 1 counting every step keeps them all).
        Assert.Equal(!policy.KeepsEverything && !(every == 1 && !keepFinite), removedSomething);
    }

    [Fact]
    public void A_number_listed_twice_is_kept_or_removed_whole_whatever_the_order()
    {
        // No store lists a number twice; should one, a rule that keeps the number keeps every entry of it (as the
        // set of kept numbers did), and the plan does not depend on where the twins stand.
        var a = new Step(5, Now.AddHours(-5));
        var b = new Step(5, Now.AddHours(-6));
        var steps = new List<Step> { new(7, Now.AddHours(-1)), a, new(3, Now.AddHours(-7)), b, new(7, Now.AddHours(-2)), new(1, Now.AddHours(-9)) };
        var keepTwo = new RetentionPolicy { Keep = 2 };

        // Keep = 2 counts entries: both 7s fill it, so the 5s go; Keep = 3 reaches one 5, which keeps both.
        Assert.Equal(new long[] { 1, 3, 5, 5 }, RetentionPlanner.StepsToRemove(steps, s => (s.Number, s.CreatedUtc, s.Pinned), keepTwo, Now, null).Select(s => s.Number));
        var keptThree = RetentionPlanner.StepsToRemove(steps, s => (s.Number, s.CreatedUtc, s.Pinned), new RetentionPolicy { Keep = 3 }, Now, null);
        Assert.Equal(new long[] { 1, 3 }, keptThree.Select(s => s.Number));
        foreach (var order in new[] { steps, steps.AsEnumerable().Reverse().ToList(), steps.OrderBy(s => s.CreatedUtc).ToList() })
        {
            var plan = RetentionPlanner.StepsToRemove(order, s => (s.Number, s.CreatedUtc, s.Pinned), new RetentionPolicy { Keep = 3 }, Now, null);
            Assert.Equal(Expected(order, new RetentionPolicy { Keep = 3 }, null, _ => true), plan);
        }
    }
}
