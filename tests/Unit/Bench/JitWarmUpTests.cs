using DataraxCkpt.Bench;

namespace DataraxCkpt.Tests.Bench;

/// <summary>
/// Scenario (c) warms up until the JIT has settled (bench/DataraxCkpt.Bench/JitWarmUp.cs): its saves after a single
/// warm-up still compiled ~300 methods each, so its median of three was a cold save or a warm one by chance
/// (docs/performance-notes.md, round 47). Each repetition's time is in a note (RepetitionNote).
/// </summary>
public sealed class JitWarmUpTests
{
    [Fact]
    public void Warm_up_rounds_repeat_until_a_round_compiles_no_more_than_the_settled_count()
    {
        var compiledPerRound = new Queue<long>([900, 300, 40, 10, 0]);

        var rounds = JitWarmUp.UntilSettled(compiledPerRound.Dequeue, settledAt: 10, maxRounds: 8);

        Assert.Equal([900, 300, 40, 10], rounds);
        Assert.Single(compiledPerRound);
    }

    [Fact]
    public void At_least_one_warm_up_round_runs_even_when_nothing_is_left_to_compile()
    {
        var calls = 0;

        var rounds = JitWarmUp.UntilSettled(() => { calls++; return 0; }, settledAt: 10, maxRounds: 8);

        Assert.Equal(1, calls);
        Assert.Equal([0], rounds);
    }

    [Fact]
    public void Warm_up_stops_at_the_cap_and_the_note_says_the_JIT_had_not_settled()
    {
        var rounds = JitWarmUp.UntilSettled(() => 50, settledAt: 10, maxRounds: 3);

        Assert.Equal([50, 50, 50], rounds);
        Assert.Contains("NOT settled after the cap of 3", JitWarmUp.Note("saves measured warm", rounds, 10, 3), StringComparison.Ordinal);
    }

    [Fact]
    public void The_note_lists_what_each_warm_up_round_compiled_and_after_how_many_the_JIT_settled()
    {
        var note = JitWarmUp.Note("saves measured warm", [900, 22, 0], 10, 8);

        Assert.Equal("saves measured warm: 3 unmeasured warm-up rounds, methods JIT-compiled during each: 900, 22, 0; settled (at most 10 methods compiled) after 3", note);
    }

    [Fact]
    public void Compiled_counts_the_methods_the_JIT_compiled_while_the_operation_ran()
    {
        // A dynamic method is compiled when first invoked; nothing of this test's own code is compiled inside the window.
        var method = new System.Reflection.Emit.DynamicMethod("NeverCompiledBefore", typeof(int), Type.EmptyTypes);
        var il = method.GetILGenerator();
        il.Emit(System.Reflection.Emit.OpCodes.Ldc_I4_7);
        il.Emit(System.Reflection.Emit.OpCodes.Ret);
        var call = method.CreateDelegate<Func<int>>();

        Assert.True(JitWarmUp.Compiled(() => call()) >= 1);
    }

    [Fact]
    public void The_repetition_note_gives_every_repetition_of_each_row_in_order_and_leaves_out_absent_rows()
    {
        var engine = new ResultRow { Name = "DataraxCkpt save", StateBytes = 1 };
        engine.Add(new Sample(0.4766, 0));
        engine.Add(new Sample(0.306, 0));
        engine.Add(new Sample(0.109, 0));
        var numpy = new ResultRow { Name = "numpy.savez+fsync", StateBytes = 1 };
        numpy.Add(new Sample(0.454, 0));

        Assert.Equal("per repetition, in order: DataraxCkpt save 477, 306, 109 ms; numpy.savez+fsync 454 ms", RepetitionNote.Of(engine, null, numpy));
    }

    [Fact]
    public void Attack_the_measured_note_says_when_a_timing_after_a_settled_warm_up_still_compiled_more_than_the_settled_count()
    {
        // A run of `c --reps 3` (load 5-10): the warm-up "settled after 2" (874, 2), then the measured saves compiled
        // 42, 48, 1 methods; another run's saves 9, 3, 5 while the engine process compiled 487, 73, 118 methods in the
        // background during numpy.savez's measured timings. The note said "settled" and nothing flagged either.
        var note = JitWarmUp.Measured([42, 48, 1], [487, 73, 118], settledAt: 10);

        Assert.Contains("during each measured numpy.savez: 487, 73, 118", note, StringComparison.Ordinal);
        Assert.Contains("5 of the 6 measured timings compiled more than 10 methods", note, StringComparison.Ordinal);
    }

    [Fact]
    public void Attack_the_measured_note_flags_nothing_when_every_timing_compiled_no_more_than_the_settled_count()
    {
        var note = JitWarmUp.Measured([3, 0, 10], [1, 0, 2], settledAt: 10);

        Assert.Equal("methods compiled during each measured engine save: 3, 0, 10; during each measured numpy.savez: 1, 0, 2 (by the engine process, in the background)", note);
    }

    [Fact]
    public void Compiled_counts_methods_compiled_on_other_threads_too()
    {
        // Background tier-1 compiles run on a runtime worker thread, not the saving thread. Everything this thread runs
        // inside the window is compiled by a first window first, so only the other thread compiles in the second.
        Thread? thread = null;
        Action startAndJoin = () => { thread!.Start(); thread.Join(); };
        thread = new Thread(() => { });
        JitWarmUp.Compiled(startAndJoin);
        var method = new System.Reflection.Emit.DynamicMethod("CompiledOnAnotherThread", typeof(int), Type.EmptyTypes);
        var il = method.GetILGenerator();
        il.Emit(System.Reflection.Emit.OpCodes.Ldc_I4_3);
        il.Emit(System.Reflection.Emit.OpCodes.Ret);
        var call = method.CreateDelegate<Func<int>>();
        thread = new Thread(() => call());

        Assert.True(JitWarmUp.Compiled(startAndJoin) >= 1);
    }

    [Fact]
    public void A_quiet_round_followed_by_compiles_does_not_end_a_warm_up_that_needs_quiet_rounds_in_a_row()
    {
        // Scenario (h)'s configs: rounds that compiled nothing, then the tier-1 compiles of methods called once per save.
        var compiledPerRound = new Queue<long>([40, 0, 0, 48, 0, 1, 0, 99]);

        var rounds = JitWarmUp.UntilSettled(compiledPerRound.Dequeue, settledAt: 2, maxRounds: 50, quietRounds: 3);

        Assert.Equal([40, 0, 0, 48, 0, 1, 0], rounds);
        Assert.True(JitWarmUp.Settled(rounds, settledAt: 2, quietRounds: 3));
    }

    [Fact]
    public void A_warm_up_that_needs_quiet_rounds_in_a_row_stops_at_the_cap_unsettled()
    {
        var round = 0;

        var rounds = JitWarmUp.UntilSettled(() => ++round % 3 == 0 ? 5 : 0, settledAt: 2, maxRounds: 10, quietRounds: 3);

        Assert.Equal(10, rounds.Count);
        Assert.False(JitWarmUp.Settled(rounds, settledAt: 2, quietRounds: 3));
        Assert.Contains("NOT settled after the cap of 10", JitWarmUp.Note("(h)", rounds, 2, 10, 3), StringComparison.Ordinal);
    }

    [Fact]
    public void The_note_of_a_warm_up_that_needs_quiet_rounds_writes_runs_of_equal_counts_once()
    {
        var note = JitWarmUp.Note("configs", [74, 0, 0, 0, 5, 5, 1, 0, 0, 0], settledAt: 2, maxRounds: 400, quietRounds: 3);

        Assert.Equal("configs: 10 unmeasured warm-up rounds, methods JIT-compiled during each: 74, 0×3, 5×2, 1, 0×3; settled (at most 2 methods compiled in each of the last 3 rounds) after 10", note);
    }
}
