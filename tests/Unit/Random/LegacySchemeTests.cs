namespace DataraxCkpt.Tests.PrngKeys;

/// <summary>
/// Reproduces values JAX printed under its old (pre-0.5) split and random_bits scheme. The engine does
/// not use that scheme; these tests prove that <see cref="Threefry2x32"/> is JAX's cipher on keys other
/// than the Random123 vectors, through the legacy layout in <see cref="LegacyThreefry"/>.
/// </summary>
public sealed class LegacySchemeTests
{
    // jax.random.split(jax.random.PRNGKey(0)) before JAX 0.5 — the value widely printed in JAX's docs
    // and tutorials of that era, and recorded in /work/shared/spec/NOTES.md.
    [Fact]
    public void Legacy_split_of_key_zero_reproduces_the_old_JAX_value()
    {
        var keys = LegacyThreefry.Split(PrngKey.Create(0), 2);

        Assert.Equal(new uint[] { 4146024105, 967050713 }, keys[0]);
        Assert.Equal(new uint[] { 2718843009, 1272950319 }, keys[1]);
    }

    // jax tests/random_test.py, testRngRandomBits (versions before the partitionable default):
    // random._random_bits(random.PRNGKey(1701), 32, (3,)) == [56197195, 4200222568, 961309823].
    [Fact]
    public void Legacy_random_bits_of_key_1701_reproduce_JAX_test_values()
    {
        var bits = LegacyThreefry.RandomBits32(PrngKey.Create(1701), 3);

        Assert.Equal(new uint[] { 56197195, 4200222568, 961309823 }, bits);
    }
}
