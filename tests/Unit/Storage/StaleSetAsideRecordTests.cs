using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Reliability.CrashStates;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A stale set-aside record (<c>index.sqlite.aside</c> naming a set-aside index whose set-aside finished long ago: it came
/// back after its unflushed deletion, or an older engine finished that set-aside) beside a live index whose -wal holds a
/// committed step its main file lacks. The record says "the logs at the index path are the named file's"; it may be
/// honoured only when the index path is truly empty. A save, a repair or a listing must never move the live log away
/// from the live index (its committed step would be unlisted), whether they race each other or a look at the index file
/// fails: until session 21 a failed lstat of index.sqlite (File.Exists reads any failure as "no file") made the live
/// index "lost", and the set-aside then moved its -wal beside the record's file.
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class StaleSetAsideRecordTests : IDisposable
{
    private const string Stale = StepIndex.FileName + ".damaged-20200101T000000000";

    private readonly TempDirectory _dir = new();
    private readonly string _ck;
    private readonly string _index;
    private byte[] _wal = [];

    public StaleSetAsideRecordTests()
    {
        _ck = Path.GetFullPath(_dir.Sub("ck"));
        _index = Path.Combine(_ck, StepIndex.FileName);
        using (var h = new CheckpointHandler())
        {
            for (var step = 1; step <= 3; step++)
            {
                h.Save(_ck, HarnessState.Create(step, 21, 2, 64), step: step);
            }
        }

        SqliteConnection.ClearAllPools();
        // An old index kept by a set-aside that finished: a copy of the main file as it was, its record left behind.
        File.Copy(_index, Path.Combine(_ck, Stale));
        File.WriteAllText(_index + CheckpointStore.SetAsideRecordSuffix, Stale);
        PlantStepOnlyInTheLog();
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>Step 4 committed into the index's -wal only (a read transaction held open keeps the save's checkpoints and close from folding it in).</summary>
    private void PlantStepOnlyInTheLog()
    {
        var kept = Directory.CreateDirectory(_dir.Sub("planted")).FullName;
        using (var held = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _index, Pooling = false }.ToString()))
        {
            held.Open();
            using (var cmd = held.CreateCommand())
            {
                // A read transaction held open: the save's passive checkpoint cannot copy frames past its snapshot.
                cmd.CommandText = "PRAGMA wal_autocheckpoint = 0; BEGIN; SELECT count(*) FROM steps;";
                cmd.ExecuteScalar();
            }

            using (var h = new CheckpointHandler())
            {
                h.Save(_ck, HarnessState.Create(4, 21, 2, 64), step: 4);
            }

            SqliteConnection.ClearAllPools();
            foreach (var suffix in Suffixes)
            {
                File.Copy(_index + suffix, Path.Combine(kept, StepIndex.FileName + suffix));
            }
        }

        foreach (var suffix in Suffixes)
        {
            File.Copy(Path.Combine(kept, StepIndex.FileName + suffix), _index + suffix, overwrite: true);
        }

        _wal = File.ReadAllBytes(_index + "-wal");
        Assert.Equal(3L, StepsInSet(_index, null));
        Assert.Equal(4L, StepsInSet(_index, _index + "-wal"));
    }

    private static readonly string[] Suffixes = [string.Empty, "-wal", "-shm"];

    public static TheoryData<string[]> Commands => new()
    {
        new[] { "save", "5", "21", "2", "64" },
        new[] { "repair" },
        new[] { "list" },
    };

    /// <summary>
    /// Every lstat of index.sqlite fails with EIO (a real one, strace) while the save, repair or listing runs: the index is
    /// there, only the look failed. Nothing may move its -wal: the command fails or works, and afterwards step 4 is listed.
    /// </summary>
    [StraceTheory]
    [MemberData(nameof(Commands))]
    public void A_failed_look_at_a_live_index_never_moves_its_log_beside_a_stale_record_file(string[] command)
    {
        var (_, output) = InjectedErrno.Run("lstat", "EIO", "1+", _index, [command[0], _ck, .. command.Skip(1)]);

        Assert.True(File.Exists(_index + "-wal"), $"the live index's -wal was moved away by '{command[0]}': {string.Join(", ", Names())}; {output}");
        Assert.Equal(_wal, File.ReadAllBytes(_index + "-wal"));
        Assert.DoesNotContain(Names(), n => n.StartsWith(Stale + "-", StringComparison.Ordinal) || n.StartsWith(Stale + ".late", StringComparison.Ordinal));
        using var h = new CheckpointHandler();
        Assert.Equal([1L, 2, 3, 4], h.GetCheckpointSteps(_ck).Where(s => s <= 4));
        StoreAssert.RestoresExactly(h, _ck, 4, 21, 2, 64);
    }

    /// <summary>
    /// A save, a repair and two listings started at once beside the stale record: whichever takes the lock first, the live
    /// log stays with the live index (each finds index.sqlite at its path), step 4 stays listed, and nothing joins the stale
    /// record's file.
    /// </summary>
    [Fact]
    public void A_save_a_repair_and_listings_racing_beside_a_stale_record_keep_the_live_log_with_the_live_index()
    {
        var started = new[]
        {
            Harness.Start(null, "save", _ck, "5", "21", "2", "64"),
            Harness.Start(null, "repair", _ck),
            Harness.Start(null, "list", _ck),
            Harness.Start(null, "list", _ck),
        };
        foreach (var p in started)
        {
            using (p)
            {
                var (code, output) = Harness.Wait(p);
                Assert.True(code == 0, $"a racing command exited {code}: {output}");
            }
        }

        Assert.DoesNotContain(Names(), n => n.StartsWith(Stale + "-", StringComparison.Ordinal) || n.StartsWith(Stale + ".late", StringComparison.Ordinal));
        using var h = new CheckpointHandler();
        Assert.Equal([1L, 2, 3, 4, 5], h.GetCheckpointSteps(_ck));
        StoreAssert.RestoresExactly(h, _ck, 4, 21, 2, 64);
    }

    private List<string> Names() => Directory.GetFiles(_ck).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToList();

    /// <summary>How many steps the index file <paramref name="main"/> lists read with the log <paramref name="wal"/> (none: alone), from a copy.</summary>
    private long StepsInSet(string main, string? wal)
    {
        var copy = Path.Combine(Directory.CreateDirectory(_dir.Sub("read-" + Guid.NewGuid().ToString("N"))).FullName, "set.sqlite");
        File.Copy(main, copy);
        if (wal is not null)
        {
            File.Copy(wal, copy + "-wal");
        }

        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = copy, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM steps;";
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
