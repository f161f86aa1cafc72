using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests;

/// <summary>A cancelled operation stops between chunks or steps and leaves the store as a crash would.</summary>
public sealed class CancellationTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public CancellationTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    // 48 MiB of floats: twelve 4 MiB chunks, so there is a "between chunks" to stop at.
    private static Dictionary<string, object?> Big() => new() { ["w"] = new float[12 << 20] };

    private sealed class CancelAfter(CancellationTokenSource source, long bytes) : IProgress<CheckpointProgress>
    {
        public void Report(CheckpointProgress value)
        {
            if (value.BytesDone >= bytes)
            {
                source.Cancel();
            }
        }
    }

    [Fact]
    public void A_save_cancelled_mid_write_lists_nothing_and_leaves_no_staging_folder()
    {
        using var cancel = new CancellationTokenSource();
        using var handler = new CheckpointHandler(new CheckpointOptions { Progress = new CancelAfter(cancel, 4 << 20) });
        using (var first = new CheckpointHandler())
        {
            first.Save(_ck, new Dictionary<string, object?> { ["a"] = 1 }, step: 1);
        }

        Assert.ThrowsAny<OperationCanceledException>(() => handler.Save(_ck, Big(), step: 2, cancellationToken: cancel.Token));

        Assert.Equal([1L], handler.GetCheckpointSteps(_ck));
        Assert.False(Directory.Exists(Path.Combine(_ck, "2")));
        var staging = Path.Combine(_ck, ".staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0);
        // The step number is free again: the next save takes it.
        Assert.Equal(2, handler.Save(_ck, new Dictionary<string, object?> { ["a"] = 2 }).Step);
    }

    [Fact]
    public void A_restore_cancelled_mid_read_throws_and_leaves_the_step_intact()
    {
        using (var writer = new CheckpointHandler())
        {
            writer.Save(_ck, Big(), step: 1);
        }

        using var cancel = new CancellationTokenSource();
        using var handler = new CheckpointHandler(new CheckpointOptions { Progress = new CancelAfter(cancel, 1) });

        Assert.ThrowsAny<OperationCanceledException>(() => handler.Restore(_ck, 1, cancel.Token));

        using var check = new CheckpointHandler();
        Assert.True(check.Verify(_ck, 1).Ok);
    }

    [Fact]
    public void A_restore_into_an_existing_state_cancelled_mid_read_throws_and_leaves_its_containers_unchanged()
    {
        using (var writer = new CheckpointHandler())
        {
            writer.Save(_ck, new Dictionary<string, object?> { ["w"] = new float[12 << 20], ["n"] = 5, ["added"] = "x" }, step: 1);
        }

        using var cancel = new CancellationTokenSource();
        using var handler = new CheckpointHandler(new CheckpointOptions { Progress = new CancelAfter(cancel, 1) });
        var w = new float[12 << 20];
        var template = new Dictionary<string, object?> { ["w"] = w, ["n"] = 0 };

        Assert.ThrowsAny<OperationCanceledException>(() => handler.RestoreInto(_ck, template, 1, cancel.Token));

        Assert.Same(w, template["w"]);
        Assert.Equal(0, template["n"]);
        Assert.False(template.ContainsKey("added"));
    }

    [Fact]
    public void A_restore_cancelled_at_its_last_progress_report_throws_and_leaves_the_template_unchanged()
    {
        // One small tensor: one group, one progress report, which is also the last. A cancellation asked for there came
        // after every byte was read, and the restore returned (or filled the template) as if it had not been asked; a
        // parallel restore whose pool read everything while the calling thread decoded its own group did the same.
        using (var writer = new CheckpointHandler())
        {
            writer.Save(_ck, new Dictionary<string, object?> { ["w"] = new float[1000], ["n"] = 5 }, step: 1);
        }

        using var cancel = new CancellationTokenSource();
        using var handler = new CheckpointHandler(new CheckpointOptions { Progress = new CancelAfter(cancel, 1) });
        Assert.ThrowsAny<OperationCanceledException>(() => handler.Restore(_ck, 1, cancel.Token));

        using var cancelInto = new CancellationTokenSource();
        using var intoHandler = new CheckpointHandler(new CheckpointOptions { Progress = new CancelAfter(cancelInto, 1) });
        var template = new Dictionary<string, object?> { ["w"] = new float[1000], ["n"] = 0 };
        Assert.ThrowsAny<OperationCanceledException>(() => intoHandler.RestoreInto(_ck, template, 1, cancelInto.Token));
        Assert.Equal(0, template["n"]);
    }

    [Fact]
    public void Verify_prune_and_repair_stop_before_they_start_when_already_cancelled()
    {
        using var handler = new CheckpointHandler();
        handler.Save(_ck, new Dictionary<string, object?> { ["a"] = 1 }, step: 1);
        handler.Save(_ck, new Dictionary<string, object?> { ["a"] = 2 }, step: 2);
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => handler.Verify(_ck, 1, cancel.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => handler.Prune(_ck, new RetentionPolicy { Keep = 1 }, cancellationToken: cancel.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => handler.RepairIndex(_ck, cancellationToken: cancel.Token));

        Assert.Equal([1L, 2L], handler.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_log_callback_that_throws_while_a_step_is_reserved_leaves_no_staging_folder()
    {
        // PowerShell's WriteVerbose throws once the pipeline is stopping; the engine must not leak the
        // staging folder (and its in-process owner lock) when a callback throws.
        var options = new CheckpointOptions
        {
            Log = line =>
            {
                if (line.StartsWith("Reserved step", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("the pipeline is stopping");
                }
            },
        };
        using (var handler = new CheckpointHandler(options))
        {
            Assert.Throws<InvalidOperationException>(() => handler.Save(_ck, new Dictionary<string, object?> { ["a"] = 1 }, step: 3));
        }

        var staging = Path.Combine(_ck, ".staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0,
            "left in .staging: " + string.Join(", ", Directory.Exists(staging) ? Directory.GetFileSystemEntries(staging) : []));
        using var check = new CheckpointHandler();
        Assert.Empty(check.GetCheckpointSteps(_ck));
        Assert.Equal(3, check.Save(_ck, new Dictionary<string, object?> { ["a"] = 2 }, step: 3).Step);
    }
}
