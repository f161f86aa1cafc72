namespace DataraxCkpt.Tests.Pipelines;

/// <summary>The guide's "Checkpointable Iterator Pattern" usage, step by step.</summary>
public sealed class GuideIteratorExampleTests
{
    private static int Next(IEnumerator<int> iterator)
    {
        Assert.True(iterator.MoveNext());
        return iterator.Current;
    }

    // The guide's usage: next -> 1, next -> 2, ckpt = checkpoint(), next -> 3, restore(ckpt), next.
    // The guide's comment on that last call says "2 (resumed from checkpoint)", but its own code cannot
    // print 2: the checkpoint holds position 2 and data[2] is 3. Exact resume (CONTRACT §8) means the
    // item after the checkpoint comes next, so this port asserts 3 and then 4, and that the checkpoint
    // holds position 2 exactly as the guide's code computes it.
    [Fact]
    public void Guide_example_one_two_checkpoint_three_restore_resumes_after_two()
    {
        using var iterator = new MyCheckpointableIterator<int>([1, 2, 3, 4, 5]);

        Assert.Equal(1, Next(iterator));
        Assert.Equal(2, Next(iterator));

        var ckpt = iterator.Checkpoint();
        Assert.Equal(new Dictionary<string, object?> { ["position"] = 2L }, ckpt);

        Assert.Equal(3, Next(iterator));

        iterator.Restore(ckpt);
        Assert.Equal(3, Next(iterator));
        Assert.Equal(4, Next(iterator));
    }

    [Fact]
    public void Restoring_an_earlier_checkpoint_replays_the_items_after_it()
    {
        using var iterator = new MyCheckpointableIterator<int>([1, 2, 3, 4, 5]);

        Assert.Equal(1, Next(iterator));
        var afterOne = iterator.Checkpoint();
        Assert.Equal(2, Next(iterator));
        Assert.Equal(3, Next(iterator));

        iterator.Restore(afterOne);
        Assert.Equal(2, Next(iterator));
        Assert.Equal(3, Next(iterator));
    }

    [Fact]
    public void GetState_and_SetState_delegate_to_Checkpoint_and_Restore()
    {
        using var iterator = new MyCheckpointableIterator<int>([1, 2, 3]);
        ICheckpointable checkpointable = iterator;

        Assert.Equal(1, Next(iterator));
        var state = checkpointable.GetState();
        Assert.Equal(iterator.Checkpoint(), state);

        Assert.Equal(2, Next(iterator));
        checkpointable.SetState(state);
        Assert.Equal(2, Next(iterator));
    }

    [Fact]
    public void An_exhausted_iterator_stops()
    {
        using var iterator = new MyCheckpointableIterator<int>([1]);

        Assert.Equal(1, Next(iterator));
        Assert.False(iterator.MoveNext());
        Assert.Throws<NotSupportedException>(iterator.Reset);
    }
}
