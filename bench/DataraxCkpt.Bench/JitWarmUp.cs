using System.Globalization;

namespace DataraxCkpt.Bench;

/// <summary>
/// Unmeasured warm-up rounds before a timed operation, repeated until the JIT has settled: until a round's
/// operation compiled no more than a few methods (<see cref="System.Runtime.JitInfo.GetCompiledMethodCount"/>
/// across the process, so the background tier-1 compiles count too), or a cap of rounds. One warm-up was not
/// enough for (c)'s save of 16,000 tensors: per measured save, the saves after a single warm-up still compiled
/// about 300 methods (0.2–0.57 s of JIT time, 0.6–0.9 s of process CPU against 0.11–0.15 s for a settled save),
/// and only later saves fell to a few dozen or none, so a median of three was a cold save or a warm one
/// depending on how fast the background compiles ran (docs/performance-notes.md, round 47).
/// </summary>
internal static class JitWarmUp
{
    /// <summary>Runs <paramref name="round"/> (which returns the methods compiled while its operation ran) at least once,
    /// then again while the last round compiled more than <paramref name="settledAt"/> methods, at most <paramref name="maxRounds"/> rounds.</summary>
    /// <returns>The methods each round compiled, in order; the last is at most <paramref name="settledAt"/> unless the cap was reached.</returns>
    public static IReadOnlyList<long> UntilSettled(Func<long> round, long settledAt, int maxRounds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRounds, 1);
        var compiled = new List<long>();
        do
        {
            compiled.Add(round());
        }
        while (compiled[^1] > settledAt && compiled.Count < maxRounds);
        return compiled;
    }

    /// <summary>Methods the JIT compiled (all threads) while <paramref name="operation"/> ran.</summary>
    public static long Compiled(Action operation)
    {
        var before = System.Runtime.JitInfo.GetCompiledMethodCount();
        operation();
        return System.Runtime.JitInfo.GetCompiledMethodCount() - before;
    }

    /// <summary>The scenario note: how many warm-up rounds ran, what each compiled, and whether the JIT settled.</summary>
    public static string Note(string what, IReadOnlyList<long> compiled, long settledAt, int maxRounds)
    {
        var list = string.Join(", ", compiled.Select(c => c.ToString(CultureInfo.InvariantCulture)));
        var settled = compiled[^1] <= settledAt
            ? string.Create(CultureInfo.InvariantCulture, $"settled (at most {settledAt} methods compiled) after {compiled.Count}")
            : string.Create(CultureInfo.InvariantCulture, $"NOT settled after the cap of {maxRounds} (the measured ones may include JIT work)");
        return string.Create(CultureInfo.InvariantCulture, $"{what}: {compiled.Count} unmeasured warm-up rounds, methods JIT-compiled during each: {list}; {settled}");
    }

    /// <summary>The methods the JIT compiled in each measured timing: the engine's saves and numpy.savez's (the
    /// engine process's background compiles while numpy.savez is timed share the cores with it).</summary>
    public static string Measured(IReadOnlyList<long> saves, IReadOnlyList<long> savez, long settledAt)
    {
        var note = string.Create(CultureInfo.InvariantCulture,
            $"methods compiled during each measured engine save: {string.Join(", ", saves.Select(c => c.ToString(CultureInfo.InvariantCulture)))}; during each measured numpy.savez: {string.Join(", ", savez.Select(c => c.ToString(CultureInfo.InvariantCulture)))} (by the engine process, in the background)");
        var over = saves.Concat(savez).Count(c => c > settledAt);
        return over == 0 ? note : note + string.Create(CultureInfo.InvariantCulture,
            $"; {over} of the {saves.Count + savez.Count} measured timings compiled more than {settledAt} methods: the JIT had not settled, and those times include JIT work");
    }
}
