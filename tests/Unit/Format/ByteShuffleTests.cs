using System.Runtime.InteropServices;
using DataraxCkpt.Format;

namespace DataraxCkpt.Tests.Format;

/// <summary>The vectorised byte shuffle against its one-byte-at-a-time definition.</summary>
public sealed class ByteShuffleTests
{
    public static TheoryData<int, int> SizesAndLengths()
    {
        var data = new TheoryData<int, int>();
        foreach (var size in new[] { 2, 4, 8 })
        {
            // Every length up to several vector groups (odd ones leave scalar tails and trailing bytes),
            // then a full 4 MiB chunk and a ragged chunk just past it.
            for (var length = 0; length <= 300; length++)
            {
                data.Add(size, length);
            }

            data.Add(size, 4 << 20);
            data.Add(size, (4 << 20) - 7);
            data.Add(size, 65_537);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SizesAndLengths))]
    public void Shuffle_matches_the_reference_definition(int elementSize, int length)
    {
        var raw = RandomBytes(length, seed: length * 31 + elementSize);
        var expected = new byte[length];
        var actual = new byte[length];
        ByteShuffle.ShuffleReference(raw, expected, elementSize);

        ByteShuffle.Shuffle(raw, actual, elementSize);

        Assert.True(expected.AsSpan().SequenceEqual(actual), $"size {elementSize}, length {length}");
    }

    [Theory]
    [MemberData(nameof(SizesAndLengths))]
    public void Unshuffle_restores_the_original_bytes(int elementSize, int length)
    {
        var raw = RandomBytes(length, seed: length * 17 + elementSize);
        var shuffled = new byte[length];
        ByteShuffle.ShuffleReference(raw, shuffled, elementSize);
        var restored = new byte[length];

        ByteShuffle.Unshuffle(shuffled, restored, elementSize);

        Assert.True(raw.AsSpan().SequenceEqual(restored), $"size {elementSize}, length {length}");
    }

    [Fact]
    public void Shuffle_groups_byte_j_of_every_element_and_keeps_trailing_bytes_last()
    {
        byte[] raw = [0x10, 0x11, 0x12, 0x13, 0x20, 0x21, 0x22, 0x23, 0x30, 0x31, 0x32, 0x33, 0xEE, 0xFF];
        var shuffled = new byte[raw.Length];

        ByteShuffle.Shuffle(raw, shuffled, 4);

        Assert.Equal(new byte[] { 0x10, 0x20, 0x30, 0x11, 0x21, 0x31, 0x12, 0x22, 0x32, 0x13, 0x23, 0x33, 0xEE, 0xFF }, shuffled);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Shuffle_reads_each_element_whole_so_a_writer_changing_the_array_cannot_tear_an_element(int elementSize)
    {
        // The save shuffles straight from the caller's array, which a synchronous save lets the caller change:
        // each stored element must then be a value the caller wrote (old or new), never bytes of both. Fifteen
        // elements are all left to the scalar loop (the vector loops take groups of 16 with whole-element loads).
        const int n = 15;
        var words = new ulong[((n * elementSize) + 7) / 8];
        var shuffled = new byte[n * elementSize];
        using var stop = new CancellationTokenSource();
        var writer = new Thread(() =>
        {
            var bytes = MemoryMarshal.AsBytes(words.AsSpan());
            var all = false;
            while (!stop.IsCancellationRequested)
            {
                all = !all;
                for (var i = 0; i < n; i++)
                {
                    // One store per element, as a caller assigning array[i] does.
                    switch (elementSize)
                    {
                        case 2: Volatile.Write(ref MemoryMarshal.Cast<byte, ushort>(bytes)[i], all ? ushort.MaxValue : (ushort)0); break;
                        case 4: Volatile.Write(ref MemoryMarshal.Cast<byte, uint>(bytes)[i], all ? uint.MaxValue : 0u); break;
                        default: Volatile.Write(ref MemoryMarshal.Cast<byte, ulong>(bytes)[i], all ? ulong.MaxValue : 0ul); break;
                    }
                }
            }
        });
        writer.Start();

        try
        {
            var source = MemoryMarshal.AsBytes(words.AsSpan())[..(n * elementSize)];
            var watch = System.Diagnostics.Stopwatch.StartNew();
            while (watch.Elapsed < TimeSpan.FromSeconds(3))
            {
                ByteShuffle.Shuffle(source, shuffled, elementSize);
                for (var i = 0; i < n; i++)
                {
                    for (var j = 1; j < elementSize; j++)
                    {
                        Assert.True(shuffled[(j * n) + i] == shuffled[i], $"element {i} was stored with bytes of two different values");
                    }
                }
            }
        }
        finally
        {
            stop.Cancel();
            writer.Join();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(16)]
    public void Shuffle_refuses_element_sizes_it_is_not_defined_for(int elementSize) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ByteShuffle.Shuffle(new byte[8], new byte[8], elementSize));

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
