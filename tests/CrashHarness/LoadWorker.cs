using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace DataraxCkpt;

/// <summary>
/// One participant of the multi-process load test (guarantee 5). Every participant runs for a fixed
/// time against one directory and records what it did in a journal folder, one small file per fact,
/// so that participants written in another language (a pwsh script loading this assembly) can join:
/// <list type="bullet">
/// <item><c>&lt;step&gt;.&lt;name&gt;.win</c>: "seed tensors floats digest" — this participant committed the step.</item>
/// <item><c>&lt;step&gt;.&lt;name&gt;.lost</c>: the save of a contested step failed with StepExists.</item>
/// <item><c>ow.&lt;name&gt;.last</c>: "step seed digest" of the last completed overwrite.</item>
/// <item><c>&lt;name&gt;.errors</c>: one line per unexpected outcome (any line fails the test).</item>
/// <item><c>&lt;name&gt;.summary</c>: JSON {role, ops, lost, vanished, errors} written at the end.</item>
/// </list>
/// Roles: writer (distinct steps k·slots+slot), racer (contested steps RacerBase+5k, raced by every
/// racer, never pruned), overwriter (replaces OverwriteStep again and again), pruner (keep 6 highest and every 5th),
/// reader (lists and restores random steps, checking each restored state against its own step and seed).
/// </summary>
public sealed class LoadWorker
{
    public const long RacerBase = 1_000_000_000;
    public const long OverwriteStep = 999_999_995;
    public const int PruneKeep = 6;
    public const long PruneKeepEvery = 5;

    private readonly string _dir;
    private readonly string _journal;
    private readonly string _role;
    private readonly string _name;
    private readonly TimeSpan _duration;
    private readonly int _seed;
    private readonly int _tensors;
    private readonly int _floats;
    private readonly int _slot;
    private readonly int _slots;
    private long _ops;
    private long _lost;
    private long _vanished;
    private long _errors;

    public LoadWorker(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        _dir = args[1];
        _journal = args[2];
        _role = args[3];
        _name = args[4];
        _duration = TimeSpan.FromSeconds(double.Parse(args[5], CultureInfo.InvariantCulture));
        _seed = int.Parse(args[6], CultureInfo.InvariantCulture);
        _tensors = int.Parse(args[7], CultureInfo.InvariantCulture);
        _floats = int.Parse(args[8], CultureInfo.InvariantCulture);
        _slot = args.Length > 9 ? int.Parse(args[9], CultureInfo.InvariantCulture) : 0;
        _slots = args.Length > 10 ? int.Parse(args[10], CultureInfo.InvariantCulture) : 1;
    }

    public int Run()
    {
        Directory.CreateDirectory(_journal);
        using var handler = new CheckpointHandler();
        var clock = Stopwatch.StartNew();
        var random = new Random(_seed);
        long k = 0;
        while (clock.Elapsed < _duration)
        {
            try
            {
                switch (_role)
                {
                    case "writer":
                        Save(handler, k * _slots + _slot, _seed, contested: false);
                        break;
                    case "racer":
                        // Multiples of the pruner's KeepEvery: a contested step is never pruned, so a
                        // racer that lags behind can never legitimately re-create a step the other won.
                        Save(handler, RacerBase + k * PruneKeepEvery, _seed, contested: true);
                        break;
                    case "overwriter":
                        Overwrite(handler, (int)(_seed + k));
                        break;
                    case "pruner":
                        handler.Prune(_dir, new RetentionPolicy { Keep = PruneKeep, KeepEvery = PruneKeepEvery });
                        _ops++;
                        Thread.Sleep(25);
                        break;
                    case "reader":
                        Read(handler, random, k);
                        break;
                    default:
                        Error($"unknown role {_role}");
                        return 2;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Error($"{_role} op {k}: {e.GetType().Name}: {e.Message}");
            }

            k++;
        }

        var summary = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["role"] = _role,
            ["name"] = _name,
            ["ops"] = _ops,
            ["lost"] = _lost,
            ["vanished"] = _vanished,
            ["errors"] = _errors,
            ["seconds"] = clock.Elapsed.TotalSeconds,
        });
        WriteAtomically(Path.Combine(_journal, _name + ".summary"), summary);
        Console.WriteLine(summary);
        return 0;
    }

    private void Save(CheckpointHandler handler, long step, int seed, bool contested)
    {
        var state = HarnessState.Create(step, seed, _tensors, _floats);
        try
        {
            handler.Save(_dir, state, step: step);
        }
        catch (StepExistsException e) when (contested)
        {
            // The other racer took the step: the one failure guarantee 5 allows, with its stable id.
            if (e.ErrorId != "StepExists" || e.Step != step)
            {
                Error($"StepExists for step {step} carried id {e.ErrorId} and step {e.Step}");
            }

            _lost++;
            WriteAtomically(Path.Combine(_journal, $"{step}.{_name}.lost"), e.ErrorId);
            return;
        }

        _ops++;
        WriteAtomically(Path.Combine(_journal, $"{step}.{_name}.win"),
            string.Create(CultureInfo.InvariantCulture, $"{seed} {_tensors} {_floats} {HarnessDigest.Of(state)}"));
    }

    private void Overwrite(CheckpointHandler handler, int seed)
    {
        var state = HarnessState.Create(OverwriteStep, seed, _tensors, _floats);
        handler.Save(_dir, state, step: OverwriteStep, overwrite: true);
        _ops++;
        WriteAtomically(Path.Combine(_journal, $"ow.{_name}.last"),
            string.Create(CultureInfo.InvariantCulture, $"{OverwriteStep} {seed} {HarnessDigest.Of(state)}"));
    }

    private void Read(CheckpointHandler handler, Random random, long iteration)
    {
        var steps = handler.GetCheckpointSteps(_dir);
        _ops++;
        if (iteration % 10 == 0)
        {
            var infos = handler.ListCheckpoints(_dir);
            _ops++;
            if (infos.Any(i => i.Step < 0 || i.ItemCount <= 0))
            {
                Error("ListCheckpoints returned a record without items");
            }
        }

        if (steps.Count == 0)
        {
            Thread.Sleep(5);
            return;
        }

        var step = steps[random.Next(steps.Count)];
        object? restored;
        try
        {
            restored = handler.Restore(_dir, step);
        }
        catch (StepNotFoundException)
        {
            // Pruned between the listing and the restore; it must then be gone from the listing too.
            if (handler.GetCheckpointSteps(_dir).Contains(step))
            {
                Error($"step {step} is listed but Restore says it does not exist");
            }

            _vanished++;
            return;
        }

        _ops++;
        if (restored is not Dictionary<string, object?> state || state["step"] is not long s || state["seed"] is not int seed)
        {
            Error($"step {step} restored as something that is not a harness state");
            return;
        }

        // Each version's bytes follow from its own (step, seed): any mix of two versions breaks this.
        var expected = HarnessDigest.Of(HarnessState.Create(s, seed, _tensors, _floats));
        if (s != step || HarnessDigest.Of(state) != expected)
        {
            Error($"step {step} restored mixed or partial data (claims step {s}, seed {seed})");
        }
    }

    private void Error(string line)
    {
        _errors++;
        File.AppendAllText(Path.Combine(_journal, _name + ".errors"), line + Environment.NewLine);
    }

    private static void WriteAtomically(string path, string text)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
