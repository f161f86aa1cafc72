namespace DataraxCkpt.Tests.Bench;

using DataraxCkpt.Bench;

/// <summary>Attack 27: scenario (h)'s per-leaf target lines say "once tiering settled" only when that is what was measured.</summary>
public class Attack27ScalarLeavesTests
{
    [Fact]
    public void Attack27_a_warm_up_that_hit_the_cap_is_not_called_settled_in_the_target_line()
    {
        var warmUp = Enumerable.Repeat(5L, 400).ToArray();

        var when = JitWarmUp.WhenMeasured(warmUp, [0, 0, 0], settledAt: 2, maxRounds: 400, quietRounds: 20);

        Assert.DoesNotContain("once tiering settled", when, StringComparison.Ordinal);
        Assert.Contains("NOT settled", when, StringComparison.Ordinal);
    }

    [Fact]
    public void Attack27_measured_repetitions_that_compiled_are_not_called_settled_in_the_target_line()
    {
        // Seen in `h --engine-only --size 10000 --reps 3`: configs settled after 80 rounds, then the measured ones compiled 7, 9, 3.
        var warmUp = new long[] { 27, 35 }.Concat(Enumerable.Repeat(0L, 20)).ToArray();

        var when = JitWarmUp.WhenMeasured(warmUp, [7, 9, 3], settledAt: 2, maxRounds: 400, quietRounds: 20);

        Assert.DoesNotContain("once tiering settled", when, StringComparison.Ordinal);
        Assert.Contains("3 of 3 measured repetitions compiled more than 2", when, StringComparison.Ordinal);
        Assert.Contains("7, 9, 3", JitWarmUp.MeasuredNote("configs", [7, 9, 3], 2), StringComparison.Ordinal);
    }

    [Fact]
    public void Attack27_a_settled_warm_up_with_quiet_measured_repetitions_is_called_settled()
    {
        var warmUp = new long[] { 27 }.Concat(Enumerable.Repeat(0L, 20)).ToArray();

        Assert.Equal("once tiering settled", JitWarmUp.WhenMeasured(warmUp, [0, 1, 2], settledAt: 2, maxRounds: 400, quietRounds: 20));
    }
}
