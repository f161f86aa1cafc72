using System.Buffers;
using System.Collections;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The manifest is written around the encoder's state node in place (its header in the room kept before
/// the node, the closing brace after it) instead of being copied whole; a header too long for that room
/// falls back to a copy. Both give the same bytes, and a step written either way restores the same.
/// </summary>
public sealed class InPlaceManifestTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private const string SaveId = "0123456789abcdef0123456789abcdef";

    private static Hashtable Ints(int count)
    {
        var state = new Hashtable();
        for (var i = 0; i < count; i++)
        {
            state["k" + i] = i;
        }

        return state;
    }

    private static EncodedState WithoutPooledBuffer(EncodedState e) => new()
    {
        StateNode = e.StateNode,
        MetadataNode = e.MetadataNode,
        Tensors = e.Tensors,
        ItemList = e.ItemList,
        Size = e.Size,
        Requires = e.Requires,
    };

    [Fact]
    public void The_manifest_written_in_place_is_byte_for_byte_the_copied_one_and_parses_with_the_state_node_as_its_state()
    {
        var metadata = new Dictionary<string, object?> { ["epoch"] = 3, ["note"] = "\"quoted\" ünïcödé" };
        var encoded = StateEncoder.Encode(Ints(5_000), metadata);
        var stateNode = encoded.StateNode.ToArray();
        var created = new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero);

        var copied = ManifestCodec.Write(7, SaveId, created, WithoutPooledBuffer(encoded), [], 0).ToArray();
        var inPlace = ManifestCodec.Write(7, SaveId, created, encoded, [], 0);

        Assert.Equal(copied, inPlace.ToArray());
        // In place means inside the encoder's own buffer, right around the node, not a new array.
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(inPlace, out var inside));
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(encoded.StateNode, out var node));
        Assert.Same(node.Array, inside.Array);

        using var doc = JsonDocument.Parse(inPlace);
        Assert.Equal(Encoding.UTF8.GetString(stateNode), doc.RootElement.GetProperty("state").GetRawText());
        Assert.Equal(Encoding.UTF8.GetString(encoded.MetadataNode.Span), doc.RootElement.GetProperty("metadata").GetRawText());
        using var parsed = ManifestCodec.Parse(inPlace, 0);
        Assert.Equal(5_000, parsed.Items.Count);
        encoded.Release();
    }

    [Fact]
    public void A_header_longer_than_the_room_before_the_node_is_copied_and_the_step_still_restores()
    {
        // 400 small tensors: a tensor table of well over the 16 KiB kept before the state node.
        var state = new Hashtable();
        for (var i = 0; i < 400; i++)
        {
            state["t" + i] = new float[] { i, i + 1 };
            state["s" + i] = i;
        }

        var dir = _dir.Sub("many-tensors");
        _handler.Save(dir, state, step: 1);
        var back = (Hashtable)_handler.Restore(dir, 1)!;

        Assert.Equal(800, back.Count);
        Assert.Equal(new float[] { 399, 400 }, back["t399"]);
        Assert.Equal(399, back["s399"]);
        Assert.Equal(800, _handler.GetItems(dir, 1).Count);
        Assert.True(_handler.Verify(dir, 1).Ok);
    }

    [Fact]
    public void Saves_that_reuse_the_pooled_buffers_each_restore_their_own_state()
    {
        // Each save gives its buffers back and the next one takes them: a later save must never see or
        // leave bytes of an earlier one (a longer state first, then a shorter one, then longer again).
        var dir = _dir.Sub("reuse");
        int[] sizes = [20_000, 3, 7_000, 0, 20_001];
        for (var s = 0; s < sizes.Length; s++)
        {
            _handler.Save(dir, Ints(sizes[s]), step: s);
        }

        for (var s = 0; s < sizes.Length; s++)
        {
            var back = (Hashtable)_handler.Restore(dir, s)!;
            Assert.Equal(sizes[s], back.Count);
            Assert.Equal(sizes[s], _handler.GetItems(dir, s).Count);
            if (sizes[s] > 0)
            {
                Assert.Equal(sizes[s] - 1, back["k" + (sizes[s] - 1)]);
            }
        }
    }

    [Fact]
    public void A_released_state_refuses_to_give_its_item_list_rather_than_give_an_empty_one()
    {
        var encoded = StateEncoder.Encode(Ints(10), null);
        encoded.Release();
        encoded.Release();

        Assert.Throws<ObjectDisposedException>(() => encoded.ItemList.ToArray());
    }

    [Fact]
    public void The_pooled_writer_keeps_its_bytes_across_growth_and_frames_only_a_prefix_that_fits()
    {
        var writer = new PooledBufferWriter(headroom: 8, initialCapacity: 4);
        var expected = new byte[100_000];
        new Random(5).NextBytes(expected);
        for (var at = 0; at < expected.Length;)
        {
            var n = Math.Min(777, expected.Length - at);
            expected.AsSpan(at, n).CopyTo(writer.GetSpan(n));
            writer.Advance(n);
            at += n;
        }

        Assert.Equal(expected, writer.WrittenMemory.ToArray());
        Assert.False(writer.TryFrame(new byte[9], "}"u8, out _));
        Assert.True(writer.TryFrame("{\"s\":"u8, "}"u8, out var framed));
        Assert.Equal("{\"s\":"u8.ToArray().Concat(expected).Append((byte)'}').ToArray(), framed.ToArray());

        writer.Release();
        Assert.Throws<ObjectDisposedException>(() => writer.GetSpan(1));
    }

    [Fact]
    public void A_state_node_that_fills_its_rented_array_stays_readable_after_the_in_place_manifest()
    {
        // A node ending on its array's last byte leaves no room for the manifest's closing brace: framing it
        // in place must not move the node to a larger array and give the old one, still the state's node, back.
        // The last leaf sits under many closing brackets: each needs one byte, so the writer can end on the array's last byte.
        object deep = 1;
        for (var d = 0; d < 40; d++)
        {
            deep = new ArrayList { deep };
        }

        EncodedState? full = null;
        for (var n = 300; n < 1500 && full is null; n++)
        {
            for (var pad = 0; pad < 40 && full is null; pad++)
            {
                // The leaves sit one level down: the encoder sizes its first buffer from the root's count, and
                // this search needs the buffer sizes of a small root (4 KiB doubling).
                var leaves = new Dictionary<string, object?>();
                for (var i = 0; i < n; i++)
                {
                    leaves["k" + i] = i;
                }

                var state = new Dictionary<string, object?> { ["p"] = new string('x', pad), ["leaves"] = leaves };

                state["deep"] = deep;
                var e = StateEncoder.Encode(state, null);
                Assert.True(MemoryMarshal.TryGetArray(e.StateNode, out var seg));
                var slack = seg.Array!.Length - (seg.Offset + seg.Count);
                if (slack == 0)
                {
                    full = e;
                }
                else
                {
                    e.Release();
                    if (slack > 200 && pad == 0)
                    {
                        n += slack / 40;
                    }
                }
            }
        }

        Assert.NotNull(full);
        var before = full!.StateNode.ToArray();
        MemoryMarshal.TryGetArray(full.StateNode, out var old);
        var manifest = ManifestCodec.Write(1, SaveId, DateTimeOffset.UnixEpoch, full, [], 0);

        // Whatever the pool hands out next (another save on this thread) may be written over.
        var other = ArrayPool<byte>.Shared.Rent(old.Array!.Length);
        other.AsSpan().Fill((byte)'#');
        try
        {
            Assert.Equal(Encoding.UTF8.GetString(before), Encoding.UTF8.GetString(full.StateNode.Span));
            Assert.EndsWith(Encoding.UTF8.GetString(before) + "}", Encoding.UTF8.GetString(manifest.Span));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(other);
            full.Release();
        }
    }
}
