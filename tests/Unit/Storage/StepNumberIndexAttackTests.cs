using System.Collections;
using System.Diagnostics;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// The step-number index (<c>steps_by_step</c>) against what a hand edit or a full disk does to a store written before
/// it: a schema object already holding its name, an index of that name that is not the engine's, an index missing
/// entries, and no space for building it at the first write.
/// </summary>
public sealed class StepNumberIndexAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ITestOutputHelper _output;
    private readonly string _ck;

    public StepNumberIndexAttackTests(ITestOutputHelper output)
    {
        _output = output;
        _ck = _dir.Sub("ck");
    }

    public void Dispose() => _dir.Dispose();

    private IndexFile Index => new(Path.Combine(_ck, StepIndex.FileName));

    private void SaveSteps(CheckpointHandler h, params long[] steps)
    {
        foreach (var step in steps)
        {
            h.Save(_ck, new Hashtable { ["v"] = (int)step }, step: step);
        }
    }

    [Fact]
    public void A_table_made_by_hand_under_the_step_number_index_name_stops_neither_writes_nor_repair()
    {
        using var h = new CheckpointHandler();
        SaveSteps(h, 1, 2, 3);
        // An index written before the step-number index existed, where someone has since made a table of that name
        // (in another case: SQLite's names are case-insensitive).
        Index.Execute($"DROP INDEX {StepIndex.StepNumberIndex}; CREATE TABLE {StepIndex.StepNumberIndex.ToUpperInvariant()}(x); PRAGMA wal_checkpoint(TRUNCATE);");

        SaveSteps(h, 4);
        h.Remove(_ck, 2);
        Assert.Empty(h.RepairIndex(_ck).Problems);
        Assert.Equal([1L, 3, 4], h.GetCheckpointSteps(_ck));
        Assert.Equal([1L, 3, 4], h.ListCheckpoints(_ck).Select(c => c.Step));
    }

    /// <summary>
    /// A negative step number written by hand: no save writes one, and the listing that parsed the numbers as text
    /// refused it as damage; the row-at-a-time listing returned it (final review).
    /// </summary>
    [Fact]
    public void A_negative_step_number_written_by_hand_is_index_damage_for_the_step_number_listing()
    {
        using var h = new CheckpointHandler();
        SaveSteps(h, 1, 2);
        Index.Execute("UPDATE steps SET step = -1 WHERE step = 1; UPDATE step_items SET step = -1 WHERE step = 1; PRAGMA wal_checkpoint(TRUNCATE);");

        var e = Assert.Throws<CorruptCheckpointException>(() => h.GetCheckpointSteps(_ck));
        Assert.Contains("-1", e.Message, StringComparison.Ordinal);
        // Repair rebuilds the index from the step folders: the row of a step that has none goes, step 1 comes back.
        h.RepairIndex(_ck);
        Assert.Equal([1L, 2], h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_partial_or_other_index_under_the_step_number_index_name_never_hides_a_step()
    {
        using var h = new CheckpointHandler();
        SaveSteps(h, 1, 2, 3, 6, 7);
        Index.Execute($"DROP INDEX {StepIndex.StepNumberIndex}; CREATE INDEX {StepIndex.StepNumberIndex} ON steps(step) WHERE step > 5; PRAGMA wal_checkpoint(TRUNCATE);");
        Assert.Equal([1L, 2, 3, 6, 7], h.GetCheckpointSteps(_ck));
        SaveSteps(h, 8);
        Assert.Equal([1L, 2, 3, 6, 7, 8], h.GetCheckpointSteps(_ck));

        Index.Execute($"DROP INDEX {StepIndex.StepNumberIndex}; CREATE INDEX {StepIndex.StepNumberIndex} ON steps(save_id DESC); PRAGMA wal_checkpoint(TRUNCATE);");
        Assert.Equal([1L, 2, 3, 6, 7, 8], h.GetCheckpointSteps(_ck));
    }

    /// <summary>
    /// An index b-tree that lacks entries its table has (damage to the index's pages alone) makes the step-number
    /// listing miss those steps, where the full listing (read from the table) shows them: held only in that repair
    /// finds it (integrity_check compares index and table), and its rebuild lists every step again.
    /// </summary>
    [Fact]
    public void A_step_number_index_missing_entries_is_found_and_rebuilt_by_repair()
    {
        using var h = new CheckpointHandler();
        SaveSteps(h, 1, 2, 3, 6, 7);
        Index.Execute($"""
            DROP INDEX {StepIndex.StepNumberIndex};
            CREATE INDEX {StepIndex.StepNumberIndex} ON steps(step) WHERE step > 5;
            PRAGMA writable_schema = ON;
            UPDATE sqlite_master SET sql = 'CREATE INDEX {StepIndex.StepNumberIndex} ON steps(step)' WHERE name = '{StepIndex.StepNumberIndex}';
            PRAGMA writable_schema = OFF;
            PRAGMA wal_checkpoint(TRUNCATE);
            """);
        using var fresh = new CheckpointHandler();
        _output.WriteLine("listed from the damaged index: " + string.Join(",", fresh.GetCheckpointSteps(_ck)));
        Assert.Equal([1L, 2, 3, 6, 7], fresh.ListCheckpoints(_ck).Select(c => c.Step));
        Assert.NotEmpty(fresh.RepairIndex(_ck, dryRun: true).Problems);
        fresh.RepairIndex(_ck);
        Assert.Equal([1L, 2, 3, 6, 7], fresh.GetCheckpointSteps(_ck));
    }

    /// <summary>
    /// The first write to an index without the step-number index builds it (a write of its own, about a thirteenth of
    /// the steps table: 281 pages against 3,582 at 100,000 steps). On a full disk that write must not fail the removal the user runs to free space, which fits.
    /// </summary>
    [SkippableFact]
    public void A_full_disk_does_not_stop_a_removal_from_an_index_written_before_the_step_number_index()
    {
        var mountPoint = _dir.Sub("small-fs");
        Directory.CreateDirectory(mountPoint);
        Skip.IfNot(TryRun("mount", $"-t tmpfs -o size=16m tmpfs {mountPoint}", out var why), $"mount of a 16 MiB tmpfs is not permitted here ({why})");
        try
        {
            var ck = Path.Combine(mountPoint, "ck");
            var index = new IndexFile(Path.Combine(ck, StepIndex.FileName));
            using (var h = new CheckpointHandler())
            {
                h.Save(ck, new Hashtable { ["v"] = 1 }, step: 1);
                h.Save(ck, new Hashtable { ["v"] = 2 }, step: 2);
            }

            // 60,000 more rows (their folders are not needed: only step 1 is removed) make the step-number index ~600 KB.
            index.Execute($"""
                DROP INDEX {StepIndex.StepNumberIndex};
                WITH RECURSIVE n(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM n WHERE i < 61000)
                INSERT INTO steps SELECT n.i, s.save_id, s.created_utc, s.size, s.stored_size, s.item_count, s.metadata, s.manifest_hash, s.pinned FROM n, steps s WHERE s.step = 2;
                PRAGMA wal_checkpoint(TRUNCATE);
                """);
            var free = new DriveInfo(mountPoint).AvailableFreeSpace;
            using (var filler = new FileStream(Path.Combine(mountPoint, "filler"), FileMode.CreateNew))
            {
                var block = new byte[64 * 1024];
                for (var left = free - (256 * 1024); left > 0; left -= block.Length)
                {
                    filler.Write(block, 0, (int)Math.Min(block.Length, left));
                }
            }

            _output.WriteLine($"free after fill: {new DriveInfo(mountPoint).AvailableFreeSpace}");
            using (var h = new CheckpointHandler())
            {
                h.Remove(ck, 1);
                Assert.DoesNotContain(1L, h.GetCheckpointSteps(ck));
            }

            File.Delete(Path.Combine(mountPoint, "filler"));
            using (var h = new CheckpointHandler())
            {
                // Space again: the next write adds the index.
                h.SetPinned(ck, 2, true);
                Assert.Equal(1, index.Scalar($"SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '{StepIndex.StepNumberIndex}';"));
                Assert.Equal(60002, h.GetCheckpointSteps(ck).Count); // step 2 and steps 1000..61000
            }
        }
        finally
        {
            TryRun("umount", mountPoint, out _);
        }
    }

    /// <summary>
    /// The step numbers are read a row at a time: a damaged page met part way through must fail the listing (as the
    /// one group_concat row did), never end it early as though the steps after it did not exist.
    /// </summary>
    [Fact]
    public void A_damaged_page_of_the_step_number_index_fails_the_listing_instead_of_shortening_it()
    {
        using (var h = new CheckpointHandler())
        {
            SaveSteps(h, 1, 2);
        }

        Index.Execute("""
            WITH RECURSIVE n(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
            INSERT INTO steps SELECT n.i, s.save_id, s.created_utc, s.size, s.stored_size, s.item_count, s.metadata, s.manifest_hash, s.pinned FROM n, steps s WHERE s.step = 2;
            PRAGMA wal_checkpoint(TRUNCATE);
            """);
        var pageSize = (int)Index.Scalar("PRAGMA page_size;");
        var root = Index.Scalar($"SELECT rootpage FROM sqlite_master WHERE name = '{StepIndex.StepNumberIndex}';");
        using (var file = new FileStream(Index.Path, FileMode.Open, FileAccess.ReadWrite))
        {
            // The root is an interior page (type 2); its right-most child, at offset 8, is the index's last leaf.
            var header = new byte[12];
            file.Position = (root - 1) * pageSize;
            file.ReadExactly(header);
            Assert.Equal(2, header[0]);
            var lastLeaf = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8));
            file.Position = (lastLeaf - 1) * pageSize;
            file.Write(Enumerable.Repeat((byte)0xFF, pageSize).ToArray());
        }

        using var fresh = new CheckpointHandler();
        var listed = Record.Exception(() => fresh.GetCheckpointSteps(_ck));
        _output.WriteLine(listed?.Message ?? "listed without error");
        Assert.IsType<CorruptCheckpointException>(listed);
    }

    private static bool TryRun(string file, string arguments, out string why)
    {
        using var p = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        why = p.ExitCode == 0 ? string.Empty : $"{file} exited {p.ExitCode}: {err.Trim()}";
        return p.ExitCode == 0;
    }
}
