using K4os.Compression.LZ4;

namespace DataraxCkpt.Tests.Support;

/// <summary>
/// The reference encoder the engine's block parse follows: K4os's <c>LZ4Codec.Encode</c> at <c>L00_FAST</c> (lz4's
/// <c>LZ4_compress_generic</c> at acceleration 1, no dictionary), called here directly rather than through the
/// engine, so a test comparing the engine's bytes with it does not compare the engine with itself.
/// </summary>
public static class K4osReference
{
    /// <summary>
    /// Inputs of at least this many bytes are parsed with the reference's large-input table (32-bit positions), the
    /// only one the engine's parse uses; below it the reference indexes 16-bit positions and its bytes differ.
    /// </summary>
    public const int LargeInputMinimum = (64 << 10) + 11;

    /// <summary>The reference's LZ4 block of <paramref name="input"/>, compressed whether or not it is shorter.</summary>
    public static byte[] Block(ReadOnlySpan<byte> input)
    {
        var output = new byte[LZ4Codec.MaximumOutputSize(input.Length)];
        var length = LZ4Codec.Encode(input, output, LZ4Level.L00_FAST);
        Assert.True(length > 0, $"K4os encoded {input.Length} bytes to {length}");
        return output.AsSpan(0, length).ToArray();
    }

    /// <summary>What the reference's decoder makes of <paramref name="block"/>, which must fill exactly <paramref name="length"/> bytes.</summary>
    public static byte[] Decode(ReadOnlySpan<byte> block, int length)
    {
        var output = new byte[length];
        Assert.Equal(length, LZ4Codec.Decode(block, output));
        return output;
    }
}
