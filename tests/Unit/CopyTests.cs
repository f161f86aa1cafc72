using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests;

/// <summary>CheckpointHandler.Copy: verified on the way, committed on the destination as a save.</summary>
public sealed class CopyTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _from;
    private readonly string _to;

    public CopyTests()
    {
        _from = _dir.Sub("from");
        _to = _dir.Sub("to");
    }

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private static Dictionary<string, object?> State(int seed) => new()
    {
        ["w"] = Enumerable.Range(0, 300_000).Select(i => (float)Math.Sin(i * 0.001 + seed)).ToArray(),
        ["nan"] = new[] { BitConverter.Int32BitsToSingle(0x7FC0_1234), -0.0f },
        ["step"] = (long)seed,
        ["name"] = "run " + seed,
    };

    [Fact]
    public void Copied_steps_restore_bit_exact_with_their_metadata_and_creation_time()
    {
        _handler.Save(_from, State(1), step: 10, metadata: new Dictionary<string, object?> { ["loss"] = 0.25 });
        _handler.Save(_from, State(2), step: 20);

        var copied = _handler.Copy(_from, _to, [10, 20]);

        Assert.Equal([10L, 20L], copied.Select(c => c.Step));
        Assert.Equal([10L, 20L], _handler.GetCheckpointSteps(_to));
        foreach (var step in new[] { 10L, 20L })
        {
            var a = (Dictionary<string, object?>)_handler.Restore(_from, step)!;
            var b = (Dictionary<string, object?>)_handler.Restore(_to, step)!;
            Assert.Equal(((float[])a["w"]!).Select(BitConverter.SingleToInt32Bits), ((float[])b["w"]!).Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(((float[])a["nan"]!).Select(BitConverter.SingleToInt32Bits), ((float[])b["nan"]!).Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(a["step"], b["step"]);
            Assert.Equal(a["name"], b["name"]);
            Assert.Equal(_handler.GetCheckpoint(_from, step).CreatedUtc, _handler.GetCheckpoint(_to, step).CreatedUtc);
        }

        Assert.Equal(0.25, _handler.RestoreMetadata(_to, 10)!["loss"]);
        Assert.True(_handler.Verify(_to, 20).Ok);
    }

    [Fact]
    public void Without_steps_every_committed_step_is_copied()
    {
        _handler.Save(_from, State(1), step: 1);
        _handler.Save(_from, State(2), step: 5);

        _handler.Copy(_from, _to);

        Assert.Equal([1L, 5L], _handler.GetCheckpointSteps(_to));
    }

    [Fact]
    public void Pins_travel_with_the_copy_unless_dropped()
    {
        _handler.Save(_from, State(1), step: 3);
        _handler.SetPinned(_from, 3, pinned: true);

        _handler.Copy(_from, _to, [3]);
        _handler.Copy(_from, _dir.Sub("unpinned"), [3], keepPins: false);

        Assert.True(_handler.GetCheckpoint(_to, 3).Pinned);
        Assert.False(_handler.GetCheckpoint(_dir.Sub("unpinned"), 3).Pinned);
        // The pin is durable (the marker is inside the step folder), so a rebuilt index keeps it.
        File.Delete(Path.Combine(_to, "index.sqlite"));
        _handler.RepairIndex(_to);
        Assert.True(_handler.GetCheckpoint(_to, 3).Pinned);
    }

    [Fact]
    public void An_existing_destination_step_is_refused_unless_overwritten()
    {
        _handler.Save(_from, State(1), step: 7);
        _handler.Save(_to, State(9), step: 7);

        var e = Assert.Throws<StepExistsException>(() => _handler.Copy(_from, _to, [7]));
        Assert.Equal(7, e.Step);
        Assert.Equal(9L, ((Dictionary<string, object?>)_handler.Restore(_to, 7)!)["step"]);

        _handler.Copy(_from, _to, [7], overwrite: true);
        Assert.Equal(1L, ((Dictionary<string, object?>)_handler.Restore(_to, 7)!)["step"]);
    }

    [Fact]
    public void A_corrupted_source_step_is_refused_and_nothing_is_committed_at_the_destination()
    {
        _handler.Save(_from, State(1), step: 4);
        var data = Path.Combine(_from, "4", "tensors.lz4");
        var bytes = File.ReadAllBytes(data);
        bytes[bytes.Length / 2] ^= 0x5A;
        File.WriteAllBytes(data, bytes);

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Copy(_from, _to, [4]));

        Assert.Equal(4, e.Step);
        Assert.Empty(_handler.GetCheckpointSteps(_to));
        Assert.False(Directory.Exists(Path.Combine(_to, "4")));
    }

    [Fact]
    public void A_missing_source_step_or_directory_is_named()
    {
        _handler.Save(_from, State(1), step: 1);

        Assert.Throws<StepNotFoundException>(() => _handler.Copy(_from, _to, [2]));
        Assert.Throws<CheckpointDirectoryNotFoundException>(() => _handler.Copy(_dir.Sub("typo"), _to));
        Assert.Throws<ArgumentException>(() => _handler.Copy(_from, _from + Path.DirectorySeparatorChar));
    }

    [Fact]
    public void A_cancelled_copy_publishes_nothing_and_leaves_no_staging_folder()
    {
        _handler.Save(_from, State(1), step: 2);
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => _handler.Copy(_from, _to, [2], cancellationToken: cancel.Token));

        Assert.Empty(_handler.GetCheckpointSteps(_to));
    }
}
