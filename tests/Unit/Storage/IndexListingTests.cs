using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Listing a big index (issue 17, "Big indexes"): ListCheckpoints builds its records straight from the rows
/// it reads and decodes metadata only when a record's Metadata is read; ListFirstCheckpoints and
/// ListLastCheckpoints answer with one query. Every listed record must equal the record of the same step
/// read on its own (GetCheckpoint), and damage must surface exactly as it does there.
/// </summary>
public sealed class IndexListingTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public IndexListingTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, object?> State(int v) => new() { ["v"] = v, ["w"] = new float[] { v, v + 1 } };

    /// <summary>Saves steps with no metadata, shared metadata, nested metadata and distinct metadata, and pins two.</summary>
    private void SaveVariedSteps(CheckpointHandler h)
    {
        var shared = new Dictionary<string, object?> { ["run"] = "a", ["lr"] = 0.001 };
        h.Save(_ck, State(1), step: 1);
        h.Save(_ck, State(2), step: 2, metadata: shared);
        h.Save(_ck, State(3), step: 3, metadata: shared);
        h.Save(_ck, State(4), step: 4, metadata: new Dictionary<string, object?> { ["nested"] = new Dictionary<string, object?> { ["k"] = new List<object?> { 1L, "x", null } } });
        h.Save(_ck, State(5), step: 5);
        h.Save(_ck, State(6), step: 6, metadata: new Dictionary<string, object?> { ["loss"] = 0.5 });
        h.SetPinned(_ck, 2, pinned: true);
        h.SetPinned(_ck, 5, pinned: true);
    }

    /// <summary>Copies the index rows of steps 1…6 under step numbers 1000 + 6k + (1…6), as the bench's big store does.</summary>
    private void CopyRows(int copies)
    {
        using var index = PlantedManifest.OpenIndex(_ck);
        using var cmd = index.CreateCommand();
        cmd.CommandText = """
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $copies)
            INSERT INTO steps(step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned)
            SELECT 1000 + n.i * 6 + s.step, printf('%032x', 1000 + n.i * 6 + s.step), s.created_utc + n.i, s.size, s.stored_size, s.item_count, s.metadata, s.manifest_hash, s.pinned
            FROM n, steps AS s WHERE s.step <= 6;
            """;
        cmd.Parameters.AddWithValue("$copies", copies);
        cmd.ExecuteNonQuery();
    }

    private void SetMetadataText(long step, string text)
    {
        using var index = PlantedManifest.OpenIndex(_ck);
        using var cmd = index.CreateCommand();
        cmd.CommandText = "UPDATE steps SET metadata = $m WHERE step = $s;";
        cmd.Parameters.AddWithValue("$m", text);
        cmd.Parameters.AddWithValue("$s", step);
        cmd.ExecuteNonQuery();
    }

    private static void AssertSameRecord(CheckpointInfo expected, CheckpointInfo actual)
    {
        Assert.Equal(expected.Step, actual.Step);
        Assert.Equal(expected.Path, actual.Path);
        Assert.Equal(expected.Directory, actual.Directory);
        Assert.Equal(expected.CreatedUtc, actual.CreatedUtc);
        Assert.Equal(expected.Size, actual.Size);
        Assert.Equal(expected.StoredSize, actual.StoredSize);
        Assert.Equal(expected.ItemCount, actual.ItemCount);
        Assert.Equal(expected.Pinned, actual.Pinned);
        Assert.Equal(expected.Metadata.Count, actual.Metadata.Count);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(expected.Metadata), System.Text.Json.JsonSerializer.Serialize(actual.Metadata));
        Assert.Equal(expected.ToString(), actual.ToString());
    }

    [Fact]
    public void A_listing_of_many_steps_with_metadata_and_pins_equals_each_step_read_on_its_own()
    {
        using var h = new CheckpointHandler();
        SaveVariedSteps(h);
        CopyRows(200);

        var listed = h.ListCheckpoints(_ck);

        Assert.Equal(6 + 1200, listed.Count);
        Assert.Equal(h.GetCheckpointSteps(_ck), listed.Select(i => i.Step));
        foreach (var info in listed)
        {
            AssertSameRecord(h.GetCheckpoint(_ck, info.Step), info);
        }

        Assert.Equal("a", listed[1].Metadata["run"]);
        Assert.Empty(listed[0].Metadata);
        Assert.True(listed[4].Pinned);
        Assert.Equal(Path.Combine(Path.GetFullPath(_ck), "1006"), listed.Single(i => i.Step == 1006).Path);
    }

    [Fact]
    public void Listed_records_that_share_metadata_text_each_decode_their_own_dictionary()
    {
        using var h = new CheckpointHandler();
        SaveVariedSteps(h);

        var listed = h.ListCheckpoints(_ck);

        Assert.NotSame(listed[1].Metadata, listed[2].Metadata);
        Assert.Equal(listed[1].Metadata["lr"], listed[2].Metadata["lr"]);
        Assert.Same(listed[1].Metadata, listed[1].Metadata);
    }

    [Fact]
    public void Listing_an_index_with_undecodable_metadata_succeeds_and_reading_that_metadata_fails_as_a_single_record_does()
    {
        using var h = new CheckpointHandler();
        SaveVariedSteps(h);
        SetMetadataText(4, "{not json");

        var listed = h.ListCheckpoints(_ck);
        var single = Assert.Throws<CorruptCheckpointException>(() => h.GetCheckpoint(_ck, 4).Metadata);
        var fromList = Assert.Throws<CorruptCheckpointException>(() => listed[3].Metadata);

        Assert.Equal(6, listed.Count);
        Assert.Equal(4, fromList.Step);
        Assert.Equal("metadata", fromList.Item);
        Assert.Equal(single.Message, fromList.Message);
        Assert.Equal(Path.GetFullPath(_ck), fromList.Directory);
        // Reading again reports the damage again; the neighbours are unaffected.
        Assert.Throws<CorruptCheckpointException>(() => listed[3].Metadata);
        Assert.Equal("a", listed[2].Metadata["run"]);
        Assert.Equal(0.5, listed[5].Metadata["loss"]);
    }

    [Fact]
    public void Metadata_that_is_valid_json_but_not_a_dictionary_fails_on_read_with_the_step_named()
    {
        using var h = new CheckpointHandler();
        SaveVariedSteps(h);
        SetMetadataText(6, "[1,2]");

        var info = h.ListLastCheckpoints(_ck, 1).Single();

        var e = Assert.Throws<CorruptCheckpointException>(() => info.Metadata);
        Assert.Equal(6, e.Step);
        Assert.Equal("metadata", e.Item);
    }

    [Fact]
    public void First_and_last_of_a_missing_or_empty_directory_are_empty()
    {
        using var h = new CheckpointHandler();
        Assert.Empty(h.ListFirstCheckpoints(_ck, 3));
        Assert.Empty(h.ListLastCheckpoints(_ck, 3));

        h.Save(_ck, State(1), step: 1);
        h.Remove(_ck, 1);
        Assert.Empty(h.ListFirstCheckpoints(_ck, 3));
        Assert.Empty(h.ListLastCheckpoints(_ck, 3));
    }

    [Fact]
    public void Last_n_are_the_highest_steps_in_ascending_order_and_first_n_the_lowest()
    {
        using var h = new CheckpointHandler();
        foreach (var step in new long[] { 4200, 10, 200, 20, 100, 50 })
        {
            h.Save(_ck, State((int)step), step: step);
        }

        Assert.Equal(new long[] { 200, 4200 }, h.ListLastCheckpoints(_ck, 2).Select(i => i.Step));
        Assert.Equal(new long[] { 10, 20, 50 }, h.ListFirstCheckpoints(_ck, 3).Select(i => i.Step));
        foreach (var info in h.ListLastCheckpoints(_ck, 2).Concat(h.ListFirstCheckpoints(_ck, 3)))
        {
            AssertSameRecord(h.GetCheckpoint(_ck, info.Step), info);
        }
    }

    [Fact]
    public void A_count_beyond_the_steps_returns_every_step_and_zero_returns_none()
    {
        using var h = new CheckpointHandler();
        SaveVariedSteps(h);

        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6 }, h.ListLastCheckpoints(_ck, 100).Select(i => i.Step));
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6 }, h.ListFirstCheckpoints(_ck, int.MaxValue).Select(i => i.Step));
        Assert.Empty(h.ListLastCheckpoints(_ck, 0));
        Assert.Empty(h.ListFirstCheckpoints(_ck, 0));
    }

    [Fact]
    public void A_negative_count_is_refused_naming_the_count()
    {
        using var h = new CheckpointHandler();
        SaveVariedSteps(h);

        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => h.ListLastCheckpoints(_ck, -1)).ParamName);
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => h.ListFirstCheckpoints(_ck, -1)).ParamName);
    }

    [Fact]
    public void Last_one_is_the_latest_steps_record()
    {
        using var h = new CheckpointHandler();
        SaveVariedSteps(h);
        CopyRows(50);

        var latest = Assert.Single(h.ListLastCheckpoints(_ck, 1));

        Assert.Equal(h.LatestStep(_ck), latest.Step);
        AssertSameRecord(h.GetCheckpoint(_ck, latest.Step), latest);
    }

    [Fact]
    public void A_damaged_index_fails_a_listing_with_the_corrupt_checkpoint_error()
    {
        using var h = new CheckpointHandler();
        SaveVariedSteps(h);
        CopyRows(400);
        // Overwrite the middle of the file, where the steps table's pages are: SQLite reports SQLITE_CORRUPT.
        var path = Path.Combine(_ck, "index.sqlite");
        using (var h2 = new CheckpointHandler())
        {
            _ = h2.ListCheckpoints(_ck);
        }

        WalCheckpoint(path);
        var bytes = File.ReadAllBytes(path);
        for (var i = 4096 * 2; i < bytes.Length - 4096; i++)
        {
            bytes[i] = 0xA5;
        }

        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<CorruptCheckpointException>(() => h.ListCheckpoints(_ck));
        Assert.Equal("index.sqlite", e.Item);
    }

    private static void WalCheckpoint(string path)
    {
        using var c = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        cmd.ExecuteNonQuery();
    }
}
