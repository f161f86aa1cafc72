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
