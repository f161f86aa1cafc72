using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests;

/// <summary>
/// Retention can never wipe a run by accident: the newest committed step survives every rule, rules
/// that keep nothing are refused, and retention leaves folders that are not checkpoint directories untouched.
/// </summary>
public sealed class RetentionSafetyTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public RetentionSafetyTests() => _ck = _dir.Sub("checkpoints");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private void SaveSteps(params long[] steps)
    {
        foreach (var step in steps)
        {
            _handler.Save(_ck, new Dictionary<string, object?> { ["v"] = step }, step: step);
        }
    }

    [Fact]
    public void Prune_with_a_policy_that_keeps_nothing_else_still_keeps_the_newest_step()
    {
        SaveSteps(1, 2, 3, 4);
        Thread.Sleep(50);

        // Every step is older than 1 ms and none is a multiple of 1000: by the rules nothing survives.
        var policy = new RetentionPolicy { KeepNewerThan = TimeSpan.FromMilliseconds(1), KeepEvery = 1000 };
        var planned = _handler.Prune(_ck, policy, dryRun: true).Select(c => c.Step).ToList();
        var removed = _handler.Prune(_ck, policy).Select(c => c.Step).ToList();

        Assert.Equal(new long[] { 1, 2, 3 }, removed);
        Assert.Equal(planned, removed);
        Assert.Equal(new long[] { 4 }, _handler.GetCheckpointSteps(_ck));
        Assert.Equal(4, _handler.LatestStep(_ck));
    }

    [Fact]
    public void Prune_keeps_the_newest_step_and_pinned_steps_but_Remove_by_number_empties_the_directory()
    {
        SaveSteps(1, 2, 3);
        _handler.SetPinned(_ck, 1, true);
        Thread.Sleep(50);
        _handler.Prune(_ck, new RetentionPolicy { KeepNewerThan = TimeSpan.FromMilliseconds(1) });
        Assert.Equal(new long[] { 1, 3 }, _handler.GetCheckpointSteps(_ck));

        _handler.Remove(_ck, 1, force: true);
        _handler.Remove(_ck, 3);
        Assert.Empty(_handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void Save_with_keep_zero_keeps_the_step_just_written()
    {
        SaveSteps(1, 2);
        _handler.Save(_ck, new Dictionary<string, object?> { ["v"] = 3L }, step: 3, keep: 0);
        Assert.Equal(new long[] { 3 }, _handler.GetCheckpointSteps(_ck));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_policy_refuses_Keep_below_one_and_says_how_to_remove_everything(int keep)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new RetentionPolicy { Keep = keep });
        Assert.Equal("Keep", e.ParamName);
        Assert.Contains("Get-Checkpoint <dir> | Remove-Checkpoint", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void A_policy_refuses_KeepEvery_below_one(long every)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new RetentionPolicy { KeepEvery = every });
        Assert.Equal("KeepEvery", e.ParamName);
        Assert.Contains("remove them by number", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-60)]
    public void A_policy_refuses_a_zero_or_negative_KeepNewerThan(int seconds)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new RetentionPolicy { KeepNewerThan = TimeSpan.FromSeconds(seconds) });
        Assert.Equal("KeepNewerThan", e.ParamName);
        Assert.Contains("remove them by number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_with_expression_cannot_sneak_in_a_rule_that_keeps_nothing()
    {
        var policy = new RetentionPolicy { Keep = 3 };
        Assert.Throws<ArgumentOutOfRangeException>(() => policy with { Keep = 0 });
    }

    [Fact]
    public void Prune_of_a_folder_that_is_not_a_checkpoint_directory_creates_nothing_in_it()
    {
        var stray = _dir.Sub("tensorboard");
        Directory.CreateDirectory(stray);
        File.WriteAllText(Path.Combine(stray, "events.out"), "x");

        Assert.False(_handler.IsCheckpointDirectory(stray));
        Assert.Empty(_handler.Prune(stray, new RetentionPolicy { Keep = 1 }, dryRun: true));
        Assert.Empty(_handler.Prune(stray, new RetentionPolicy { Keep = 1 }));
        Assert.Equal(new[] { "events.out" }, Directory.GetFileSystemEntries(stray).Select(Path.GetFileName));
    }

    [Fact]
    public void A_dry_run_prune_creates_no_lock_or_index_even_when_the_index_is_lost()
    {
        SaveSteps(1, 2, 3);
        foreach (var file in Directory.GetFiles(_ck).Where(f => Path.GetFileName(f).StartsWith("index.sqlite", StringComparison.Ordinal) || Path.GetFileName(f) == ".lock"))
        {
            File.Delete(file);
        }

        Assert.True(_handler.IsCheckpointDirectory(_ck));
        var planned = _handler.Prune(_ck, new RetentionPolicy { Keep = 1 }, dryRun: true).Select(c => c.Step).ToList();

        Assert.Equal(new long[] { 1, 2 }, planned);
        Assert.False(File.Exists(Path.Combine(_ck, "index.sqlite")));
        Assert.False(File.Exists(Path.Combine(_ck, ".lock")));
    }

    [Fact]
    public void A_dry_run_Remove_creates_no_lock_or_index_in_a_stray_folder_or_a_store_whose_index_is_lost()
    {
        var stray = _dir.Sub("tensorboard");
        Directory.CreateDirectory(stray);
        File.WriteAllText(Path.Combine(stray, "events.out"), "x");
        Assert.Throws<StepNotFoundException>(() => _handler.Remove(stray, 5, dryRun: true));
        Assert.Equal(new[] { "events.out" }, Directory.GetFileSystemEntries(stray).Select(Path.GetFileName));

        SaveSteps(1, 2, 3);
        _handler.SetPinned(_ck, 2, true);
        foreach (var file in Directory.GetFiles(_ck).Where(f => Path.GetFileName(f).StartsWith("index.sqlite", StringComparison.Ordinal) || Path.GetFileName(f) == ".lock"))
        {
            File.Delete(file);
        }

        Assert.Equal(1, _handler.Remove(_ck, 1, dryRun: true).Step);
        Assert.Throws<StepPinnedException>(() => _handler.Remove(_ck, 2, dryRun: true));
        Assert.Throws<StepNotFoundException>(() => _handler.Remove(_ck, 9, dryRun: true));
        Assert.False(File.Exists(Path.Combine(_ck, "index.sqlite")));
        Assert.False(File.Exists(Path.Combine(_ck, ".lock")));
    }
}
