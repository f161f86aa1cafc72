using System.Collections;
using System.Collections.Concurrent;
using DataraxCkpt.Format;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The data file's fsync runs while the manifest is encoded and written (issue 15: a save's fixed flushes), and
/// the folder's flush starts as soon as the manifest file exists (issue 17 (h): it no longer follows the files'
/// fsyncs), but what crash safety rests on is kept: the writer returns only once both files' fsyncs and the
/// folder's have ended, a failed data fsync fails the save, and the data file is never closed under a running fsync.
/// </summary>
public sealed class OverlappedDataSealTests
{
    private sealed class TrackedStream : MemoryStream
    {
        public bool Closed { get; private set; }

        protected override void Dispose(bool disposing)
        {
            Closed = true;
            base.Dispose(disposing);
        }
    }

    /// <summary>A sink in memory whose data-file seal the test controls, recording the order of events.</summary>
    private sealed class ScriptedSink(Func<TrackedStream, TaskCompletionSource, Task> sealData, bool manifestFails = false) : IStepSink
    {
        public ConcurrentQueue<string> Events { get; } = new();

        public TaskCompletionSource ManifestSealed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TrackedStream? Data { get; private set; }

        public Stream CreateFile(string name, int bufferSize)
        {
            Events.Enqueue("create " + name);
            if (name == StepFormat.ManifestFile && manifestFails)
            {
                throw new IOException("no space left for the manifest");
            }

            var stream = new TrackedStream();
            if (name == StepFormat.DataFile)
            {
                Data = stream;
            }

            return stream;
        }

        public void Seal(Stream file)
        {
            Events.Enqueue("seal manifest");
            ManifestSealed.TrySetResult();
        }

        public Task StartSeal(Stream file)
        {
            Events.Enqueue("start seal data");
            return sealData((TrackedStream)file, ManifestSealed);
        }

        public void StartFolderSync() => Events.Enqueue("start folder sync");

        public void SyncFolder() => Events.Enqueue("sync folder");
    }

    private static EncodedState SmallState() =>
        StateEncoder.Encode(new Hashtable { ["epoch"] = 3, ["name"] = "run" }, null);

    private static WrittenStep Write(IStepSink sink)
    {
        var state = SmallState();
        try
        {
            return StepWriter.Write(sink, 1, new string('a', 32), DateTimeOffset.UnixEpoch, state, null);
        }
        finally
        {
            state.Release();
        }
    }

    [Fact]
    public void The_manifest_is_written_while_the_data_file_and_the_folder_are_flushed_and_the_write_ends_only_after_all_three()
    {
        // The data seal completes only once the manifest is sealed: a writer that waited for it first would
        // never get there (the timeout turns that into a failure instead of a hang).
        var closedUnderFsync = false;
        ConcurrentQueue<string>? events = null;
        var sink = new ScriptedSink(async (data, manifestSealed) =>
        {
            await manifestSealed.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await Task.Delay(50);
            closedUnderFsync = data.Closed;
            events!.Enqueue("data sealed");
        });
        events = sink.Events;

        Write(sink);

        Assert.Equal(
            ["create " + StepFormat.DataFile, "start seal data", "create " + StepFormat.ManifestFile, "start folder sync", "seal manifest", "data sealed", "sync folder"],
            sink.Events.ToArray());
        Assert.False(closedUnderFsync, "the data file was closed before its fsync ended");
        Assert.True(sink.Data!.Closed);
    }

    [Fact]
    public void A_data_file_fsync_that_fails_fails_the_write_before_the_folder_is_synced()
    {
        var sink = new ScriptedSink(async (_, _) =>
        {
            await Task.Delay(20);
            throw new IOException("fsync of the data file failed");
        });

        var error = Assert.Throws<IOException>(() => Write(sink));

        Assert.Equal("fsync of the data file failed", error.Message);
        Assert.DoesNotContain("sync folder", sink.Events);
        Assert.True(sink.Data!.Closed);
    }

    [Fact]
    public void A_manifest_that_cannot_be_written_waits_for_the_running_data_fsync_before_closing_the_file_and_reports_its_own_error()
    {
        var closedUnderFsync = false;
        var sink = new ScriptedSink(
            async (data, _) =>
            {
                await Task.Delay(200);
                closedUnderFsync = data.Closed;
                throw new IOException("the data fsync failed too");
            },
            manifestFails: true);

        var error = Assert.Throws<IOException>(() => Write(sink));

        Assert.Equal("no space left for the manifest", error.Message);
        Assert.False(closedUnderFsync, "the data file was closed while its fsync still ran");
        Assert.True(sink.Data!.Closed);
        Assert.DoesNotContain("sync folder", sink.Events);
    }

    [Fact]
    public void A_sink_without_its_own_start_seal_seals_the_data_file_at_once_in_order()
    {
        var sink = new SequentialSink();

        Write(sink);

        Assert.Equal(["create " + StepFormat.DataFile, "seal " + StepFormat.DataFile, "create " + StepFormat.ManifestFile, "seal " + StepFormat.ManifestFile, "sync folder"], sink.Events);
    }

    /// <summary>A sink like the blob store's: only <see cref="IStepSink.Seal"/>, so the default StartSeal applies.</summary>
    private sealed class SequentialSink : IStepSink
    {
        private readonly Dictionary<Stream, string> _names = [];

        public List<string> Events { get; } = [];

        public Stream CreateFile(string name, int bufferSize)
        {
            Events.Add("create " + name);
            var stream = new MemoryStream();
            _names[stream] = name;
            return stream;
        }

        public void Seal(Stream file) => Events.Add("seal " + _names[file]);

        public void SyncFolder() => Events.Add("sync folder");
    }
}
