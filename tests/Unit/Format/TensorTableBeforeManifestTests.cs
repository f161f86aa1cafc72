using System.Collections;
using System.Collections.Concurrent;
using DataraxCkpt.Format;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The writer hands its caller the tensor table once every chunk is written and before the manifest file exists, so
/// the index's item list (which needs the tensors' stored sizes) is finished beside the manifest's compression and
/// write (round 64 of docs/performance-notes.md) with the sizes the step records.
/// </summary>
public sealed class TensorTableBeforeManifestTests
{
    private sealed class RecordingSink : IStepSink
    {
        public ConcurrentQueue<string> Events { get; } = new();

        public Stream CreateFile(string name, int bufferSize)
        {
            Events.Enqueue("create " + name);
            return new MemoryStream();
        }

        public void Seal(Stream file) => Events.Enqueue("seal");

        public void SyncFolder() => Events.Enqueue("sync folder");
    }

    [Fact]
    public void The_tensor_table_reaches_the_caller_after_the_data_and_before_the_manifest_with_the_stored_sizes_the_step_records()
    {
        var random = new Random(63);
        var floats = new float[1_500_000];
        for (var i = 0; i < floats.Length; i++)
        {
            floats[i] = (float)random.NextDouble();
        }

        var state = StateEncoder.Encode(new Hashtable { ["w"] = floats, ["b"] = new double[1000], ["epoch"] = 3 }, null);
        var sink = new RecordingSink();
        long[]? handed = null;
        try
        {
            var written = StepWriter.Write(sink, 1, new string('a', 32), DateTimeOffset.UnixEpoch, state, null, tensors =>
            {
                sink.Events.Enqueue("tensor table");
                handed = tensors.Select(t => t.StoredLength).ToArray();
            });

            var events = sink.Events.ToArray();
            var table = Array.IndexOf(events, "tensor table");
            Assert.True(table > Array.IndexOf(events, "create " + StepFormat.DataFile), string.Join(", ", events));
            Assert.True(table < Array.IndexOf(events, "create " + StepFormat.ManifestFile), string.Join(", ", events));
            Assert.Equal(1, events.Count(e => e == "tensor table"));
            Assert.Equal(written.Tensors.Select(t => t.StoredLength), handed!);
            Assert.Equal(2, handed!.Length);
            Assert.All(handed!, length => Assert.True(length > 0));
        }
        finally
        {
            state.Release();
        }
    }
}
