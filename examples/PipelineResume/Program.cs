// PipelineResume: iterate a shuffled MemorySource pipeline, checkpoint every N batches with keep, and
// resume from the latest checkpoint when one exists. An interrupted-and-resumed run prints the same
// "final hash:" as an uninterrupted one. Usage:
//   dotnet PipelineResume.dll <checkpoint-dir> [--records 1000] [--batch-size 32] [--seed 42]
//       [--batches 200] [--every 10] [--keep 3] [--delay-ms 0]
using System.Globalization;
using DataraxCkpt;
using DataraxCkpt.Examples.PipelineResume;

if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
{
    Console.Error.WriteLine("usage: PipelineResume <checkpoint-dir> [--records N] [--batch-size B] [--seed S] [--batches T] [--every K] [--keep K] [--delay-ms D]");
    return 2;
}

var directory = args[0];
var options = new Dictionary<string, long>(StringComparer.Ordinal)
{
    ["--records"] = 1000, ["--batch-size"] = 32, ["--seed"] = 42, ["--batches"] = 200,
    ["--every"] = 10, ["--keep"] = 3, ["--delay-ms"] = 0,
};
for (var i = 1; i < args.Length; i += 2)
{
    if (!options.ContainsKey(args[i]) || i + 1 >= args.Length)
    {
        Console.Error.WriteLine($"unknown or incomplete option '{args[i]}'");
        return 2;
    }

    options[args[i]] = long.Parse(args[i + 1], CultureInfo.InvariantCulture);
}

var records = Enumerable.Range(0, checked((int)options["--records"])).ToArray();
var pipeline = Pipeline.FromSource(new MemorySource<int>(records), checked((int)options["--batch-size"]), shuffle: true,
    seed: options["--seed"]);
var run = new TrainingRun(pipeline);

using var checkpoint = new IteratorCheckpoint(directory);
if (checkpoint.LatestStep() is { } latest)
{
    checkpoint.Restore(run, latest);
    Console.WriteLine($"resumed from step {latest}: {run.Batches} batches, epoch {pipeline.Epoch}, position {pipeline.Position}, hash {run.Hash.Hex}");
}
else
{
    Console.WriteLine("starting fresh");
}

var total = options["--batches"];
var every = options["--every"];
var keep = checked((int)options["--keep"]);
var delay = TimeSpan.FromMilliseconds(options["--delay-ms"]);
while (run.Batches < total)
{
    run.Step();
    Console.WriteLine($"batch {run.Batches} epoch {pipeline.Epoch} hash {run.Hash.Hex}");
    if (run.Batches % every == 0)
    {
        // The step number is the count of batches consumed, so the latest step is the furthest point.
        checkpoint.Save(run, run.Batches, keep);
        Console.WriteLine($"saved step {run.Batches}");
    }

    if (delay > TimeSpan.Zero)
    {
        Thread.Sleep(delay);
    }
}

Console.WriteLine($"final hash: {run.Hash.Hex}");
return 0;
