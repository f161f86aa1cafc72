using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>
/// The explorer's model on a fixed trace (no strace needed): the parser merges interrupted calls and
/// decodes written bytes; the generator never loses what an fsync made durable, and does lose a rename
/// whose directory nobody fsynced — the kind of gap the explorer exists to find.
/// </summary>
public sealed class CrashStateModelTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private (FsImage Pre, List<FsOp> Ops) Publish(bool syncDirectoryAfterRename) => Publish(syncDirectoryAfterRename ? string.Empty : null);

    /// <param name="syncAfterRename">The directory fsynced after the rename, relative to the root ("" the root itself), or null for none.</param>
    private (FsImage Pre, List<FsOp> Ops) Publish(string? syncAfterRename)
    {
        var root = _dir.Sub("ck");
        Directory.CreateDirectory(Path.Combine(root, ".staging"));
        var pre = FsImage.Read(root);
        var lines = new List<string>
        {
            $"100 mkdir(\"{root}/.staging/s\", 0777) = 0",
            $"100 openat(AT_FDCWD</tmp>, \"{root}/.staging/s/data\", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0666) = 5<{root}/.staging/s/data>",
            $"100 pwrite64(5<{root}/.staging/s/data>, \"ab\\x00\\n\", 4, 0 <unfinished ...>",
            "101 fsync(7</somewhere/else>) = 0",
            "100 <... pwrite64 resumed>) = 4",
            $"100 fsync(5<{root}/.staging/s/data>) = 0",
            $"100 openat(AT_FDCWD</tmp>, \"{root}/.staging/s\", O_RDONLY|O_DIRECTORY) = 6<{root}/.staging/s>",
            $"100 fsync(6<{root}/.staging/s>) = 0",
            $"100 rename(\"{root}/.staging/s\", \"{root}/3\") = 0",
            $"100 unlink(\"{root}/missing\") = -1 ENOENT (No such file or directory)",
        };
        if (syncAfterRename is not null)
        {
            var synced = syncAfterRename.Length == 0 ? root : $"{root}/{syncAfterRename}";
            lines.Add($"100 openat(AT_FDCWD</tmp>, \"{synced}\", O_RDONLY|O_DIRECTORY) = 8<{synced}>");
            lines.Add($"100 fsync(8<{synced}>) = 0");
        }

        return (pre, TraceParser.Parse(root, pre, lines));
    }

    /// <summary>
    /// The kernel frees a descriptor as its close begins, so another thread's open may return the same number
    /// before strace prints the close's return. The parser dropped the descriptor when the close returned, which
    /// then forgot the new file: its write and fsync were left out of the model, a fsynced tensor file counted as
    /// lost in crash states, and the explorer blamed the engine (a CrashStateTests failure in CI under load).
    /// </summary>
    [Fact]
    public void A_descriptor_reused_by_another_thread_while_its_close_was_unfinished_keeps_the_new_files_writes_and_fsync()
    {
        var root = _dir.Sub("ck");
        Directory.CreateDirectory(root);
        File.WriteAllBytes(Path.Combine(root, "index.sqlite-wal"), [1, 2, 3]);
        var pre = FsImage.Read(root);
        var lines = new List<string>
        {
            $"100 openat(AT_FDCWD</tmp>, \"{root}/index.sqlite-wal\", O_RDWR|O_CLOEXEC, 0644) = 17<{root}/index.sqlite-wal>",
            $"100 close(17<{root}/index.sqlite-wal> <unfinished ...>",
            $"101 openat(AT_FDCWD</tmp>, \"{root}/tensors.lz4\", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0666) = 17<{root}/tensors.lz4>",
            "100 <... close resumed>) = 0",
            $"101 pwrite64(17<{root}/tensors.lz4>, \"xyz\", 3, 0) = 3",
            $"101 fsync(17<{root}/tensors.lz4>) = 0",
        };

        var ops = TraceParser.Parse(root, pre, lines);

        Assert.Equal([FsOpKind.Create, FsOpKind.Write, FsOpKind.Sync], ops.Select(o => o.Kind));
        Assert.Equal("xyz"u8.ToArray(), ops[1].Data);
        Assert.Equal(ops[0].Target, ops[1].Inode);
        Assert.Equal(ops[0].Target, ops[2].Inode);
    }

    [Fact]
    public void A_write_or_fsync_on_a_descriptor_inside_the_directory_that_the_parser_never_saw_opened_is_an_error_not_a_silent_gap()
    {
        var root = _dir.Sub("ck");
        Directory.CreateDirectory(root);
        File.WriteAllBytes(Path.Combine(root, "data"), [1]);
        var pre = FsImage.Read(root);

        var write = Assert.Throws<InvalidDataException>(() => TraceParser.Parse(root, pre, [$"100 pwrite64(9<{root}/data>, \"x\", 1, 0) = 1"]));
        Assert.Contains($"9<{root}/data>", write.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => TraceParser.Parse(root, pre, [$"100 fsync(9<{root}/data>) = 0"]));
        // A descriptor outside the directory is none of the model's business.
        Assert.Empty(TraceParser.Parse(root, pre, ["100 fsync(9</elsewhere/data>) = 0", "100 write(1<pipe:[42]>, \"x\", 1) = 1"]));
    }

    /// <summary>
    /// strace places a call where it returned, but an fsync covers only what had returned before it began: a
    /// write another thread finished while the fsync was under way may or may not be on disk. The parser put the
    /// fsync at its return, after the write, so the model counted the write as durable and never lost it; an
    /// engine that fsynced a file before its last write had finished would have passed.
    /// </summary>
    [Fact]
    public void A_write_that_returned_while_another_threads_fsync_of_the_file_was_under_way_is_not_made_durable_by_it()
    {
        var root = _dir.Sub("ck");
        Directory.CreateDirectory(root);
        var pre = FsImage.Read(root);
        var lines = new List<string>
        {
            $"100 openat(AT_FDCWD</tmp>, \"{root}/data\", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0666) = 5<{root}/data>",
            $"100 pwrite64(5<{root}/data>, \"ab\", 2, 0) = 2",
            $"101 fsync(5<{root}/data> <unfinished ...>",
            $"100 pwrite64(5<{root}/data>, \"cd\", 2, 2) = 2",
            "101 <... fsync resumed>) = 0",
        };

        var ops = TraceParser.Parse(root, pre, lines);

        Assert.Equal([FsOpKind.Create, FsOpKind.Write, FsOpKind.Write, FsOpKind.Sync], ops.Select(o => o.Kind));
        var durableAt = CrashStateGenerator.DurableAt(ops);
        Assert.Equal(3, durableAt[1]);
        Assert.Equal(ops.Count, durableAt[2]);
        Assert.Contains(CrashStateGenerator.Generate(ops, seed: 1, randomPerPrefix: 0), s => s.Prefix == ops.Count && s.Lost.Contains(2));
    }

    /// <summary>
    /// strace prints a thread's unfinished call and then its "&lt;... NAME resumed&gt;" before that thread's next
    /// call. A resumed line naming another call, or a second unfinished call on the same thread, means the trace
    /// lost a return: the parser spliced the other call's head onto the return (here a pwrite64 of 0 bytes instead
    /// of the fsync) or forgot the first call, silently. Both are now errors.
    /// </summary>
    [Fact]
    public void A_resumed_line_for_another_call_or_two_unfinished_calls_on_one_thread_is_an_error_not_a_spliced_call()
    {
        var root = _dir.Sub("ck");
        Directory.CreateDirectory(root);
        File.WriteAllBytes(Path.Combine(root, "data"), [1]);
        var pre = FsImage.Read(root);
        var open = $"100 openat(AT_FDCWD</tmp>, \"{root}/data\", O_RDWR|O_CLOEXEC) = 5<{root}/data>";

        var mismatch = Assert.Throws<InvalidDataException>(() => TraceParser.Parse(root, pre,
            [open, $"100 pwrite64(5<{root}/data>, \"ab\", 2, 0 <unfinished ...>", "100 <... fsync resumed>) = 0"]));
        Assert.Contains("fsync", mismatch.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => TraceParser.Parse(root, pre,
            [open, $"100 fsync(5<{root}/data> <unfinished ...>", $"100 pwrite64(5<{root}/data>, \"ab\", 2, 0 <unfinished ...>",
                "100 <... pwrite64 resumed>) = 2"]));

        // The ordinary pairs still merge, also on a thread whose earlier call was resumed.
        var ops = TraceParser.Parse(root, pre,
            [open, $"100 pwrite64(5<{root}/data>, \"ab\", 2, 0 <unfinished ...>", "101 fsync(7</elsewhere>) = 0", "100 <... pwrite64 resumed>) = 2",
                $"100 fsync(5<{root}/data> <unfinished ...>", "101 fsync(7</elsewhere>) = 0", "100 <... fsync resumed>) = 0"]);
        Assert.Equal([FsOpKind.Write, FsOpKind.Sync], ops.Select(o => o.Kind));
    }

    /// <summary>
    /// strace's -y shows a descriptor whose file was unlinked as "&lt;path (deleted)&gt;". SQLite's -shm is left out of
    /// the model on purpose, but the parser's new check for unknown descriptors saw "...-shm (deleted)" as a file
    /// of the directory it did not know and failed the exploration (the engine moves a damaged index's -shm aside
    /// while connections may still have it mapped; SQLite unlinks the -shm at its last close).
    /// </summary>
    [Fact]
    public void A_write_to_an_unlinked_shm_is_left_out_like_any_shm_write()
    {
        var root = _dir.Sub("ck");
        Directory.CreateDirectory(root);
        var pre = FsImage.Read(root);

        Assert.Empty(TraceParser.Parse(root, pre, [$"100 pwrite64(9<{root}/index.sqlite-shm (deleted)>, \"\\x00\", 1, 32767) = 1"]));
        Assert.Throws<InvalidDataException>(() => TraceParser.Parse(root, pre, [$"100 fsync(9<{root}/data (deleted)>) = 0"]));
    }

    /// <summary>
    /// A descriptor the parser knew and whose close it did not see (a dup2 or close_range onto it; neither is
    /// traced) may come back from an open outside the directory or of the -shm. The parser kept the old mapping,
    /// so writes and fsyncs on the new file were charged to a file of the directory. The -y annotation names the
    /// file a call really used; where it disagrees with the mapping, the mapping is stale.
    /// </summary>
    [Fact]
    public void A_descriptor_reopened_outside_the_directory_without_a_traced_close_is_not_charged_to_the_old_file()
    {
        var root = _dir.Sub("ck");
        Directory.CreateDirectory(root);
        File.WriteAllBytes(Path.Combine(root, "data"), [1]);
        var pre = FsImage.Read(root);
        var ops = TraceParser.Parse(root, pre,
        [
            $"100 openat(AT_FDCWD</tmp>, \"{root}/data\", O_RDWR|O_CLOEXEC) = 5<{root}/data>",
            $"100 openat(AT_FDCWD</tmp>, \"{root}/index.sqlite-shm\", O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC, 0644) = 5<{root}/index.sqlite-shm>",
            $"100 pwrite64(5<{root}/index.sqlite-shm>, \"\\x00\", 1, 32767) = 1",
            "100 openat(AT_FDCWD</tmp>, \"/elsewhere/log\", O_WRONLY|O_CREAT, 0644) = 5</elsewhere/log>",
            "100 write(5</elsewhere/log>, \"zz\", 2) = 2",
            "100 fsync(5</elsewhere/log>) = 0",
        ]);

        Assert.Empty(ops);
    }

    /// <summary>
    /// A write or fsync holds the file it began on: another thread may close that descriptor and an open may get the
    /// number back before strace prints the call's return. The parser looked the descriptor up at the return, so the
    /// fsync of one file was charged to the other (the first counted as never synced, the second as synced).
    /// </summary>
    [Fact]
    public void A_write_or_fsync_is_charged_to_the_file_its_descriptor_named_when_it_began()
    {
        var root = _dir.Sub("ck");
        Directory.CreateDirectory(root);
        File.WriteAllBytes(Path.Combine(root, "a"), [1]);
        var pre = FsImage.Read(root);
        var ops = TraceParser.Parse(root, pre,
        [
            $"100 openat(AT_FDCWD</tmp>, \"{root}/a\", O_RDWR|O_CLOEXEC) = 5<{root}/a>",
            $"100 pwrite64(5<{root}/a>, \"xy\", 2, 0 <unfinished ...>",
            $"101 fsync(5<{root}/a> <unfinished ...>",
            $"102 close(5<{root}/a>) = 0",
            $"102 openat(AT_FDCWD</tmp>, \"{root}/b\", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0666) = 5<{root}/b>",
            "100 <... pwrite64 resumed>) = 2",
            "101 <... fsync resumed>) = 0",
        ]);

        Assert.Equal([FsOpKind.Create, FsOpKind.Write, FsOpKind.Sync], ops.Select(o => o.Kind));
        var a = pre.Resolve("a")!.Value;
        Assert.Equal(a, ops[1].Inode);
        Assert.Equal(a, ops[2].Inode);
    }

    [Fact]
    public void The_parser_keeps_only_calls_inside_the_directory_and_decodes_the_written_bytes()
    {
        var (_, ops) = Publish(syncDirectoryAfterRename: false);
        Assert.Equal([FsOpKind.Mkdir, FsOpKind.Create, FsOpKind.Write, FsOpKind.Sync, FsOpKind.Sync, FsOpKind.Rename], ops.Select(o => o.Kind));
        Assert.Equal(new byte[] { (byte)'a', (byte)'b', 0, 10 }, ops[2].Data);
        Assert.Equal("3", ops[5].Name2);
    }

    [Fact]
    public void A_rename_whose_directory_is_never_fsynced_is_lost_in_some_crash_state_but_synced_data_never_is()
    {
        var (pre, ops) = Publish(syncDirectoryAfterRename: false);
        var states = CrashStateGenerator.Generate(ops, seed: 1, randomPerPrefix: 2).ToList();
        Assert.Contains(states, s => s.Prefix == ops.Count && s.Lost.Contains(5));
        Assert.DoesNotContain(states, s => s.Prefix > 3 && s.Lost.Contains(2));

        var renameLost = CrashStateGenerator.Image(pre, ops, new CrashState("one lost", ops.Count, new HashSet<int> { 5 }));
        Assert.Null(renameLost.Resolve("3"));
        Assert.Equal(new byte[] { (byte)'a', (byte)'b', 0, 10 }, renameLost[renameLost.Resolve(".staging/s/data")!.Value].Content);
    }

    /// <summary>
    /// POSIX makes a renamed entry durable only by an fsync of the directory it was renamed into; an
    /// fsync of the directory it left (which ext4 happens to commit in the same journal transaction)
    /// proves nothing on other file systems. The model once accepted either, so an engine that fsynced
    /// the staging area instead of the checkpoint directory after publishing would have passed.
    /// </summary>
    [Fact]
    public void A_rename_is_not_durable_when_only_the_directory_it_left_is_fsynced()
    {
        var (pre, ops) = Publish(syncAfterRename: ".staging");
        Assert.Equal(FsOpKind.Sync, ops[^1].Kind);
        var rename = ops.Single(o => o.Kind == FsOpKind.Rename).Seq;
        Assert.Equal(ops.Count, CrashStateGenerator.DurableAt(ops)[rename]);
        Assert.Contains(CrashStateGenerator.Generate(ops, seed: 1, randomPerPrefix: 2), s => s.Prefix == ops.Count && s.Lost.Contains(rename));

        var renameLost = CrashStateGenerator.Image(pre, ops, new CrashState("one lost", ops.Count, new HashSet<int> { rename }));
        Assert.Null(renameLost.Resolve("3"));
        Assert.Null(renameLost.Resolve(".staging/s"));
    }

    /// <summary>
    /// The other half of the same rule: once the directory a rename left is fsynced, the old entry is gone
    /// for good, so a crash state may lose the new entry but never bring the old one back. (Without this,
    /// the stricter rule above showed a removed step's folder back in place after the engine had fsynced
    /// its removal, a state no file system produces.)
    /// </summary>
    [Fact]
    public void A_rename_out_of_an_fsynced_directory_never_comes_back_to_it()
    {
        var (pre, ops) = Publish(syncAfterRename: ".staging");
        var rename = ops.Single(o => o.Kind == FsOpKind.Rename).Seq;
        foreach (var state in CrashStateGenerator.Generate(ops, seed: 1, randomPerPrefix: 4).Where(s => s.Prefix == ops.Count))
        {
            var image = CrashStateGenerator.Image(pre, ops, state);
            Assert.True(image.Resolve(".staging/s") is null, $"{state.Kind} (lost {string.Join(",", state.Lost)}) kept the entry the rename #{rename} removed");
        }
    }

    /// <summary>
    /// The states where everything not yet fsynced is lost are the ones that catch a missing fsync (each
    /// breakage tried on the engine failed first in one of them); a budget smaller than their number
    /// must not leave any out, and every state checked must be a different tree.
    /// </summary>
    [Fact]
    public void Every_distinct_synced_only_state_is_checked_even_when_the_budget_is_smaller()
    {
        var (pre, ops) = Publish(syncDirectoryAfterRename: true);
        var syncedOnly = CrashStateGenerator.Generate(ops, seed: 1, randomPerPrefix: 0).Where(s => s.Kind == "synced only")
            .Select(s => CrashStateGenerator.Image(pre, ops, s).TreeHash()).ToHashSet();
        Assert.True(syncedOnly.Count > 1, $"the fixed trace has only {syncedOnly.Count} distinct synced-only states");

        var sampled = CrashStateGenerator.Distinct(pre, ops, seed: 1, budget: 1, _ => true).Select(s => s.Image.TreeHash()).ToList();
        Assert.Equal(sampled.Count, sampled.Distinct().Count());
        Assert.Superset(syncedOnly, sampled.ToHashSet());
    }

    [Fact]
    public void Once_the_directory_is_fsynced_after_the_rename_every_crash_state_has_the_published_folder_with_its_data()
    {
        var (pre, ops) = Publish(syncDirectoryAfterRename: true);
        foreach (var state in CrashStateGenerator.Generate(ops, seed: 1, randomPerPrefix: 4).Where(s => s.Prefix == ops.Count))
        {
            var image = CrashStateGenerator.Image(pre, ops, state);
            var data = image.Resolve("3/data");
            Assert.True(data is not null, $"{state.Kind} lost the published folder");
            Assert.Equal(4, image[data.Value].Content.Length);
        }
    }
}
