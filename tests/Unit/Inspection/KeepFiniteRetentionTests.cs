using DataraxCkpt.Retention;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Inspection;

/// <summary>
/// Prune with KeepFinite keeps the newest N finite steps: a step whose float tensors hold NaN or ±∞ does
/// not count for Keep or KeepEvery and is removed unless another rule keeps it; the newest committed step
/// and pinned steps survive whatever their values.
/// </summary>
public sealed class KeepFiniteRetentionTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public KeepFiniteRetentionTests() => _ck = _dir.Sub("ck");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private sealed record Step(long Number, bool Finite, bool Pinned = false);

    private static List<long> Plan(IEnumerable<Step> steps, RetentionPolicy policy, List<long>? asked = null) =>
        RetentionPlanner.StepsToRemove(steps.ToList(), s => (s.Number, Now.AddHours(-s.Number), s.Pinned), policy, Now, null,
            s => { asked?.Add(s.Number); return s.Finite; }).Select(s => s.Number).ToList();

    private static IEnumerable<Step> Run(params (long Step, bool Finite)[] steps) => steps.Select(s => new Step(s.Step, s.Finite));

    [Fact]
    public void Keep_with_KeepFinite_counts_only_finite_steps_and_removes_non_finite_ones_outside_them()
    {
        var steps = Run((1, true), (2, true), (3, false), (4, true), (5, false), (6, false));
        Assert.Equal(new long[] { 1, 3, 5 }, Plan(steps, new RetentionPolicy { Keep = 2, KeepFinite = true }));
        Assert.Equal(new long[] { 1, 2, 3, 4 }, Plan(steps, new RetentionPolicy { Keep = 2 }));
    }

    [Fact]
    public void The_newest_step_and_pinned_steps_survive_KeepFinite_even_when_not_finite()
    {
        var steps = new[] { new Step(1, true), new Step(2, false, Pinned: true), new Step(3, false), new Step(4, false) };
        Assert.Equal(new long[] { 3 }, Plan(steps, new RetentionPolicy { Keep = 1, KeepFinite = true }));
    }

    [Fact]
    public void KeepEvery_with_KeepFinite_keeps_only_finite_multiples()
    {
        var steps = Run((10, false), (20, true), (25, true), (30, true));
        Assert.Equal(new long[] { 10, 25 }, Plan(steps, new RetentionPolicy { KeepEvery = 10, KeepFinite = true }));
    }

    [Fact]
    public void KeepFinite_asks_only_about_the_steps_whose_fate_depends_on_it()
    {
        var asked = new List<long>();
        Plan(Run((1, true), (2, true), (3, true), (4, true)), new RetentionPolicy { Keep = 2, KeepFinite = true }, asked);
        Assert.Equal(new long[] { 4, 3 }, asked);
    }

    [Fact]
    public void A_KeepFinite_policy_without_finiteness_is_a_programming_error()
    {
        Assert.Throws<ArgumentNullException>(() => RetentionPlanner.StepsToRemove(new[] { 1L }, s => (s, Now, false),
            new RetentionPolicy { Keep = 1, KeepFinite = true }, Now, null));
    }

    [Fact]
    public void KeepFinite_alone_is_no_rule_and_removes_nothing()
    {
        Assert.True(new RetentionPolicy { KeepFinite = true }.KeepsEverything);
        Assert.Empty(Plan(Run((1, false), (2, true)), new RetentionPolicy { KeepFinite = true }));
    }

    private void Save(long step, float value) =>
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = new[] { 1f, value }, ["i"] = new[] { 1, 2 }, ["lr"] = 0.1 }, step: step);

    [Fact]
    public void Prune_with_KeepFinite_keeps_the_newest_finite_steps_and_the_newest_step_even_if_it_holds_NaN()
    {
        Save(1, 1f);
        Save(2, 2f);
        Save(3, float.NaN);
        Save(4, 4f);
        Save(5, float.PositiveInfinity);

        var policy = new RetentionPolicy { Keep = 2, KeepFinite = true };
        var planned = _handler.Prune(_ck, policy, dryRun: true).Select(c => c.Step).ToList();
        var removed = _handler.Prune(_ck, policy).Select(c => c.Step).ToList();

        Assert.Equal(new long[] { 1, 3 }, removed);
        Assert.Equal(planned, removed);
        Assert.Equal(new long[] { 2, 4, 5 }, _handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void Prune_with_KeepFinite_does_not_count_a_step_that_cannot_be_read()
    {
        Save(1, 1f);
        Save(2, 2f);
        Save(3, 3f);
        var data = Path.Combine(_ck, "2", "tensors.lz4");
        var bytes = File.ReadAllBytes(data);
        bytes[^5] ^= 0xFF;
        File.WriteAllBytes(data, bytes);

        var removed = _handler.Prune(_ck, new RetentionPolicy { Keep = 2, KeepFinite = true }).Select(c => c.Step).ToList();
        Assert.Equal(new long[] { 2 }, removed);
        Assert.Equal(new long[] { 1, 3 }, _handler.GetCheckpointSteps(_ck));
    }

    [Theory]
    [InlineData("tensors.lz4")]
    [InlineData("manifest.json.lz4")]
    public void Prune_with_KeepFinite_treats_a_half_deleted_step_as_unreadable_in_the_dry_run_and_the_real_run(string missing)
    {
        Save(1, 1f);
        Save(2, 2f);
        Save(3, 3f);
        File.Delete(Path.Combine(_ck, "2", missing));

        var policy = new RetentionPolicy { Keep = 2, KeepFinite = true };
        var planned = _handler.Prune(_ck, policy, dryRun: true).Select(c => c.Step).ToList();
        var removed = _handler.Prune(_ck, policy).Select(c => c.Step).ToList();

        Assert.Equal(new long[] { 2 }, removed);
        Assert.Equal(planned, removed);
        Assert.Equal(new long[] { 1, 3 }, _handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void KeepFinite_judges_an_overwritten_step_by_its_new_values()
    {
        Save(1, 1f);
        Save(2, 2f);
        Save(3, 3f);
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = new[] { float.NaN } }, step: 2, overwrite: true);

        var removed = _handler.Prune(_ck, new RetentionPolicy { Keep = 2, KeepFinite = true }).Select(c => c.Step).ToList();
        Assert.Equal(new long[] { 2 }, removed);
    }
}
