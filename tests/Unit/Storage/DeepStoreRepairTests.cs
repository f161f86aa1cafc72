using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A store deeper than a new one may be (its directory 484-491 bytes: moved there) opens its index, but not a repair's
/// longer <c>index.sqlite.rebuild</c>. A repair of its damaged index set the index aside before the rebuild's open
/// failed, and the next save then refused the directory as "too deep for a new store": the store had no index left
/// (session 14's debt). Such a rebuild is now refused before anything is moved, naming the directory.
/// </summary>
public sealed class DeepStoreRepairTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A store of steps 1 and 2 made at a short path and moved to one of <paramref name="bytes"/> bytes.</summary>
    private string MovedStore(int bytes)
    {
        var shallow = _dir.Sub("s" + bytes);
        using (var writer = new CheckpointHandler())
        {
            writer.Save(shallow, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
            writer.Save(shallow, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
        }

        var deep = DeepPath.Of(_dir.Sub("m" + bytes), bytes);
        Directory.CreateDirectory(Path.GetDirectoryName(deep)!);
        Directory.Move(shallow, deep);
        return deep;
    }

    /// <summary>Leaves <paramref name="directory"/>'s index with no schema version (as an index being created, or emptied), in one file; returns its path.</summary>
    private static string Unversioned(string directory)
    {
        var index = Path.Combine(directory, StepIndex.FileName);
        using var c = new SqliteConnection($"Data Source={index};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode = DELETE; PRAGMA user_version = 0;";
        cmd.ExecuteNonQuery();
        return index;
    }

    /// <summary>
    /// Saves step 3 into <paramref name="deep"/> <paramref name="attempts"/> times, each refused before the unversioned
    /// <paramref name="index"/> goes aside (it stays, byte for byte, alone), then moves the store up, where the save works
    /// and the store lists 1, 2 and 3.
    /// </summary>
    private void RefusedUntilMovedUp(string deep, string index, int attempts)
    {
        var before = File.ReadAllBytes(index);
        using var writer = new CheckpointHandler();
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var e = Assert.Throws<PathTooLongException>(() => writer.Save(deep, new Dictionary<string, object?> { ["v"] = 3 }, step: 3));
            Assert.Contains(deep, e.Message, StringComparison.Ordinal);
            Assert.Contains(StepIndex.FileName + StepIndex.RebuildSuffix, e.Message, StringComparison.Ordinal);
            Assert.Contains("nothing was set aside", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("new store", e.Message, StringComparison.Ordinal);
            Assert.Equal([StepIndex.FileName], IndexFiles(deep));
            Assert.Equal(before, File.ReadAllBytes(index));
        }

        var up = _dir.Sub("up");
        Directory.Move(deep, up);
        writer.Save(up, new Dictionary<string, object?> { ["v"] = 3 }, step: 3);
        Assert.Equal(new long[] { 1, 2, 3 }, writer.GetCheckpointSteps(up));
    }

    private static string[] IndexFiles(string directory) =>
        Directory.GetFiles(directory, StepIndex.FileName + "*").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Theory]
    [InlineData(484)]
    [InlineData(491)]
    public void A_repair_of_a_damaged_index_too_deep_to_rebuild_refuses_before_moving_it_and_the_store_is_whole_once_moved_up(int bytes)
    {
        Assert.InRange(bytes, StepIndex.LongestDirectoryPath + 1, StepIndex.LongestSqlitePath - 1 - StepIndex.FileName.Length);
        var deep = MovedStore(bytes);
        var index = Path.Combine(deep, StepIndex.FileName);
        var garbage = Enumerable.Repeat((byte)7, 4096).ToArray();
        File.WriteAllBytes(index, garbage);

        using var writer = new CheckpointHandler();
        var e = Assert.Throws<PathTooLongException>(() => writer.RepairIndex(deep));
        Assert.Contains(deep, e.Message, StringComparison.Ordinal);
        Assert.Contains(StepIndex.FileName + StepIndex.RebuildSuffix, e.Message, StringComparison.Ordinal);
        // Nothing moved: the damaged index is where it was, byte for byte, with nothing set aside or left half-built.
        Assert.Equal([StepIndex.FileName], IndexFiles(deep));
        Assert.Equal(garbage, File.ReadAllBytes(index));

        // The next save meets the damaged index it had, not "too deep for a new store".
        var save = Assert.ThrowsAny<Exception>(() => writer.Save(deep, new Dictionary<string, object?> { ["v"] = 3 }, step: 3));
        Assert.DoesNotContain("new store", save.Message, StringComparison.Ordinal);
        Assert.IsType<CorruptCheckpointException>(save);

        // Nothing lost: moved to a shorter path, the same repair rebuilds both steps.
        var up = _dir.Sub("up" + bytes);
        Directory.Move(deep, up);
        writer.RepairIndex(up);
        Assert.Equal(new long[] { 1, 2 }, writer.GetCheckpointSteps(up));
        Assert.Equal(2, ((Dictionary<string, object?>)writer.Restore(up, step: 2)!)["v"]);
    }

    /// <summary>
    /// A store moved to a directory about 4,070 bytes deep, its index lost: the rebuild's leftovers are deleted before the
    /// probe, and <c>index.sqlite.rebuild-journal</c> there is longer than the system's 4,095-byte path limit, so the
    /// delete fails with a PathTooLongException, which was rethrown as a plain IOException.
    /// </summary>
    [Fact]
    public void A_rebuild_whose_leftovers_are_past_the_systems_path_limit_is_refused_as_too_long_naming_the_directory()
    {
        var deep = MovedStore(4070);
        File.Delete(Path.Combine(deep, StepIndex.FileName));
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(Path.Combine(deep, StepIndex.FileName + StepIndex.RebuildSuffix + "-journal")) > 4095);

        using var writer = new CheckpointHandler();
        var e = Assert.Throws<PathTooLongException>(() => writer.RepairIndex(deep));
        Assert.Contains(deep, e.Message, StringComparison.Ordinal);
        Assert.Contains(StepIndex.FileName + StepIndex.RebuildSuffix, e.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was set aside", e.Message, StringComparison.Ordinal);
        Assert.IsType<PathTooLongException>(e.InnerException);
        Assert.Empty(IndexFiles(deep));

        var up = _dir.Sub("up");
        Directory.Move(deep, up);
        writer.RepairIndex(up);
        Assert.Equal(new long[] { 1, 2 }, writer.GetCheckpointSteps(up));
    }

    [Fact]
    public void A_save_over_an_unversioned_index_too_deep_to_rebuild_refuses_before_setting_it_aside()
    {
        // A writer that finds an index with no schema version sets it aside and rebuilds it, as a repair does: the same
        // rebuild file, the same refusal before anything is moved.
        var deep = MovedStore(StepIndex.LongestDirectoryPath + 3);
        var index = Unversioned(deep);

        RefusedUntilMovedUp(deep, index, attempts: 2);
    }

    [Fact]
    public void A_save_over_an_unversioned_index_whose_only_steps_an_overwrite_parked_in_the_trash_refuses_before_setting_it_aside()
    {
        // An overwrite killed between its renames parks the old step in .trash; with its intent lost (the index unversioned),
        // the rebuild puts it back. No step folder shows before that, yet the rebuild runs: it must be probed all the same,
        // or the index goes aside, the rebuild's open fails and the store is left with no index at all.
        var deep = MovedStore(StepIndex.LongestDirectoryPath + 3);
        var trash = Directory.CreateDirectory(Path.Combine(deep, StepFolders.TrashFolder)).FullName;
        foreach (var step in new long[] { 1, 2 })
        {
            var parked = StepFolders.StagingName(step, Guid.NewGuid().ToString("N")) + StepFolders.DisplacedSuffix;
            Directory.Move(Path.Combine(deep, step.ToString(System.Globalization.CultureInfo.InvariantCulture)), Path.Combine(trash, parked));
        }

        var index = Unversioned(deep);

        RefusedUntilMovedUp(deep, index, attempts: 1);
    }
}
