using System.Collections.Specialized;
using System.Diagnostics;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests;

/// <summary>The seed handler's behaviour (checkpointing-guide.md), from C#.</summary>
public sealed class HandlerTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public HandlerTests() => _ck = _dir.Sub("checkpoints");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private static Dictionary<string, object?> State(int v) => new() { ["v"] = v, ["w"] = new float[] { v, v + 1 } };

    [Fact]
    public void Guide_save_with_step_keep_and_metadata_then_restore_latest()
    {
        var state = new Dictionary<string, object?> { ["model_weights"] = new float[10, 10], ["position"] = 42, ["epoch"] = 5 };
        var info = _handler.Save(_ck, state, step: 100, keep: 5, overwrite: false,
            metadata: new Dictionary<string, object?> { ["description"] = "Training checkpoint" });
        Assert.Equal(100, info.Step);
        Assert.Equal(Path.Combine(_ck, "100"), info.Path);
        Assert.Equal(Path.GetFullPath(_ck), info.Directory);
        Assert.Equal(3, info.ItemCount);
        Assert.True(info.StoredSize > 0);

        var restored = (Dictionary<string, object?>)_handler.Restore(_ck)!;
        Assert.Equal(42, restored["position"]);
        Assert.Equal(5, restored["epoch"]);
        Assert.IsType<float[,]>(restored["model_weights"]);
        Assert.Equal("Training checkpoint", _handler.RestoreMetadata(_ck)!["description"]);
        Assert.Equal("Training checkpoint", _handler.ListCheckpoints(_ck).Single().Metadata["description"]);
    }

    [Fact]
    public void Restore_by_step_list_steps_and_latest_step()
    {
        foreach (var step in new long[] { 50, 10, 100 })
        {
            _handler.Save(_ck, State((int)step), step: step);
        }

        Assert.Equal(new long[] { 10, 50, 100 }, _handler.GetCheckpointSteps(_ck));
        Assert.Equal(100, _handler.LatestStep(_ck));
        Assert.Equal(50, ((Dictionary<string, object?>)_handler.Restore(_ck, step: 50)!)["v"]);
        Assert.Equal(100, ((Dictionary<string, object?>)_handler.Restore(_ck)!)["v"]);
    }

    [Fact]
    public void Guide_keep_five_of_every_tenth_step_leaves_the_last_five()
    {
        for (var step = 0; step < 100; step++)
        {
            if (step % 10 == 0)
            {
                _handler.Save(_ck, new Dictionary<string, object?> { ["step"] = step }, step: step, keep: 5);
            }
        }

        Assert.Equal(new long[] { 50, 60, 70, 80, 90 }, _handler.ListCheckpoints(_ck).Select(c => c.Step));
        Assert.Equal(new[] { "50", "60", "70", "80", "90" }, Directory.GetDirectories(_ck).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).Order());
    }

    [Fact]
    public void Omitted_step_takes_latest_plus_one_starting_at_zero()
    {
        Assert.Equal(0, _handler.Save(_ck, State(0)).Step);
        Assert.Equal(1, _handler.Save(_ck, State(1)).Step);
        _handler.Save(_ck, State(7), step: 7);
        Assert.Equal(8, _handler.Save(_ck, State(8)).Step);
    }

    [Fact]
    public void Saving_an_existing_step_without_overwrite_fails_and_keeps_the_old_data()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        var e = Assert.Throws<StepExistsException>(() => _handler.Save(_ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 1));
        Assert.Equal("StepExists", e.ErrorId);
        Assert.Equal(1, ((Dictionary<string, object?>)_handler.Restore(_ck, 1)!)["v"]);
        Assert.DoesNotContain(Directory.GetFileSystemEntries(Path.Combine(_ck, ".staging")), p => !p.EndsWith(".lock", StringComparison.Ordinal));
    }

    [Fact]
    public void Guide_overwrite_replaces_the_step()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        _handler.Save(_ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 1, overwrite: true);
        Assert.Equal(2, ((Dictionary<string, object?>)_handler.Restore(_ck)!)["v"]);
        Assert.Equal(new long[] { 1 }, _handler.GetCheckpointSteps(_ck));
        Assert.False(Directory.Exists(Path.Combine(_ck, ".trash")) && Directory.EnumerateFileSystemEntries(Path.Combine(_ck, ".trash")).Any());
    }

    [Fact]
    public void Metadata_is_kept_apart_from_the_state_and_an_empty_dictionary_round_trips()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["description"] = "state's own key" }, step: 1, metadata: new Dictionary<string, object?>());
        Assert.Empty(_handler.RestoreMetadata(_ck, 1)!);
        Assert.Equal("state's own key", ((Dictionary<string, object?>)_handler.Restore(_ck)!)["description"]);
        _handler.Save(_ck, 1, step: 2);
        Assert.Empty(_handler.GetCheckpoint(_ck, 2).Metadata);
    }

    [Fact]
    public void ThrowIfMissing_refuses_a_missing_directory_or_a_file_and_accepts_an_empty_folder_without_creating_anything()
    {
        // The cmdlets' one existence check for every reader (instead of the provider's, ~2 ms of CPU each).
        var missing = _dir.Sub("nope");
        var e = Assert.Throws<CheckpointDirectoryNotFoundException>(() => _handler.ThrowIfMissing(missing));
        Assert.Equal("DirectoryNotFound", e.ErrorId);
        Assert.Contains($"'{missing}'", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));

        var file = _dir.Sub("a-file");
        File.WriteAllText(file, "not a directory");
        Assert.Throws<CheckpointDirectoryNotFoundException>(() => _handler.ThrowIfMissing(file));

        Directory.CreateDirectory(_ck);
        _handler.ThrowIfMissing(_ck);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_ck));
    }

    [Fact]
    public void Guide_error_handling_missing_directory_and_empty_directory()
    {
        var missing = _dir.Sub("nope");
        Assert.Empty(_handler.GetCheckpointSteps(missing));
        Assert.Null(_handler.LatestStep(missing));
        Assert.Empty(_handler.ListCheckpoints(missing));
        Assert.Equal("DirectoryNotFound", Assert.Throws<CheckpointDirectoryNotFoundException>(() => _handler.Restore(missing)).ErrorId);
        Directory.CreateDirectory(_ck);
        Assert.Equal("NoCheckpoints", Assert.Throws<NoCheckpointsException>(() => _handler.Restore(_ck)).ErrorId);
        _handler.Save(_ck, State(3), step: 3);
        var e = Assert.Throws<StepNotFoundException>(() => _handler.Restore(_ck, 4));
        Assert.Equal("StepNotFound", e.ErrorId);
        Assert.Contains("Available steps: 3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_steps_and_negative_keep_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _handler.Save(_ck, 1, step: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _handler.Save(_ck, 1, keep: -1));
    }

    [Fact]
    public void Prune_combines_rules_and_a_dry_run_lists_exactly_what_a_real_run_removes()
    {
        foreach (var step in Enumerable.Range(0, 10))
        {
            _handler.Save(_ck, State(step), step: step);
        }

        _handler.SetPinned(_ck, 1, true);
        var policy = new RetentionPolicy { Keep = 2, KeepEvery = 4 };
        var planned = _handler.Prune(_ck, policy, dryRun: true).Select(c => c.Step).ToList();
        Assert.Equal(10, _handler.GetCheckpointSteps(_ck).Count);
        var removed = _handler.Prune(_ck, policy).Select(c => c.Step).ToList();
        Assert.Equal(new long[] { 2, 3, 5, 6, 7 }, removed);
        Assert.Equal(planned, removed);
        Assert.Equal(new long[] { 0, 1, 4, 8, 9 }, _handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_policy_with_no_rule_keeps_everything()
    {
        _handler.Save(_ck, State(0), step: 0);
        Assert.Empty(_handler.Prune(_ck, new RetentionPolicy()));
        Assert.Single(_handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void Keep_never_removes_the_step_just_written_even_when_it_is_not_the_highest()
    {
        _handler.Save(_ck, State(10), step: 10);
        _handler.Save(_ck, State(20), step: 20);
        _handler.Save(_ck, State(5), step: 5, keep: 1);
        Assert.Equal(new long[] { 5, 20 }, _handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void Pinned_steps_survive_keep_and_need_force_to_remove()
    {
        _handler.Save(_ck, State(0), step: 0);
        _handler.SetPinned(_ck, 0, true);
        _handler.Save(_ck, State(1), step: 1);
        _handler.Save(_ck, State(2), step: 2, keep: 1);
        Assert.Equal(new long[] { 0, 2 }, _handler.GetCheckpointSteps(_ck));
        Assert.True(_handler.GetCheckpoint(_ck, 0).Pinned);
        Assert.Equal("StepPinned", Assert.Throws<StepPinnedException>(() => _handler.Remove(_ck, 0)).ErrorId);
        _handler.Remove(_ck, 0, force: true);
        Assert.Equal(new long[] { 2 }, _handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void Older_than_rule_keeps_recent_steps()
    {
        _handler.Save(_ck, State(0), step: 0);
        _handler.Save(_ck, State(1), step: 1);
        Assert.Empty(_handler.Prune(_ck, new RetentionPolicy { KeepNewerThan = TimeSpan.FromHours(1) }));
        Thread.Sleep(50);

        // Both steps are older than 1 ms; the newest committed step survives every rule.
        Assert.Single(_handler.Prune(_ck, new RetentionPolicy { KeepNewerThan = TimeSpan.FromMilliseconds(1) }));
        Assert.Equal(new long[] { 1 }, _handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void Items_are_listed_from_the_index_with_names_kinds_and_shapes()
    {
        _handler.Save(_ck, new Dictionary<string, object?>
        {
            ["params"] = new Dictionary<string, object?> { ["linear"] = new Dictionary<string, object?> { ["kernel"] = new float[3, 4] } },
            ["layers"] = new object[] { "relu", 2L },
            ["a/b"] = true,
        }, step: 1);
        var items = _handler.GetItems(_ck, 1).ToDictionary(i => i.Name);
        Assert.Equal(new[] { "params/linear/kernel", "layers/0", "layers/1", "a~1b" }, items.Keys);
        Assert.Equal("tensor", items["params/linear/kernel"].Kind);
        Assert.Equal("f32", items["params/linear/kernel"].DType);
        Assert.Equal(new long[] { 3, 4 }, items["params/linear/kernel"].Shape);
        Assert.Equal(48, items["params/linear/kernel"].Size);
        Assert.True(items["params/linear/kernel"].StoredSize > 0);
        Assert.Equal("string", items["layers/0"].Kind);
        Assert.Equal("i64", items["layers/1"].DType);
    }

    [Fact]
    public void Partial_restore_returns_only_matching_leaves()
    {
        _handler.Save(_ck, new Dictionary<string, object?>
        {
            ["params"] = new Dictionary<string, object?> { ["w"] = new double[] { 1, 2 }, ["b"] = new double[] { 3 } },
            ["position"] = 42,
        }, step: 1);
        var part = Assert.IsType<OrderedDictionary>(_handler.Restore(_ck, 1, ["params/*"]));
        Assert.Equal(new[] { "params/w", "params/b" }, part.Keys.Cast<string>());
        Assert.Equal(new double[] { 3 }, part["params/b"]);
    }

    [Fact]
    public void Compare_reports_added_removed_and_changed_leaves_with_the_largest_difference()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = new float[] { 1, 2, 3 }, ["gone"] = 1, ["same"] = "x", ["shape"] = new int[2] }, step: 1);
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = new float[] { 1, 2.5f, 3 }, ["new"] = 2, ["same"] = "x", ["shape"] = new int[3] }, step: 2);
        var diff = _handler.Compare(_ck, 1, 2).ToDictionary(d => d.Name);
        Assert.Equal(new[] { "gone", "new", "shape", "w" }, diff.Keys);
        Assert.Equal("Removed", diff["gone"].Change);
        Assert.Equal("Added", diff["new"].Change);
        Assert.Equal("Changed", diff["shape"].Change);
        Assert.Equal(new long[] { 3 }, diff["shape"].ShapeAfter);
        Assert.Equal(0.5, diff["w"].MaxAbsDifference!.Value, 6);
    }

    [SkippableFact]
    public void Tensor_data_is_a_sequence_of_standard_lz4_frames_readable_by_the_lz4_tool()
    {
        // build.ps1 -Task Test installs the tool; run alone without it, the test says so as a skip.
        Skip.IfNot(File.Exists("/usr/bin/lz4"), "the lz4 tool is not installed (/usr/bin/lz4); build.ps1 -Task Test installs it");

        var rng = new Random(3);
        var a = Enumerable.Range(0, 3_000_000).Select(_ => (float)rng.NextDouble()).ToArray(); // 12 MB: several chunks
        var b = Enumerable.Range(0, 1000).Select(i => (long)i).ToArray();
        _handler.Save(_ck, new Dictionary<string, object?> { ["a"] = a, ["b"] = b }, step: 1);
        var expected = new byte[a.Length * 4 + b.Length * 8];
        Buffer.BlockCopy(a, 0, expected, 0, a.Length * 4);
        Buffer.BlockCopy(b, 0, expected, a.Length * 4, b.Length * 8);
        expected = ExpectFilteredChunks(expected, [4, 8]);
        var psi = new ProcessStartInfo("/usr/bin/lz4", ["-d", "-c", Path.Combine(_ck, "1", "tensors.lz4")]) { RedirectStandardOutput = true };
        using var lz4 = Process.Start(psi)!;
        using var output = new MemoryStream();
        lz4.StandardOutput.BaseStream.CopyTo(output);
        lz4.WaitForExit();
        Assert.Equal(0, lz4.ExitCode);
        Assert.True(expected.AsSpan().SequenceEqual(output.ToArray()));
    }

    /// <summary>
    /// The frames hold each chunk as stored: tensors the writer chose to shuffle (docs/format.md)
    /// come out of <c>lz4 -d</c> byte-shuffled per chunk, so the expectation is shuffled the same way; chunks of
    /// the <c>planes</c> filter whose frame is shorter than the chunk come out as their packed planes.
    /// </summary>
    private byte[] ExpectFilteredChunks(byte[] expected, int[] elementSizes)
    {
        var folders = new DataraxCkpt.Storage.StepFolders(Path.GetFullPath(_ck));
        using var reader = DataraxCkpt.Format.StepReader.Open(folders, folders.StepPath(1), 1, expectedManifestHash: null);
        var printed = new List<byte>();
        var data = File.ReadAllBytes(Path.Combine(_ck, "1", "tensors.lz4"));
        var at = 0;
        for (var t = 0; t < reader.Manifest.Tensors.Count; t++)
        {
            var filter = reader.Manifest.Tensors[t].Filter;
            foreach (var chunk in reader.Manifest.Tensors[t].Chunks)
            {
                var raw = expected.AsSpan(at, chunk.RawLength).ToArray();
                if (filter != "none")
                {
                    var shuffled = new byte[raw.Length];
                    DataraxCkpt.Format.ByteShuffle.ShuffleReference(raw, shuffled, elementSizes[t]);
                    raw = shuffled;
                    var frame = data.AsSpan((int)chunk.Offset, chunk.StoredLength);
                    if (filter == DataraxCkpt.Format.PlanePacking.Filter && DataraxCkpt.Format.Lz4Frame.ReadContentSize(frame) < chunk.RawLength)
                    {
                        var content = new byte[raw.Length];
                        var length = DataraxCkpt.Format.PlanePacking.Pack(shuffled, content, elementSizes[t]);
                        raw = content[..length];
                    }
                }

                printed.AddRange(raw);
                at += chunk.RawLength;
            }
        }

        return printed.ToArray();
    }

    [Fact]
    public void Closed_handler_refuses_work()
    {
        _handler.Close();
        Assert.Throws<ObjectDisposedException>(() => _handler.Save(_ck, 1));
    }
}
