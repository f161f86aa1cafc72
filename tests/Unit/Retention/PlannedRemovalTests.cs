using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Retention;

/// <summary>
/// A retention run plans first (a dry run, which -WhatIf and -Confirm need) and removes step by step
/// after. Between the two another process may overwrite, pin or remove steps: a planned removal then
/// removes only the version it planned, and never the step that has become the newest.
/// </summary>
public sealed class PlannedRemovalTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly CheckpointHandler _other = new();
    private readonly string _ck;

    public PlannedRemovalTests() => _ck = _dir.Sub("ck");

    public void Dispose()
    {
        _handler.Dispose();
        _other.Dispose();
        _dir.Dispose();
    }

    private static Dictionary<string, object?> State(float value) => new() { ["w"] = new[] { value, value } };

    [Fact]
    public void A_step_overwritten_after_the_plan_is_kept_with_its_new_values()
    {
        _handler.Save(_ck, State(1), step: 1);
        _handler.Save(_ck, State(float.NaN), step: 2);
        _handler.Save(_ck, State(3), step: 3);
        var planned = _handler.Prune(_ck, new RetentionPolicy { Keep = 1, KeepFinite = true }, dryRun: true);
        Assert.Equal(new long[] { 1, 2 }, planned.Select(p => p.Step));

        _other.Save(_ck, State(2), step: 2, overwrite: true);

        Assert.Null(_handler.RemoveIfUnchanged(_ck, planned[1]));
        Assert.NotNull(_handler.RemoveIfUnchanged(_ck, planned[0]));
        Assert.Equal(new long[] { 2, 3 }, _handler.GetCheckpointSteps(_ck));
        Assert.Equal(2f, ((float[])((IDictionary<string, object?>)_handler.Restore(_ck, 2)!)["w"]!)[0]);
    }

    [Fact]
    public void A_step_pinned_after_the_plan_is_kept()
    {
        _handler.Save(_ck, State(1), step: 1);
        _handler.Save(_ck, State(2), step: 2);
        var planned = _handler.Prune(_ck, new RetentionPolicy { Keep = 1 }, dryRun: true);
        _other.SetPinned(_ck, 1, true);

        Assert.Null(_handler.RemoveIfUnchanged(_ck, Assert.Single(planned)));
        Assert.Equal(new long[] { 1, 2 }, _handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_planned_step_that_has_become_the_newest_is_kept()
    {
        _handler.Save(_ck, State(1), step: 1);
        _handler.Save(_ck, State(2), step: 2);
        _handler.Save(_ck, State(3), step: 3);
        var planned = _handler.Prune(_ck, new RetentionPolicy { Keep = 1 }, dryRun: true);
        Assert.Equal(new long[] { 1, 2 }, planned.Select(p => p.Step));

        _other.Remove(_ck, 3);

        Assert.NotNull(_handler.RemoveIfUnchanged(_ck, planned[0]));
        Assert.Null(_handler.RemoveIfUnchanged(_ck, planned[1]));
        Assert.Equal(new long[] { 2 }, _handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_planned_step_removed_meanwhile_is_no_error()
    {
        _handler.Save(_ck, State(1), step: 1);
        _handler.Save(_ck, State(2), step: 2);
        var planned = _handler.Prune(_ck, new RetentionPolicy { Keep = 1 }, dryRun: true);
        _other.Remove(_ck, 1);

        Assert.Null(_handler.RemoveIfUnchanged(_ck, Assert.Single(planned)));
        Assert.Equal(new long[] { 2 }, _handler.GetCheckpointSteps(_ck));
    }
}
