using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Issue 9 items 7 and 10: a save without a step number takes one past every numbered folder and every
/// row, so a damaged step left in place (or a folder a delete could not remove) never blocks saving,
/// and the last representable step gives a clear error instead of wrapping around.
/// </summary>
public sealed class NextStepTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public NextStepTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, object?> State(long n) => new() { ["n"] = n, ["w"] = new float[] { n } };

    [Fact]
    public void An_auto_numbered_save_steps_past_a_damaged_folder_left_in_place()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: 1);
        h.Save(_ck, State(2), step: 2);
        // A damaged step 3 that repair reports and leaves where it is.
        Directory.CreateDirectory(Path.Combine(_ck, "3"));
        File.WriteAllBytes(Path.Combine(_ck, "3", "manifest.json.lz4"), new byte[] { 1, 2, 3 });
        Assert.Contains(h.RepairIndex(_ck).Problems, p => p.StartsWith("step 3:", StringComparison.Ordinal));

        var first = h.Save(_ck, State(4));
        var second = h.Save(_ck, State(5));

        Assert.Equal(4, first.Step);
        Assert.Equal(5, second.Step);
        Assert.Equal(new long[] { 1, 2, 4, 5 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void An_auto_numbered_save_steps_past_every_numbered_folder_even_far_beyond_the_index()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: 1);
        Directory.CreateDirectory(Path.Combine(_ck, "70")); // a folder a delete could not remove

        Assert.Equal(71, h.Save(_ck, State(2)).Step);
    }

    [Fact]
    public void An_auto_numbered_save_after_the_last_representable_step_fails_clearly_and_changes_nothing()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: long.MaxValue);

        var error = Assert.Throws<InvalidOperationException>(() => h.Save(_ck, State(2)));
        Assert.Contains(long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
        Assert.Contains("explicit step", error.Message, StringComparison.Ordinal);
        Assert.Equal(new long[] { long.MaxValue }, h.GetCheckpointSteps(_ck));

        // An explicit step still works.
        Assert.Equal(5, h.Save(_ck, State(5), step: 5).Step);
    }

    [Fact]
    public void A_folder_at_the_last_representable_step_fails_an_auto_numbered_save_clearly()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: 1);
        Directory.CreateDirectory(Path.Combine(_ck, long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        Assert.Throws<InvalidOperationException>(() => h.Save(_ck, State(2)));
        Assert.Equal(new long[] { 1 }, h.GetCheckpointSteps(_ck));
    }
}
