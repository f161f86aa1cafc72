using System.Buffers;
using System.Collections.Specialized;
using System.Reflection;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Attack of session 24 on the walk's runs (round 68): a run starts with a flush of the JSON writer, and the writer's
/// next value asks the node's buffer for memory again (the cost round 68 names for small containers). A container of
/// 16+ values where plain ones alternate with others (a list of ints and nulls, a dictionary of scalars and arrays)
/// started a run at every plain value and ended it at the next: one flush and two buffer requests per pair, where main
/// asked once per 4 KiB of node. Measured (thread CPU of Encode, 61 alternating pairs in one process): a List of
/// 100,000 int/null 1.25x the walk without runs (stream24's engine), 1.30x main; 3,000 dictionaries of 32 int/array
/// entries 1.08x and 1.17x.
/// </summary>
public sealed class Walk24RunStartTests
{
    private sealed class CountingWriter : IBufferWriter<byte>
    {
        private readonly ArrayBufferWriter<byte> _inner = new(1 << 20);

        public int Requests { get; private set; }

        public int Length => _inner.WrittenCount;

        public void Advance(int count) => _inner.Advance(count);

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Requests++;
            return _inner.GetMemory(sizeHint);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            Requests++;
            return _inner.GetSpan(sizeHint);
        }
    }

    /// <summary>How many times the walk asks the node's buffer for memory while writing <paramref name="state"/>.</summary>
    private static (int Requests, int Bytes) Requests(object state)
    {
        var encoder = typeof(StateEncoder).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance, [typeof(bool), typeof(int)])!
            .Invoke([true, 256]);
        var writer = new CountingWriter();
        typeof(StateEncoder).GetMethod("EncodeRoot", BindingFlags.NonPublic | BindingFlags.Instance)!.Invoke(encoder, [state, "state", writer]);
        return (writer.Requests, writer.Length);
    }

    [Fact]
    public void A_list_of_ints_alternating_with_nulls_asks_the_node_buffer_for_memory_per_4_KiB_not_per_value()
    {
        var list = new List<object?>();
        for (var i = 0; i < 10_000; i++)
        {
            list.Add(i % 2 == 0 ? i : null);
        }

        var (requests, bytes) = Requests(new Dictionary<string, object?> { ["l"] = list });
        Assert.True(requests <= (2 * bytes / 4096) + 16, $"{requests} requests for {bytes} bytes");
    }

    [Fact]
    public void Dictionaries_of_ints_alternating_with_nulls_ask_the_node_buffer_for_memory_per_4_KiB_not_per_value()
    {
        var state = new Dictionary<string, object?>();
        for (var i = 0; i < 300; i++)
        {
            var layer = new OrderedDictionary();
            for (var j = 0; j < 32; j++)
            {
                layer["e" + j] = j % 2 == 0 ? j : null;
            }

            state["layer" + i] = layer;
        }

        var (requests, bytes) = Requests(state);
        Assert.True(requests <= (2 * bytes / 4096) + 16, $"{requests} requests for {bytes} bytes");
    }

    /// <summary>Runs still start where plain values follow each other: a run of 5,000 ints costs no more requests than its bytes need.</summary>
    [Fact]
    public void Plain_values_in_runs_ask_the_node_buffer_for_memory_per_4_KiB()
    {
        var list = new List<object?> { null };
        for (var i = 0; i < 5_000; i++)
        {
            list.Add(i % 100 == 0 ? "s" + i : i);
        }

        var dict = new OrderedDictionary();
        for (var i = 0; i < 5_000; i++)
        {
            dict["k" + i] = i % 100 == 0 ? null : (object)i;
        }

        var (requests, bytes) = Requests(new Dictionary<string, object?> { ["l"] = list, ["d"] = dict });
        Assert.True(requests <= (2 * bytes / 4096) + 200, $"{requests} requests for {bytes} bytes");
    }
}
