namespace DataraxCkpt;

/// <summary>Deterministic states: the same (step, seed, megabytes, tensor size) always gives the same bytes.</summary>
public static class HarnessState
{
    /// <summary>Floats in a 1 MiB tensor, the default tensor size.</summary>
    public const int MebibyteOfFloats = 1 << 18;

    /// <summary>
    /// A state of <paramref name="tensors"/> float tensors of <paramref name="floatsPerTensor"/> elements
    /// (1 MiB each by default, so <paramref name="tensors"/> is then the size in megabytes).
    /// </summary>
    public static Dictionary<string, object?> Create(long step, int seed, int tensors, int floatsPerTensor = MebibyteOfFloats)
    {
        var state = new Dictionary<string, object?>
        {
            ["step"] = step,
            ["seed"] = seed,
            ["note"] = $"step {step} seed {seed}",
        };
        for (var t = 0; t < tensors; t++)
        {
            var data = new float[floatsPerTensor];
            var x = (uint)(seed * 7919 + step * 104729 + t * 15485863) | 1u;
            for (var i = 0; i < data.Length; i++)
            {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                data[i] = (x >> 8) * (1f / (1 << 24));
            }

            state[$"w{t}"] = data;
        }

        return state;
    }
}
