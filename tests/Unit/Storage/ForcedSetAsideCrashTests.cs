using System.Diagnostics;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Reliability.CrashStates;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A forced repair (<c>RepairIndex(force: true)</c>) sets the index the disk cannot read aside as
/// <c>index.sqlite.unreadable-&lt;T&gt;</c>, its main file first and then its -wal and -shm. The -wal may hold committed
/// rows the main file lacks, so it must end beside that file under the same name, however the repair is killed.
/// Before session 19 a kill between the moves left the -wal at the index path, and the next repair set it aside apart
/// (<c>.damaged-&lt;T2&gt;-wal</c>): the set-aside index, read alone, lost the log's rows. The reads fail with a real EIO
/// (strace, on the index and its log, so SQLite cannot fold the log in at close); the kill is the engine's fault point.
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class ForcedSetAsideCrashTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;
    private readonly string _index;

    public ForcedSetAsideCrashTests()
    {
        _ck = Path.GetFullPath(_dir.Sub("ck"));
        _index = Path.Combine(_ck, StepIndex.FileName);
        using (var h = new CheckpointHandler())
        {
            for (var step = 1; step <= 3; step++)
            {
                h.Save(_ck, HarnessState.Create(step, 19, 2, 64), step: step);
            }
        }

        SqliteConnection.ClearAllPools();
        PlantCommitOnlyInTheLog();
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Leaves index.sqlite with a -wal (and -shm) holding one committed change its main file lacks: step 3 pinned in
    /// the log only (its folder has no pin marker, so a rebuild from the folders cannot know it).
    /// </summary>
    private void PlantCommitOnlyInTheLog()
    {
        var kept = Directory.CreateDirectory(_dir.Sub("planted")).FullName;
        using (var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _index, Pooling = false }.ToString()))
        {
            c.Open();
            using (var cmd = c.CreateCommand())
            {
                cmd.CommandText = "PRAGMA wal_autocheckpoint = 0; UPDATE steps SET pinned = 1 WHERE step = 3;";
                cmd.ExecuteNonQuery();
            }

            foreach (var suffix in Suffixes)
            {
                File.Copy(_index + suffix, Path.Combine(kept, StepIndex.FileName + suffix));
            }
        }

        // The close folded the log in and deleted it: put the state of before the close back.
        foreach (var suffix in Suffixes)
        {
            File.Copy(Path.Combine(kept, StepIndex.FileName + suffix), _index + suffix, overwrite: true);
        }

        Assert.Equal(0L, PinnedInSet(_index, null));
        Assert.Equal(1L, PinnedInSet(_index, _index + "-wal"));
    }

    private static readonly string[] Suffixes = [string.Empty, "-wal", "-shm"];

    /// <summary>Every point of the forced set-aside a kill can fall between.</summary>
    public static TheoryData<string> KillPoints => new()
    {
        "repair.after-aside-record=kill", // the record written, nothing moved
        "repair.after-index-main-aside=kill", // the main file aside, its -wal and -shm at the index path
        "repair.after-log-aside=kill@1", // the -wal joined it, the -shm not
        "repair.after-log-aside=kill@2", // both logs joined it, the record not yet deleted
        "repair.before-aside-record-deleted=kill",
    };

    [StraceTheory]
    [MemberData(nameof(KillPoints))]
    public void A_forced_repair_killed_at_any_point_of_the_set_aside_leaves_the_log_beside_its_index_and_the_next_repair_finishes(string kill)
    {
        string[] failing = [_index, _index + "-wal"];
        using (var killed = InjectedErrno.Start("pread64", "EIO", "1+", failing, kill, "repair-force", _ck))
        {
            var (code, output) = Harness.Wait(killed);
            Assert.True(code == Harness.Killed, $"the forced repair was not killed at {kill} (exit {code}): {output}");
        }

        using (var next = InjectedErrno.Start("pread64", "EIO", "1+", failing, null, "repair-force", _ck))
        {
            var (code, output) = Harness.Wait(next);
            Assert.True(code == 0, $"the next forced repair after a kill at {kill} exited {code}: {output}");
            Assert.Contains("indexed: 1,2,3", output, StringComparison.Ordinal);
        }

        var names = SetAside();
        var aside = Assert.Single(names, n => n.Contains(".unreadable-", StringComparison.Ordinal) && !n.EndsWith("-wal", StringComparison.Ordinal) && !n.EndsWith("-shm", StringComparison.Ordinal))!;
        // The set whole under one name, nothing named apart, no record left.
        Assert.Equal([aside, aside + "-shm", aside + "-wal"], names);
        // The log's commit is read with the file it belongs to.
        Assert.Equal(1L, PinnedInSet(Path.Combine(_ck, aside), Path.Combine(_ck, aside + "-wal")));

        using var h = new CheckpointHandler();
        Assert.Equal([1L, 2, 3], h.GetCheckpointSteps(_ck));
        foreach (var step in new long[] { 1, 2, 3 })
        {
            StoreAssert.RestoresExactly(h, _ck, step, 19, 2, 64);
        }
    }

    /// <summary>
    /// A forced dry run (<c>Repair-CheckpointIndex -Force -WhatIf</c>) after a kill inside the set-aside says what the real
    /// run finishes first: the file the record (<c>index.sqlite.aside</c>) names and each -wal/-shm still at the index path
    /// it would move beside that file, under the name it would take; or that it would only delete a record whose main file
    /// never moved. It changes nothing. Until session 21 the dry run did not mention the record at all.
    /// </summary>
    [StraceTheory]
    [MemberData(nameof(KillPoints))]
    public void A_forced_dry_run_after_a_kill_in_the_set_aside_says_what_the_real_run_finishes_and_changes_nothing(string kill)
    {
        string[] failing = [_index, _index + "-wal"];
        using (var killed = InjectedErrno.Start("pread64", "EIO", "1+", failing, kill, "repair-force", _ck))
        {
            var (code, output) = Harness.Wait(killed);
            Assert.True(code == Harness.Killed, $"the forced repair was not killed at {kill} (exit {code}): {output}");
        }

        var record = File.ReadAllText(_index + CheckpointStore.SetAsideRecordSuffix).Trim();
        var before = Files();
        string dryOutput;
        using (var dry = InjectedErrno.Start("pread64", "EIO", "1+", failing, null, "repair-force-dry", _ck))
        {
            var (code, output) = Harness.Wait(dry);
            Assert.True(code == 0, $"the forced dry run after a kill at {kill} exited {code}: {output}");
            dryOutput = output;
        }

        Assert.Equal(before, Files());
        var line = Assert.Single(dryOutput.Split('\n'), l => l.StartsWith("problem: ", StringComparison.Ordinal) && l.Contains("'index.sqlite.aside'", StringComparison.Ordinal));
        Assert.Contains($"names '{record}'", line, StringComparison.Ordinal);
        if (File.Exists(_index))
        {
            // Killed before the main file moved: the real run deletes the record and moves no log by it.
            Assert.Contains("still at its path", line, StringComparison.Ordinal);
            return;
        }

        var logs = new[] { "-wal", "-shm" }.Where(suffix => File.Exists(_index + suffix)).ToList();
        foreach (var suffix in logs)
        {
            Assert.Contains($"'{StepIndex.FileName}{suffix}' as '{record}{suffix}'", line, StringComparison.Ordinal);
        }

        Assert.Contains(logs.Count == 0 ? "whose logs are already with it" : "the repair would first finish it", line, StringComparison.Ordinal);
    }

    /// <summary>Every file of the store's top folder with its length: what a dry run must leave as it was.</summary>
    private List<string> Files() => Directory.GetFiles(_ck).Select(f => $"{Path.GetFileName(f)} {new FileInfo(f).Length}").Order(StringComparer.Ordinal).ToList();

    /// <summary>
    /// A reader that opened the old index before it went aside creates its -wal and -shm again by path on its first query;
    /// when that happens while a forced repair rebuilds, they are the unreadable index's and join the file set aside under
    /// its own name: <c>&lt;name&gt;-wal</c> when the set has no log yet, <c>&lt;name&gt;.late-wal</c> when it has one (which may
    /// hold rows, so it is never replaced). Until session 19 they took a time of their own (<c>.unreadable-&lt;T2&gt;-wal</c>).
    /// </summary>
    [StraceTheory]
    [InlineData("repair.before-index-rename=delay:6000", true)]
    [InlineData("repair.before-index-move-in=delay:6000", true)]
    [InlineData("repair.before-index-rename=delay:6000", false)]
    [InlineData("repair.before-index-move-in=delay:6000", false)]
    public void Logs_that_reappear_while_a_forced_repair_rebuilds_join_the_unreadable_file_under_its_name(string delay, bool setHasLogs)
    {
        if (!setHasLogs)
        {
            // The old index went aside with no log of its own: the late ones take the set's own log names.
            File.Delete(_index + "-wal");
            File.Delete(_index + "-shm");
        }

        using var repair = InjectedErrno.Start("pread64", "EIO", "1+", [_index, _index + "-wal"], delay, "repair-force", _ck);
        var rebuild = _index + StepIndex.RebuildSuffix;
        var watch = Stopwatch.StartNew();
        // The delay holds the repair once the rebuild is written and the old index with its logs went aside.
        while (!(File.Exists(rebuild) && !File.Exists(rebuild + "-wal") && !File.Exists(_index) && !File.Exists(_index + "-wal")) && watch.Elapsed < TimeSpan.FromSeconds(90))
        {
            Thread.Sleep(20);
        }

        File.WriteAllBytes(_index + "-wal", [0x4C, 0x41, 0x54, 0x45]);
        File.WriteAllBytes(_index + "-shm", []);
        var (code, output) = Harness.Wait(repair);

        Assert.True(code == 0, $"forced repair exited {code}: {output}");
        var names = SetAside();
        var aside = Assert.Single(names, n => !n.EndsWith("-wal", StringComparison.Ordinal) && !n.EndsWith("-shm", StringComparison.Ordinal))!;
        Assert.StartsWith(StepIndex.FileName + ".unreadable-", aside, StringComparison.Ordinal);
        if (setHasLogs)
        {
            Assert.Equal([aside, aside + "-shm", aside + "-wal", aside + ".late-shm", aside + ".late-wal"], names);
            // The set's own log is not replaced by the late one: read with it, the file still has the log's commit.
            Assert.Equal(1L, PinnedInSet(Path.Combine(_ck, aside), Path.Combine(_ck, aside + "-wal")));
            Assert.Equal([0x4C, 0x41, 0x54, 0x45], File.ReadAllBytes(Path.Combine(_ck, aside + ".late-wal")));
        }
        else
        {
            Assert.Equal([aside, aside + "-shm", aside + "-wal"], names);
            Assert.Equal([0x4C, 0x41, 0x54, 0x45], File.ReadAllBytes(Path.Combine(_ck, aside + "-wal")));
        }
    }

    /// <summary>The index's files beside it (set aside, a record), by name: "index.sqlite.*" alone would match the index too.</summary>
    private List<string> SetAside() => Directory.GetFiles(_ck).Select(f => Path.GetFileName(f))
        .Where(n => n.StartsWith(StepIndex.FileName + ".", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();

    /// <summary>Step 3's pinned flag as the index file <paramref name="main"/> reads it with the log <paramref name="wal"/> (none: alone), from a copy.</summary>
    private long PinnedInSet(string main, string? wal)
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
        cmd.CommandText = "SELECT pinned FROM steps WHERE step = 3;";
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
