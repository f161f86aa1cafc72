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
        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, Remove(Steps(5, 3, 1, 4, 2), new RetentionPolicy { Keep = 0 }));
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
        Assert.Equal(new long[] { 2, 3 }, Remove(steps, new RetentionPolicy { Keep = 0 }));
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
        Assert.Equal(new long[] { 1, 2, 3 }, Remove(steps, new RetentionPolicy { KeepNewerThan = TimeSpan.Zero }));
    }

    [Theory]
    [InlineData(-1, null, null, "Keep must be zero or more.")]
    [InlineData(null, 0L, null, "KeepEvery must be one or more.")]
    [InlineData(null, -5L, null, "KeepEvery must be one or more.")]
    [InlineData(null, null, -1.0, "KeepNewerThan must not be negative.")]
    public void A_policy_with_a_meaningless_number_is_refused_before_planning(int? keep, long? every, double? newerThanSeconds, string message)
    {
        var policy = new RetentionPolicy { Keep = keep, KeepEvery = every, KeepNewerThan = newerThanSeconds is { } s ? TimeSpan.FromSeconds(s) : null };
        var validate = Assert.Throws<ArgumentOutOfRangeException>(() => RetentionPlanner.Validate(policy));
        Assert.Equal("policy", validate.ParamName);
        Assert.StartsWith(message, validate.Message, StringComparison.Ordinal);
        var plan = Assert.Throws<ArgumentOutOfRangeException>(() => Remove(Steps(1, 2), policy));
        Assert.StartsWith(message, plan.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Zero_keep_and_a_zero_span_are_valid_rules()
    {
        RetentionPlanner.Validate(new RetentionPolicy { Keep = 0, KeepEvery = 1, KeepNewerThan = TimeSpan.Zero });
    }
}
