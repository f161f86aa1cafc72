using DataraxCkpt.Tests.Support;
namespace DataraxCkpt.Tests.Pipelines;

/// <summary>
/// <see cref="IteratorCheckpoint.Restore{T}"/> compares the fingerprint fields both states share before
/// applying a state, as Datarax's <c>validate_restore_compatibility</c> does.
/// </summary>
public sealed class IteratorCheckpointCompatibilityTests
{
    /// <summary>A checkpoint holding, as step 0, an iterator of <paramref name="stride"/> advanced <paramref name="moves"/> times.</summary>
    private static IteratorCheckpoint SavedAt(TempDirectory dir, int stride, int moves)
    {
        var checkpoint = new IteratorCheckpoint(dir.Path);
        using var saved = new FingerprintedIterator(stride);
        for (var i = 0; i < moves; i++)
        {
            saved.MoveNext();
        }

        checkpoint.Save(saved, 0);
        return checkpoint;
    }

    [Fact]
    public void A_custom_iterator_with_a_differing_fingerprint_is_refused_and_left_unchanged()
    {
        using var dir = new TempDirectory();
        using var checkpoint = SavedAt(dir, stride: 2, moves: 2);

        using var target = new FingerprintedIterator(stride: 3);
        target.MoveNext();
        var error = Assert.Throws<IncompatibleStateException>(() => checkpoint.Restore(target, 0));

        Assert.Equal(["stride"], error.DifferingFields);
        Assert.Contains("stride: checkpoint 2, this iterator 3", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, target.Position);
    }

    [Fact]
    public void A_custom_iterator_with_the_same_fingerprint_restores()
    {
        using var dir = new TempDirectory();
        using var checkpoint = SavedAt(dir, stride: 2, moves: 2);

        using var target = new FingerprintedIterator(stride: 2);
        checkpoint.Restore(target, 0);

        Assert.Equal(2, target.Position);
    }

    [Fact]
    public void An_iterator_without_a_fingerprint_is_not_compared()
    {
        using var dir = new TempDirectory();
        using var checkpoint = SavedAt(dir, stride: 2, moves: 1);

        using var plain = new MyCheckpointableIterator<int>([10, 20, 30]);
        checkpoint.Restore(plain, 0); // only "position" is shared; nothing to compare

        Assert.True(plain.MoveNext());
        Assert.Equal(20, plain.Current);
    }
}
