using System.Collections;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The walk's writer that compresses the state node on a pool thread (round 69): a walk refused mid-state leaves
/// nothing written and every rented piece back; a failure of the compressing thread is the save's own exception,
/// raised only after that thread stopped.
/// </summary>
public sealed class StreamedManifestTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private sealed class Unsupported;

    [Fact]
    public void A_walk_refused_mid_state_writes_nothing_and_the_next_save_works()
    {
        // Megabytes of node compressed before the refusal, which comes from the last entry of an ordered dictionary.
        var state = new System.Collections.Specialized.OrderedDictionary();
        for (var i = 0; i < 200_000; i++)
        {
            state["k" + i] = i;
        }

        state["bad"] = new Unsupported();
        var ck = _dir.Sub("ck");
        using var handler = new CheckpointHandler();
        var e = Assert.Throws<UnsupportedValueException>(() => handler.Save(ck, state, step: 1));
        Assert.Equal("state.bad", e.ValuePath);
        // The walk runs before the store is touched: no folder, no index, no staging.
        Assert.False(Directory.Exists(ck));

        state.Remove("bad");
        handler.Save(ck, state, step: 2);
        Assert.Equal(200_000, ((IDictionary)handler.Restore(ck, 2)!).Count);
    }

    [Fact]
    public void Disposed_after_a_failed_walk_every_piece_is_back_and_the_compressor_has_stopped()
    {
        var manifest = new StreamedManifest();
        var chunk = new byte[10_000];
        Array.Fill(chunk, (byte)'x');
        for (var i = 0; i < 100; i++)
        {
            chunk.CopyTo(manifest.GetSpan(chunk.Length));
            manifest.Advance(chunk.Length);
        }

        Assert.True(manifest.PiecesRented > 0);
        manifest.Dispose();
        Assert.Equal(0, manifest.PiecesRented);
        Assert.Equal(0, manifest.PiecesHeld);
        Assert.Throws<ObjectDisposedException>(() => manifest.GetSpan(1));
    }

    [Fact]
    public void A_failure_on_the_compressing_thread_is_thrown_by_complete_as_itself_and_every_piece_comes_back()
    {
        // A frame already finished refuses more content: the pool thread's first piece fails.
        var finished = new Lz4StreamedFrame();
        finished.Finish();
        var manifest = new StreamedManifest(finished);
        var chunk = new byte[StreamedManifest.PieceSize];
        for (var i = 0; i < 20; i++)
        {
            chunk.CopyTo(manifest.GetSpan(chunk.Length));
            manifest.Advance(chunk.Length);
        }

        var e = Assert.Throws<InvalidOperationException>(() => manifest.Complete("}"u8));
        Assert.Equal("the frame is finished", e.Message);
        // The pool thread's own exception (its stack kept), not a second failure of the caller's thread on the same frame.
        Assert.Contains(nameof(StreamedManifest) + ".Compress", e.StackTrace, StringComparison.Ordinal);
        manifest.Dispose();
        Assert.Equal(0, manifest.PiecesRented);
    }

    [Fact]
    public void Content_written_through_the_writer_is_the_frames_content_in_order()
    {
        var random = new Random(5);
        var expected = new MemoryStream();
        expected.Write("{\"state\":"u8);
        using var manifest = new StreamedManifest();
        for (var i = 0; i < 400; i++)
        {
            // Hints from 1 byte to more than a piece (a long string gets a piece of its own).
            var n = i % 50 == 0 ? 200_000 : random.Next(1, 5_000);
            var span = manifest.GetSpan(n);
            Assert.True(span.Length >= n);
            for (var k = 0; k < n; k++)
            {
                span[k] = (byte)('a' + ((i + k) % 7));
            }

            expected.Write(span[..n]);
            manifest.Advance(n);
        }

        Assert.Equal(expected.Length - 9, manifest.StateNodeLength);
        expected.Write("}"u8);
        var frame = manifest.Complete("}"u8);
        using var file = new MemoryStream();
        frame.CopyTo(file);
        var bytes = file.ToArray();
        var content = new byte[Lz4Frame.ReadContentSize(bytes)];
        Lz4Frame.Decode(bytes, content);
        Assert.True(expected.ToArray().AsSpan().SequenceEqual(content));
    }
}
