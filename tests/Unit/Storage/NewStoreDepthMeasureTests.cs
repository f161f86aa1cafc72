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

    /// <summary>A path of exactly <paramref name="bytes"/> bytes under <paramref name="root"/>, built of nested folders.</summary>
    private static string Deep(string root, int bytes)
    {
        var ck = root;
        while (ck.Length < bytes - 61)
        {
            ck = Path.Combine(ck, new string('d', 60));
        }

        var deep = Path.Combine(ck, new string('e', bytes - ck.Length - 1));
        Assert.Equal(bytes, System.Text.Encoding.UTF8.GetByteCount(deep));
        return deep;
    }

    [Fact]
    public void A_new_store_typed_with_a_trailing_separator_is_measured_without_it()
    {
        // A directory at the limit typed with a trailing separator saves; one byte deeper is refused either way.
        var atLimit = Deep(_dir.Sub("t"), StepIndex.LongestDirectoryPath);
        using var writer = new CheckpointHandler();
        writer.Save(atLimit + Path.DirectorySeparatorChar, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        Assert.Equal(new long[] { 1 }, writer.GetCheckpointSteps(atLimit));

        var over = Deep(_dir.Sub("o"), StepIndex.LongestDirectoryPath + 1);
        Assert.Throws<PathTooLongException>(() => writer.Save(over + Path.DirectorySeparatorChar, new Dictionary<string, object?> { ["v"] = 1 }, step: 1));
    }
}
