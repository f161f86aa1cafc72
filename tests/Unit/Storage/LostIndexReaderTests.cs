using System.Diagnostics;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Readers that hold the directory's shared lock must not wait on themselves for the exclusive one
/// when the index is gone (issue 9, item 5): they rebuild it first, then read.
/// </summary>
public sealed class LostIndexReaderTests : IDisposable
{
    // A reader that waits on its own shared lock fails with a TimeoutException after this long (or, were the
    // timeout caught, passes only after it): each test also bounds its read to half of it. That bound was the
    // timeout itself, 5 s, once: a loaded machine (a CI run beside other work on two cores) can take seconds to
    // rebuild an index and fsync it, so a correct reader could fail; 60 s leaves the bound 30 s of room while a
    // reader that waits on itself still takes the whole 60 s.
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan AtOnce = LockTimeout / 2;

    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public LostIndexReaderTests()
    {
        _ck = _dir.Sub("ck");
        using var writer = new CheckpointHandler();
        writer.Save(_ck, new Dictionary<string, object?> { ["v"] = 1, ["w"] = new float[] { 1, 2, 3 } }, step: 1);
        writer.Save(_ck, new Dictionary<string, object?> { ["v"] = 2, ["w"] = new float[] { 1, 2, 4 } }, step: 2);
    }

    public void Dispose() => _dir.Dispose();

    private void DeleteIndex()
    {
        foreach (var file in Directory.GetFiles(_ck, "index.sqlite*"))
        {
            File.Delete(file);
        }
    }

    private static CheckpointHandler Reader() => new(new CheckpointOptions { LockTimeout = LockTimeout });

    [Fact]
    public void Restore_of_a_directory_whose_index_was_deleted_rebuilds_it_and_returns_the_data_at_once()
    {
        DeleteIndex();
        using var h = Reader();
        var watch = Stopwatch.StartNew();
        var restored = (Dictionary<string, object?>)h.Restore(_ck, step: 1)!;
        Assert.True(watch.Elapsed < AtOnce, $"restore took {watch.Elapsed}");
        Assert.Equal(1, restored["v"]);
        Assert.Equal(new float[] { 1, 2, 3 }, (float[])restored["w"]!);
        Assert.True(File.Exists(Path.Combine(_ck, "index.sqlite")), "the index was rebuilt on disk");
        Assert.Equal(new long[] { 1, 2 }, h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void Restore_of_the_latest_step_with_no_index_returns_the_highest_step()
    {
        DeleteIndex();
        using var h = Reader();
        Assert.Equal(2, ((Dictionary<string, object?>)h.Restore(_ck)!)["v"]);
    }

    [Fact]
    public void Verify_of_a_directory_whose_index_was_deleted_succeeds_at_once()
    {
        DeleteIndex();
        using var h = Reader();
        var watch = Stopwatch.StartNew();
        var result = h.Verify(_ck, 2);
        Assert.True(watch.Elapsed < AtOnce, $"verify took {watch.Elapsed}");
        Assert.True(result.Ok, string.Join("; ", result.Problems));
        Assert.Equal(2, result.ItemsChecked);
    }

    [Fact]
    public void Compare_of_a_directory_whose_index_was_deleted_succeeds_at_once()
    {
        DeleteIndex();
        using var h = Reader();
        var watch = Stopwatch.StartNew();
        var diff = h.Compare(_ck, 1, 2);
        Assert.True(watch.Elapsed < AtOnce, $"compare took {watch.Elapsed}");
        Assert.Equal(new[] { "v", "w" }, diff.Select(d => d.Name).Order());
    }

    [Fact]
    public void Restore_of_a_step_that_does_not_exist_with_no_index_reports_step_not_found()
    {
        DeleteIndex();
        using var h = Reader();
        var e = Assert.Throws<StepNotFoundException>(() => h.Restore(_ck, step: 7));
        Assert.Contains("Available steps: 1, 2.", e.Message, StringComparison.Ordinal);
    }
}
