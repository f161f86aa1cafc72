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
}
