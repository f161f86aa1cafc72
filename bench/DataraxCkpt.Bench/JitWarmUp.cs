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
    public static IReadOnlyList<long> UntilSettled(Func<long> round, long settledAt, int maxRounds) =>
        UntilSettled(round, settledAt, maxRounds, quietRounds: 1);

    /// <summary>As <see cref="UntilSettled(Func{long}, long, int)"/>, but settled only once the last <paramref name="quietRounds"/>
    /// rounds each compiled at most <paramref name="settledAt"/> methods. Operations of milliseconds need this: tiered compilation
    /// promotes a method only after 30 calls and a quiet 100 ms, so a run of rounds that compile nothing can still be followed by
    /// the tier-1 compiles of methods called once per operation (docs/performance-notes.md, round 72).</summary>
    public static IReadOnlyList<long> UntilSettled(Func<long> round, long settledAt, int maxRounds, int quietRounds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRounds, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(quietRounds, 1);
        var compiled = new List<long>();
        var quiet = 0;
        do
        {
            compiled.Add(round());
            quiet = compiled[^1] > settledAt ? 0 : quiet + 1;
        }
        while (quiet < quietRounds && compiled.Count < maxRounds);
        return compiled;
    }

    /// <summary>Whether <paramref name="compiled"/> (from <see cref="UntilSettled(Func{long}, long, int, int)"/>) ended settled.</summary>
    public static bool Settled(IReadOnlyList<long> compiled, long settledAt, int quietRounds) =>
        compiled.Count >= quietRounds && compiled.TakeLast(quietRounds).All(c => c <= settledAt);

    /// <summary>Methods the JIT compiled (all threads) while <paramref name="operation"/> ran.</summary>
    public static long Compiled(Action operation)
    {
        var before = System.Runtime.JitInfo.GetCompiledMethodCount();
        operation();
        return System.Runtime.JitInfo.GetCompiledMethodCount() - before;
    }

    /// <summary>The scenario note: how many warm-up rounds ran, what each compiled, and whether the JIT settled.</summary>
    public static string Note(string what, IReadOnlyList<long> compiled, long settledAt, int maxRounds) =>
        Note(what, compiled, settledAt, maxRounds, quietRounds: 1);

    /// <summary>The scenario note of a warm-up that needed <paramref name="quietRounds"/> quiet rounds in a row.</summary>
    public static string Note(string what, IReadOnlyList<long> compiled, long settledAt, int maxRounds, int quietRounds)
    {
        var list = quietRounds == 1 ? string.Join(", ", compiled.Select(c => c.ToString(CultureInfo.InvariantCulture))) : Runs(compiled);
        var rule = quietRounds == 1
            ? string.Create(CultureInfo.InvariantCulture, $"at most {settledAt} methods compiled")
            : string.Create(CultureInfo.InvariantCulture, $"at most {settledAt} methods compiled in each of the last {quietRounds} rounds");
        var settled = Settled(compiled, settledAt, quietRounds)
            ? string.Create(CultureInfo.InvariantCulture, $"settled ({rule}) after {compiled.Count}")
            : string.Create(CultureInfo.InvariantCulture, $"NOT settled after the cap of {maxRounds} (the measured ones may include JIT work)");
        return string.Create(CultureInfo.InvariantCulture, $"{what}: {compiled.Count} unmeasured warm-up rounds, methods JIT-compiled during each: {list}; {settled}");
    }

    /// <summary>Rounds written as runs of equal counts ("0×12" for twelve rounds in a row that compiled nothing): hundreds of rounds stay one line.</summary>
    private static string Runs(IReadOnlyList<long> compiled)
    {
        var parts = new List<string>();
        for (var i = 0; i < compiled.Count;)
        {
            var j = i;
            while (j < compiled.Count && compiled[j] == compiled[i])
            {
                j++;
            }

            parts.Add(j - i == 1
                ? compiled[i].ToString(CultureInfo.InvariantCulture)
                : string.Create(CultureInfo.InvariantCulture, $"{compiled[i]}×{j - i}"));
            i = j;
        }

        return string.Join(", ", parts);
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

    /// <summary>How the per-leaf target line of scenario (h) names the repetitions it judges: "once tiering settled" only when the warm-up
    /// ended settled and no measured repetition compiled more than <paramref name="settledAt"/> methods.</summary>
    public static string WhenMeasured(IReadOnlyList<long> warmUp, IReadOnlyList<long> measured, long settledAt, int maxRounds, int quietRounds)
    {
        if (!JitWarmUp.Settled(warmUp, settledAt, quietRounds))
        {
            return string.Create(CultureInfo.InvariantCulture, $"after {warmUp.Count} warm-up rounds, tiering NOT settled (cap of {maxRounds})");
        }

        var over = measured.Count(c => c > settledAt);
        return over == 0
            ? "once tiering settled"
            : string.Create(CultureInfo.InvariantCulture, $"after tiering settled, but {over} of {measured.Count} measured repetitions compiled more than {settledAt} methods");
    }

    /// <summary>The note of the methods compiled (all threads) during each measured repetition the per-leaf targets judge.</summary>
    public static string MeasuredNote(string label, IReadOnlyList<long> measured, long settledAt)
    {
        var note = string.Create(CultureInfo.InvariantCulture,
            $"{label}: methods compiled during each measured settled repetition (save, restore and item list): {string.Join(", ", measured.Select(c => c.ToString(CultureInfo.InvariantCulture)))}");
        var over = measured.Count(c => c > settledAt);
        return over == 0 ? note : note + string.Create(CultureInfo.InvariantCulture,
            $"; {over} of {measured.Count} compiled more than {settledAt}: the JIT was still at work in the repetitions the targets judge");
    }
}
