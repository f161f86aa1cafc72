using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A save's item list goes into the index through SQLite's incremental blob I/O (issue 15: no copy in SQLite's
/// binding): the bytes are those of the finished blob, the list reads back exactly, and a list that fails while
/// being finished or written leaves no row behind.
/// </summary>
public sealed class StreamedItemListCommitTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ItemListCodec.Writer SampleWriter(int leaves)
    {
        var writer = new ItemListCodec.Writer(leaves);
        for (var i = 0; i < leaves; i++)
        {
            if (i % 1000 == 7)
            {
                writer.AddTensor("t/" + i, "tensor", "f32", [i, 3], 12L * i, i / 1000);
            }
            else
            {
                writer.Add("k" + i, "scalar", i % 2 == 0 ? "i32" : "f64", null, 4, 0);
            }
        }

        return writer;
    }

    /// <summary>
    /// A list whose names share little and repeat nothing (random hex after the leaf number), so its compressed
    /// blob stays above <see cref="StepIndex.SmallCommitCacheFrom"/>: sequential names compress to a few bytes a leaf.
    /// </summary>
    private static ItemListCodec.Writer BigWriter(int leaves)
    {
        var random = new Random(17);
        var writer = new ItemListCodec.Writer(leaves);
        for (var i = 0; i < leaves; i++)
        {
            var name = "k" + i + "/" + Convert.ToHexString(BitConverter.GetBytes(random.NextInt64()));
            if (i % 1000 == 7)
            {
                writer.AddTensor(name, "tensor", "f32", [i, 3], 12L * i, i / 1000);
            }
            else
            {
                writer.Add(name, "scalar", i % 2 == 0 ? "i32" : "f64", null, 4, 0);
            }
        }

        return writer;
    }

    private static long StoredLength(int tensor) => 1000L + (tensor * 100_003L);

    private static StepRow Row(long step, int items) =>
        new(step, new string('a', 32), DateTimeOffset.UnixEpoch, 8, 100, items, "{}", new string('0', 16), Pinned: false);

    [Fact]
    public void ToArray_splices_each_tensor_items_stored_size_in_and_finishes_a_valid_blob()
    {
        var writer = SampleWriter(5_000);
        var whole = writer.ToArray(StoredLength);

        ItemListCodec.Check(1, whole, 5_000);
        var items = ItemListCodec.Decode(1, whole, 5_000);
        Assert.Equal(StoredLength(4), items[4_007].StoredSize);
        Assert.Equal(0, items[4_008].StoredSize);
    }

    [Fact]
    public void A_list_committed_from_its_writer_reads_back_as_the_same_list_committed_as_a_blob()
    {
        Directory.CreateDirectory(_dir.Sub("ix"));
        using var index = StepIndex.Open(_dir.Sub("ix"), create: true, upgrade: true);
        var writer = SampleWriter(20_000);
        index.CommitStep(Row(1, 20_000), writer.ToArray(StoredLength), 20_000, intentToClear: null);
        index.CommitStep(Row(2, 20_000), writer, StoredLength, intentToClear: null);

        var asBlob = index.Items(1);
        var streamed = index.Items(2);
        Assert.Equal(20_000, streamed.Count);
        Assert.Equal(asBlob.Select(i => (i.Name, i.Kind, i.DType, i.Size, i.StoredSize)), streamed.Select(i => (i.Name, i.Kind, i.DType, i.Size, i.StoredSize)));
        Assert.Equal(asBlob.Select(i => i.Shape is null ? "-" : string.Join(',', i.Shape)), streamed.Select(i => i.Shape is null ? "-" : string.Join(',', i.Shape)));
        Assert.Equal(StoredLength(19), streamed[19_007].StoredSize);
    }

    [Fact]
    public void A_list_that_fails_while_finished_leaves_neither_the_step_nor_its_items()
    {
        Directory.CreateDirectory(_dir.Sub("ix"));
        using var index = StepIndex.Open(_dir.Sub("ix"), create: true, upgrade: true);
        var writer = SampleWriter(3_000);
        var calls = 0;

        // Three tensor items: finishing the list asks for three sizes and fails at its second.
        long FailingLength(int tensor) => ++calls == 2 ? throw new IOException("simulated failure mid-list") : StoredLength(tensor);

        Assert.ThrowsAny<Exception>(() => index.CommitStep(Row(4, 3_000), writer, FailingLength, intentToClear: null));
        Assert.Equal(2, calls);
        Assert.Null(index.Get(4));

        index.CommitStep(Row(4, 3_000), writer, StoredLength, intentToClear: null);
        Assert.Equal(3_000, index.Items(4).Count);
    }

    [Fact]
    public void A_big_list_commits_through_a_small_page_cache_reads_back_exactly_and_leaves_the_cache_size_as_it_was()
    {
        // 100,000 leaves (a 1 MB list): with SQLite's default 2 MiB cache every page of the list stayed in native
        // memory until the commit, a megabyte on top of the list itself in a first save's peak (round 50 of
        // docs/performance-notes.md); the commit's cache is small, so its pages go to the log as they fill.
        Directory.CreateDirectory(_dir.Sub("ix"));
        using var index = StepIndex.Open(_dir.Sub("ix"), create: true, upgrade: true);
        var writer = BigWriter(100_000);
        Assert.True(writer.ToArray(StoredLength).Length > StepIndex.SmallCommitCacheFrom);
        var cacheBefore = index.CacheSizes();

        index.CommitStep(Row(1, 100_000), writer, StoredLength, intentToClear: null);

        Assert.InRange(index.CacheUsedBytes(), 0, 512 << 10);
        Assert.Equal(cacheBefore, index.CacheSizes());
        var items = index.Items(1);
        Assert.Equal(100_000, items.Count);
        Assert.Equal(("k99999/", "f64"), (items[99_999].Name[..7], items[99_999].DType));
        Assert.Equal(StoredLength(99), items[99_007].StoredSize);
    }

    [Fact]
    public void A_big_list_that_fails_while_written_leaves_the_cache_size_as_it_was()
    {
        // The small commit cache is put back when the commit fails too: left at 256 KiB, every later
        // statement of the kept connection (a removal, a listing, the next save) would run with it.
        Directory.CreateDirectory(_dir.Sub("ix"));
        using var index = StepIndex.Open(_dir.Sub("ix"), create: true, upgrade: true);
        var writer = BigWriter(100_000);
        Assert.True(writer.ToArray(StoredLength).Length > StepIndex.SmallCommitCacheFrom);
        var cacheBefore = index.CacheSizes();

        // The commit fails after its row went in, at its item list, with the small cache set.
        var connection = ConnectionOf(index);
        using (var trigger = connection.CreateCommand())
        {
            trigger.CommandText = "CREATE TEMP TRIGGER fail_items BEFORE INSERT ON main.step_items BEGIN SELECT RAISE(ABORT, 'injected commit failure (test)'); END;";
            trigger.ExecuteNonQuery();
        }

        Assert.ThrowsAny<Exception>(() => index.CommitStep(Row(1, 100_000), writer, StoredLength, intentToClear: null));
        Assert.Null(index.Get(1));
        Assert.Equal(cacheBefore, index.CacheSizes());
    }
    // Attack on session 20's review (StepIndex.WithPageCache): the put-back of a big list's commit refused by SQLite (an
    // authorizer denies every cache_size but the commit's own -256), as a broken connection or a full disk would refuse it.
    private static Microsoft.Data.Sqlite.SqliteConnection ConnectionOf(StepIndex index) =>
        (Microsoft.Data.Sqlite.SqliteConnection)typeof(StepIndex)
            .GetField("_connection", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(index)!;

    private static void RefuseCacheBack(Microsoft.Data.Sqlite.SqliteConnection connection)
    {
        SQLitePCL.strdelegate_authorizer refuse = (_, action, name, value, _, _) =>
            action == SQLitePCL.raw.SQLITE_PRAGMA && name == "cache_size" && value is not null && value != "-256" ? SQLitePCL.raw.SQLITE_DENY : SQLitePCL.raw.SQLITE_OK;
        SQLitePCL.raw.sqlite3_set_authorizer(connection.Handle, refuse, null);
    }

    [Fact]
    public void A_big_list_commit_whose_cache_cannot_be_put_back_is_still_reported_committed()
    {
        Directory.CreateDirectory(_dir.Sub("ix"));
        using var index = StepIndex.Open(_dir.Sub("ix"), create: true, upgrade: true);
        var writer = BigWriter(100_000);
        Assert.True(writer.ToArray(StoredLength).Length > StepIndex.SmallCommitCacheFrom);
        RefuseCacheBack(ConnectionOf(index));

        // A committed step reported as failed would make the caller save it again, or tell a user it is lost.
        index.CommitStep(Row(1, 100_000), writer, StoredLength, intentToClear: null);

        Assert.Equal(100_000, index.Items(1).Count);
        Assert.Equal(-256L, index.CacheSizes().Main);
    }

    [Fact]
    public void A_big_list_commit_that_fails_with_its_cache_put_back_refused_reports_its_own_error_and_publishes_nothing()
    {
        Directory.CreateDirectory(_dir.Sub("ix"));
        using var index = StepIndex.Open(_dir.Sub("ix"), create: true, upgrade: true);
        var writer = BigWriter(100_000);
        var connection = ConnectionOf(index);
        using (var trigger = connection.CreateCommand())
        {
            // The commit's transaction fails after its row went in, at its item list, as a failing disk would.
            trigger.CommandText = "CREATE TEMP TRIGGER fail_items BEFORE INSERT ON main.step_items BEGIN SELECT RAISE(ABORT, 'injected commit failure (test)'); END;";
            trigger.ExecuteNonQuery();
        }

        RefuseCacheBack(connection);
        var failed = Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => index.CommitStep(Row(1, 100_000), writer, StoredLength, intentToClear: null));
        Assert.Contains("injected commit failure (test)", failed.Message, StringComparison.Ordinal);
        Assert.Null(index.Get(1));
    }
}
