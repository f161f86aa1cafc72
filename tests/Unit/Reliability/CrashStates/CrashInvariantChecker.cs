namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>
/// Opens a crash state with the engine as a user would after the machine comes back, and checks
/// guarantee 2's invariant in three phases: a reader first (list, restore every listed step), then the
/// first write (a prune that removes nothing, so recovery runs), then <c>RepairIndex</c> (so the
/// folders must agree with the index: a step or a pin that exists only in one of them shows here).
/// After each phase the store must be exactly the state before or after the operation — the same steps,
/// each restoring bit-exactly one of its versions, the same pins — never a mix; once a phase saw the
/// state after, no later phase may see the state before; and no pinned step may be lost.
/// </summary>
internal static class CrashInvariantChecker
{
    /// <summary>What the engine showed: each listed step's version (by digest) and pin, or a damaged index.</summary>
    private sealed record Observed(IReadOnlyDictionary<long, (string Digest, bool Pinned)> Steps, bool DamagedIndex)
    {
        public bool Is(IReadOnlyList<StepVersion> versions) =>
            !DamagedIndex && Steps.Count == versions.Count
            && versions.All(v => Steps.TryGetValue(v.Step, out var s) && s.Digest == v.Digest && s.Pinned == v.Pinned);
    }

    /// <summary>Null when the invariant holds; otherwise what broke, in which phase.</summary>
    public static string? Check(string dir, CrashScenario scenario)
    {
        var seen = new List<string>();
        var phases = new (string Name, Action<CheckpointHandler> Act)[]
        {
            ("reader", _ => { }),
            ("first write (recovery)", h => h.Prune(dir, new RetentionPolicy { Keep = int.MaxValue })),
            ("repair", h => h.RepairIndex(dir)),
        };
        string? previous = null;
        foreach (var (name, act) in phases)
        {
            Observed observed;
            try
            {
                using var h = new CheckpointHandler();
                act(h);
                observed = Observe(h, dir, scenario);
            }
            catch (CorruptCheckpointException e) when (IsDamagedIndex(e, scenario))
            {
                // Before a repair the index is damaged, and every operation but the repair says so.
                observed = new Observed(new Dictionary<long, (string, bool)>(), DamagedIndex: true);
            }
            catch (Exception e)
            {
                return $"{name}: {e.GetType().Name}: {e.Message}";
            }

            var which = observed.DamagedIndex && scenario.DamagedIndexBefore ? "before"
                : observed.Is(scenario.After) ? "after"
                : !scenario.DamagedIndexBefore && observed.Is(scenario.Before) ? "before"
                : null;
            var shown = Show(observed, scenario);
            if (name == "repair" && observed.DamagedIndex)
            {
                return "repair: the index is still damaged after RepairIndex";
            }

            seen.Add($"{name}: {shown}");
            if (which is null)
            {
                return $"{name}: the store is neither the state before ({Show(scenario.Before, scenario.DamagedIndexBefore)}) nor after ({Show(scenario.After, false)}) the operation: {shown}";
            }

            var lostPins = scenario.Before.Where(v => v.Pinned && !(observed.Steps.TryGetValue(v.Step, out var s) && s.Pinned)).ToList();
            if (lostPins.Count > 0 && !observed.DamagedIndex)
            {
                return $"{name}: pinned step(s) {string.Join(", ", lostPins.Select(v => v.Step))} lost their pin or vanished: {shown}";
            }

            if (previous == "after" && which == "before")
            {
                return $"a committed operation was undone: {string.Join("; then ", seen)}";
            }

            previous = which;
        }

        return null;
    }

    private static Observed Observe(CheckpointHandler h, string dir, CrashScenario scenario)
    {
        var steps = new SortedDictionary<long, (string, bool)>();
        try
        {
            foreach (var info in h.ListCheckpoints(dir))
            {
                var restored = h.Restore(dir, info.Step) as Dictionary<string, object?>
                    ?? throw new InvalidDataException($"step {info.Step} restored as another type");
                steps[info.Step] = (HarnessDigest.Of(restored), info.Pinned);
            }
        }
        catch (CorruptCheckpointException e) when (IsDamagedIndex(e, scenario))
        {
            return new Observed(steps, DamagedIndex: true);
        }

        return new Observed(steps, DamagedIndex: false);
    }

    private static bool IsDamagedIndex(CorruptCheckpointException e, CrashScenario scenario) =>
        scenario.DamagedIndexBefore && e.Step is null && e.Item == "index.sqlite";

    private static string Show(Observed o, CrashScenario scenario)
    {
        if (o.DamagedIndex)
        {
            return "{damaged index}";
        }

        var known = scenario.Before.Concat(scenario.After).GroupBy(v => v.Digest).ToDictionary(g => g.Key, g => g.First().Seed);
        return "{" + string.Join(" ", o.Steps.Select(s => $"{s.Key}{(s.Value.Pinned ? "p" : string.Empty)}/"
            + (known.TryGetValue(s.Value.Digest, out var seed) ? $"s{seed}" : "WRONG-BYTES"))) + "}";
    }

    private static string Show(IReadOnlyList<StepVersion> versions, bool damaged) =>
        damaged ? "{damaged index}" : "{" + string.Join(" ", versions) + "}";
}
