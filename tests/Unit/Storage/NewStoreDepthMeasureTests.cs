using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A new store's depth is measured as a failed open's is (<c>StepIndex.LongestOf</c>: the longer of the typed and the
/// resolved path), with the one rule the new store's own measure had: a trailing separator is not part of the path,
/// since SQLite is given the directory joined with the index's name.
/// </summary>
public sealed class NewStoreDepthMeasureTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_new_store_typed_with_a_trailing_separator_is_measured_without_it()
    {
        // A directory at the limit typed with a trailing separator saves; one byte deeper is refused either way.
        var atLimit = DeepPath.Of(_dir.Sub("t"), StepIndex.LongestDirectoryPath);
        using var writer = new CheckpointHandler();
        writer.Save(atLimit + Path.DirectorySeparatorChar, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        Assert.Equal(new long[] { 1 }, writer.GetCheckpointSteps(atLimit));

        var over = DeepPath.Of(_dir.Sub("o"), StepIndex.LongestDirectoryPath + 1);
        Assert.Throws<PathTooLongException>(() => writer.Save(over + Path.DirectorySeparatorChar, new Dictionary<string, object?> { ["v"] = 1 }, step: 1));
    }
}
