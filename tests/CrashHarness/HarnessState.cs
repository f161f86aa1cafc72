namespace DataraxCkpt;

/// <summary>Deterministic states: the same (step, seed, megabytes) always gives the same bytes.</summary>
public static class HarnessState
{
    public static Dictionary<string, object?> Create(long step, int seed, int megabytes)
    {
        var state = new Dictionary<string, object?>
        {
            ["step"] = step,
            ["seed"] = seed,
            ["note"] = $"step {step} seed {seed}",
        };
        var floatsPerTensor = 1 << 18; // 1 MiB of float32
        for (var t = 0; t < megabytes; t++)
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
