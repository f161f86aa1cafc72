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
/// A save's pooled buffers (the manifest's pieces and window, the item list) go back to the pool after it and the next
/// save takes them: no save sees or leaves bytes of another. (The manifest written around the node in place, which this
/// file tested first, is gone: the node is compressed as the walk writes it, round 69.)
/// </summary>
public sealed class PooledSaveBuffersTests : IDisposable
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
}
