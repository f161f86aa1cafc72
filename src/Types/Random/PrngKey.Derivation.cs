namespace DataraxCkpt;

/// <summary>
/// Key derivation for <see cref="PrngKey"/>: seeding, splitting, folding in data and drawing random
/// bits, bit-identical to JAX's <c>threefry2x32</c> implementation under its current default
/// configuration (<c>jax_threefry_partitionable = True</c>, the default since JAX 0.5.0).
/// Source of truth: <c>jax/_src/prng.py</c> (<c>threefry_seed</c>, <c>_threefry_split_foldlike</c>,
/// <c>_threefry_fold_in</c>, <c>_threefry_random_bits_partitionable</c>, <c>iota_2x32_shape</c>).
/// </summary>
public sealed partial class PrngKey
{
    /// <summary>
    /// Creates a key from a seed, as <c>jax.random.key(seed)</c>: key data
    /// <c>[seed &gt;&gt; 32, seed &amp; 0xFFFFFFFF]</c> as two uint32 words.
    /// </summary>
    /// <param name="seed">Any 64-bit seed; negative seeds use their two's-complement bits, as JAX does.</param>
    public static PrngKey Create(long seed)
    {
        // JAX bit-casts the int64 seed: high word first. Arithmetic or logical shift give the same low
        // 32 bits, so a plain cast of (seed >> 32) matches jax's shift_right_logical.
        ReadOnlySpan<uint> data = [unchecked((uint)(seed >> 32)), unchecked((uint)seed)];
        return new PrngKey(Threefry2x32Impl, data);
    }

    /// <summary>
    /// Splits this key into <paramref name="num"/> new keys, as <c>jax.random.split(key, num)</c>.
    /// Key <c>i</c> is <c>threefry2x32(key, (0, i))</c>: the counter is the 64-bit index split into
    /// (high, low) words, as JAX's <c>iota_2x32_shape</c> builds it.
    /// </summary>
    /// <param name="num">Number of keys (JAX's default is 2). Zero gives an empty array.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="num"/> is negative.</exception>
    public PrngKey[] Split(int num = 2)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(num);
        var keys = new PrngKey[num];
        for (var i = 0; i < keys.Length; i++)
        {
            var (y0, y1) = HashCounter((ulong)i);
            keys[i] = FromWords(y0, y1);
        }

        return keys;
    }

    /// <summary>
    /// Folds <paramref name="data"/> into this key, as <c>jax.random.fold_in(key, data)</c>:
    /// <c>threefry2x32(key, threefry_seed(data))</c>, i.e. counter words (0, data).
    /// Under the partitionable scheme <c>FoldIn(i)</c> equals <c>Split(n)[i]</c> for every n &gt; i.
    /// </summary>
    /// <param name="data">The 32-bit value JAX converts <c>data</c> to (<c>jnp.uint32(data)</c>).</param>
    public PrngKey FoldIn(uint data)
    {
        var (y0, y1) = Threefry2x32.Hash(_keyData[0], _keyData[1], 0u, data);
        return FromWords(y0, y1);
    }

    /// <summary>
    /// Draws <paramref name="count"/> uniformly random 32-bit words, as
    /// <c>jax.random.bits(key, (count,), jnp.uint32)</c>: element <c>i</c> is the xor of the two words of
    /// <c>threefry2x32(key, (i &gt;&gt; 32, i &amp; 0xFFFFFFFF))</c>.
    /// </summary>
    /// <param name="count">Number of words.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public uint[] RandomBits(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var bits = new uint[count];
        RandomBits(bits);
        return bits;
    }

    /// <summary>Fills <paramref name="destination"/> with <c>jax.random.bits(key, (destination.Length,), jnp.uint32)</c>.</summary>
    public void RandomBits(Span<uint> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = BitsAt((ulong)i);
        }
    }

    /// <summary>
    /// Element <paramref name="index"/> (flat, row-major) of any <c>jax.random.bits(key, shape, uint32)</c>
    /// array large enough to hold it. Lets a consumer draw an unbounded stream without knowing its
    /// length up front (the shuffle's rejection sampling needs that).
    /// </summary>
    internal uint BitsAt(ulong index)
    {
        var (y0, y1) = HashCounter(index);
        return y0 ^ y1;
    }

    // The counter pair JAX's iota_2x32_shape yields for a flat index: (high word, low word).
    private (uint Y0, uint Y1) HashCounter(ulong index) =>
        Threefry2x32.Hash(_keyData[0], _keyData[1], (uint)(index >> 32), unchecked((uint)index));

    private static PrngKey FromWords(uint w0, uint w1)
    {
        ReadOnlySpan<uint> data = [w0, w1];
        return new PrngKey(Threefry2x32Impl, data);
    }
}
