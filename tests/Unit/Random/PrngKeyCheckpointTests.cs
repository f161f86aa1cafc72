using DataraxCkpt.Tests.Support;
using DataraxCkpt.Tests.Pipelines;

namespace DataraxCkpt.Tests.PrngKeys;

/// <summary>The guide's "PRNG State Handling" section with derived keys, through the engine.</summary>
public sealed class PrngKeyCheckpointTests
{
    // state = {"rng_key": jax.random.key(42), "split_keys": jax.random.split(jax.random.key(0), 4)}
    [Fact]
    public void Created_and_split_keys_restore_as_keys_that_derive_the_same_children()
    {
        using var dir = new TempDirectory();
        using var handler = new CheckpointHandler();
        var state = new Dictionary<string, object?>
        {
            ["rng_key"] = PrngKey.Create(42),
            ["split_keys"] = PrngKey.Create(0).Split(4),
        };

        handler.Save(dir.Path, state, step: 1);
        var restored = Assert.IsAssignableFrom<IDictionary<string, object?>>(handler.Restore(dir.Path));

        var key = Assert.IsType<PrngKey>(restored["rng_key"]);
        Assert.Equal(PrngKey.Threefry2x32Impl, key.Impl);
        Assert.Equal(new uint[] { 0, 42 }, key.KeyData);
        Assert.Equal(PrngKey.Create(42).Split(3), key.Split(3));
        var keys = Assert.IsType<PrngKey[]>(restored["split_keys"]);
        Assert.Equal(PrngKey.Create(0).Split(4), keys);
        Assert.Equal(new uint[] { 1797259609, 2579123966 }, keys[0].KeyData);
    }
}
