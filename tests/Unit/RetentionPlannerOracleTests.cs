using DataraxCkpt.Retention;

namespace DataraxCkpt.Tests;

/// <summary>
/// The planner against the rules as main wrote them before the one-predicate change (a sorted copy and a set
/// of kept numbers, written out here as the oracle) on random input: any order, numbers listed twice, the ends of
/// <see cref="long"/>, pins, a protected step, finiteness differing between twins, every rule combination.
/// The same steps must be removed, in the same order, and finiteness asked of the same steps.
/// </summary>
public sealed class RetentionPlannerOracleTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private sealed class Step(long number, DateTimeOffset createdUtc, bool pinned, bool finite)
    {
        public long Number { get; } = number;

        public DateTimeOffset CreatedUtc { get; } = createdUtc;

        public bool Pinned { get; } = pinned;

        public bool Finite { get; } = finite;

        public override string ToString() => $"{Number}{(Pinned ? "p" : string.Empty)}{(Finite ? string.Empty : "!")}@{(Now - CreatedUtc).TotalHours}h";
    }

    /// <summary>Main's general path (sorted copy, set of kept numbers), the reference.</summary>
    private static List<T> Oracle<T>(IReadOnlyList<T> committed, Func<T, (long Step, DateTimeOffset CreatedUtc, bool Pinned)> describe,
        RetentionPolicy policy, DateTimeOffset now, long? protectedStep, Func<T, bool> isFinite)
    {
        Func<T, bool> counts = policy.KeepFinite ? isFinite : static _ => true;
        if (policy.KeepsEverything || committed.Count == 0)
        {
            return new List<T>();
        }

        var described = committed.Select(c => (Item: c, Info: describe(c))).OrderBy(c => c.Info.Step).ToList();
        var newest = new HashSet<long> { described[^1].Info.Step };
        if (policy.Keep is { } keep)
        {
            var kept = 0;
            foreach (var c in described.AsEnumerable().Reverse())
            {
                if (kept == keep)
                {
                    break;
                }

                if (counts(c.Item))
                {
                    newest.Add(c.Info.Step);
                    kept++;
                }
            }
        }

        return described
            .Where(c => !(c.Info.Pinned
                || c.Info.Step == protectedStep
                || newest.Contains(c.Info.Step)
                || (policy.KeepNewerThan is { } span && now - c.Info.CreatedUtc < span)
                || (policy.KeepEvery is { } every && c.Info.Step % every == 0 && counts(c.Item))))
            .Select(c => c.Item)
            .ToList();
    }

    private static readonly long[] Pool = [long.MinValue, long.MinValue + 1, -7, -4, -1, 0, 1, 2, 3, 4, 6, 8, 12, long.MaxValue - 1, long.MaxValue];

    [Fact]
    public void The_planner_removes_what_mains_rules_remove_on_random_input_of_every_shape()
    {
        var random = new Random(20261202);
        for (var round = 0; round < 20000; round++)
        {
            var count = random.Next(0, 13);
            var steps = new List<Step>();
            for (var i = 0; i < count; i++)
            {
                var number = random.Next(3) == 0 ? random.Next(-3, 20) : Pool[random.Next(Pool.Length)];
                var pinned = random.Next(round % 50 == 0 ? 1 : 6) == 0;
                steps.Add(new Step(number, Now.AddHours(-random.Next(0, 10)), pinned, random.Next(3) != 0));
            }

            if (random.Next(2) == 0)
            {
                steps.Sort((a, b) => a.Number.CompareTo(b.Number));
            }

            var policy = new RetentionPolicy
            {
                Keep = random.Next(3) == 0 ? null : random.Next(1, 6),
                KeepEvery = random.Next(3) == 0 ? null : random.Next(4) switch { 0 => long.MaxValue, 1 => 1, _ => random.Next(2, 5) },
                KeepNewerThan = random.Next(3) == 0 ? null : TimeSpan.FromHours(random.Next(1, 8)),
                KeepFinite = random.Next(2) == 0,
            };
            long? protectedStep = random.Next(3) == 0 ? null : Pool[random.Next(Pool.Length)];

            var askedOracle = new List<Step>();
            var expected = Oracle(steps, s => (s.Number, s.CreatedUtc, s.Pinned), policy, Now, protectedStep, s => { askedOracle.Add(s); return s.Finite; });
            var asked = new List<Step>();
            var actual = RetentionPlanner.StepsToRemove(steps, s => (s.Number, s.CreatedUtc, s.Pinned), policy, Now, protectedStep,
                s => { asked.Add(s); return s.Finite; });

            var context = $"round {round}: [{string.Join(", ", steps)}] {policy} protected {protectedStep}";
            Assert.True(expected.SequenceEqual(actual), $"{context}: expected [{string.Join(", ", expected)}], got [{string.Join(", ", actual)}]");
            Assert.True(askedOracle.Count == asked.Count && askedOracle.All(s => askedOracle.Count(o => ReferenceEquals(o, s)) == asked.Count(a => ReferenceEquals(a, s))),
                $"{context}: finiteness asked of [{string.Join(", ", asked)}], the rules ask [{string.Join(", ", askedOracle)}]");
        }
    }
}
