namespace DataraxCkpt;

/// <summary>
/// Draws the visiting order of one epoch: a uniform permutation of <c>0..n-1</c> determined only by a
/// key. Fisher–Yates, driven by the key's JAX-compatible 32-bit random bits, with Lemire's unbiased
/// bounded draw (multiply-shift with rejection) so that every permutation is equally likely.
/// </summary>
/// <remarks>
/// The random words are JAX's (<c>jax.random.bits(key, ...)</c>), but the permutation built from them is
/// this engine's own; it does not equal <c>jax.random.permutation</c>, which sorts by random keys.
/// Changing this algorithm changes every shuffled order and breaks resume of existing checkpoints.
/// </remarks>
internal static class EpochPermutation
{
    /// <summary>The permutation of <paramref name="count"/> indices drawn from <paramref name="key"/>.</summary>
    public static int[] Create(PrngKey key, int count)
    {
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }

        // The bit stream is indexed, not stateful: word k is element k of jax.random.bits(key, shape).
        ulong next = 0;
        for (var i = count - 1; i > 0; i--)
        {
            var range = (uint)(i + 1);
            var product = (ulong)key.BitsAt(next++) * range;
            var low = unchecked((uint)product);
            if (low < range)
            {
                // Reject the few low values that would make small results slightly more likely.
                var threshold = unchecked(0u - range) % range;
                while (low < threshold)
                {
                    product = (ulong)key.BitsAt(next++) * range;
                    low = unchecked((uint)product);
                }
            }

            var j = (int)(product >> 32);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }
}
