using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Reliability.CrashStates;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Session 21 attack: the same failed look IndexFileExists now raises for index.sqlite, aimed at the index's -wal.
/// A set-aside interrupted after its main file moved (record written, main file aside, -wal with a committed step still at
/// the index path); the next repair's lstat of index.sqlite-wal fails with EIO (strace). File.Exists reads that as "no
/// log": the record would be deleted with the log left behind, and the rebuild's new index renamed in beside a -wal it
/// does not own (SQLite replays it by open(), which the failed lstat does not stop).
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class Attack21LogLookTests : IDisposable
{
    private const string Aside = StepIndex.FileName + ".damaged-20200101T000000000";

    private readonly TempDirectory _dir = new();
    private readonly string _ck;
    private readonly string _index;
    private byte[] _wal = [];

    public Attack21LogLookTests()
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
        PlantStepOnlyInTheLog();
        // Killed at repair.after-index-main-aside: the record names the main file, which went aside; its logs did not.
        File.WriteAllText(_index + CheckpointStore.SetAsideRecordSuffix, Aside);
        File.Move(_index, Path.Combine(_ck, Aside));
    }

    public void Dispose() => _dir.Dispose();

    private static readonly string[] Suffixes = [string.Empty, "-wal", "-shm"];

    private void PlantStepOnlyInTheLog()
    {
        var kept = Directory.CreateDirectory(_dir.Sub("planted")).FullName;
        using (var held = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _index, Pooling = false }.ToString()))
        {
            held.Open();
            using (var cmd = held.CreateCommand())
            {
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
        Assert.True(_wal.Length > 32);
    }

    private List<string> Names() => Directory.GetFiles(_ck).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToList();

    /// <summary>
    /// Every lstat of index.sqlite-wal fails with EIO during a repair (or a save, which rebuilds a lost index too). The
    /// log belongs to the set-aside file the record names: it must join that file, or the command must fail leaving the
    /// record and the log as they were. Never the record gone, the log still at the index path, a new index beside it.
    /// </summary>
    [StraceTheory]
    [InlineData("repair")]
    [InlineData("save")]
    public void A_failed_look_at_an_interrupted_set_asides_log_never_drops_the_record_and_leaves_the_log_by_a_new_index(string command)
    {
        string[] args = command == "save" ? ["save", _ck, "5", "21", "2", "64"] : [command, _ck];
        var (code, output) = InjectedErrno.Run("lstat", "EIO", "1+", _index + "-wal", args);

        var names = Names();
        var joined = File.Exists(Path.Combine(_ck, Aside + "-wal")) && File.ReadAllBytes(Path.Combine(_ck, Aside + "-wal")).SequenceEqual(_wal);
        var untouched = File.Exists(_index + CheckpointStore.SetAsideRecordSuffix) && File.Exists(_index + "-wal")
            && File.ReadAllBytes(_index + "-wal").SequenceEqual(_wal) && !File.Exists(_index);
        Assert.True(joined || untouched,
            $"'{command}' (exit {code}) neither moved the log to its set-aside file nor left the interrupted set-aside as it was: {string.Join(", ", names)}; {output}");
    }

    /// <summary>
    /// The same interrupted set-aside; the repair's look at the record itself (index.sqlite.aside) or at the file it names
    /// fails with EIO (stat and lstat, every call). Read as "no record" the log went aside under a new name, apart from the
    /// main file it belongs to; read as "the named file is gone" the record was deleted and the log likewise split off.
    /// </summary>
    [StraceTheory]
    [InlineData("record")]
    [InlineData("named")]
    public void A_failed_look_at_an_interrupted_set_asides_record_or_its_file_never_splits_the_log_from_its_file(string looked)
    {
        var path = looked == "record" ? _index + CheckpointStore.SetAsideRecordSuffix : Path.Combine(_ck, Aside);
        var (code, output) = InjectedErrno.Run("stat,lstat", "EIO", "1+", path, "repair", _ck);

        var names = Names();
        var joined = File.Exists(Path.Combine(_ck, Aside + "-wal")) && File.ReadAllBytes(Path.Combine(_ck, Aside + "-wal")).SequenceEqual(_wal);
        var untouched = File.Exists(_index + CheckpointStore.SetAsideRecordSuffix) && File.Exists(_index + "-wal")
            && File.ReadAllBytes(_index + "-wal").SequenceEqual(_wal) && !File.Exists(_index);
        Assert.True(joined || untouched,
            $"repair (exit {code}) with its look at the {looked} failing neither moved the log to its set-aside file nor left the interrupted set-aside as it was: {string.Join(", ", names)}; {output}");
    }
}
