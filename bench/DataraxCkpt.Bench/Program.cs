using System.Globalization;
using DataraxCkpt;
using DataraxCkpt.Bench;

// One scenario per process run: DataraxCkpt.Bench <a|b|c|d|f|g|h|i> [--reps N] [--work DIR] [--out FILE.json] [--mib N (a, b: state size)] [--pairs N (a, b, g, i: measured pairs)] [--size N (h: ints)]
// (g needs Azurite: DATARAXCKPT_TEST_AZURITE, which build.ps1 -Task Bench sets; DATARAXCKPT_BENCH_REMOTE_MIB sizes it.)
// Or: DataraxCkpt.Bench store DIR STEPS — builds a many-step store as scenario (d) does (for module-bench.ps1).
// Or: DataraxCkpt.Bench listprofile DIR [REPS] — a full listing of that store on one connection against two halves (scenario d).
// Or: DataraxCkpt.Bench listtime DIR [REPS] — the bench's (d) ListCheckpoints alone: wall, CPU, allocation, peak (for alternating two builds).
// Or: DataraxCkpt.Bench stepstime DIR [REPS] — the bench's (d) GetCheckpointSteps alone: wall and CPU (for alternating two builds).
if (args.Length == 3 && args[0] == "store")
{
    using var handler = new CheckpointHandler();
    IndexScenario.BuildStore(handler, args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
    return 0;
}

if (args.Length is 2 or 3 && args[0] == "listprofile")
{
    // A full listing on one connection against two halves of one snapshot: DataraxCkpt.Bench listprofile DIR [REPS]
    return ListProfile.Run(args[1], args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 25);
}

if (args.Length is 2 or 3 && args[0] == "listtime")
{
    // The bench's (d) full listing alone, for alternating two builds: DataraxCkpt.Bench listtime DIR [REPS]
    return ListTiming.Run(args[1], args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 25);
}

if (args.Length is 2 or 3 && args[0] == "stepstime")
{
    // The bench's (d) step-number listing alone, for alternating two builds: DataraxCkpt.Bench stepstime DIR [REPS]
    return StepsTiming.Run(args[1], args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 25);
}

if (args.Length == 2 && args[0] == "csample")
{
    // A fixed mixed state saved as step 1 in DIR, to compare two builds' data files byte for byte.
    return SmallLeavesProfile.SaveSample(args[1]);
}

if (args.Length >= 1 && args[0] == "cprofile")
{
    // Profile of one (c) save by phase: DataraxCkpt.Bench cprofile [REPS] [WORK]
    var profileWork = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "dxck-cprofile");
    Directory.CreateDirectory(profileWork);
    try
    {
        return SmallLeavesProfile.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3, profileWork);
    }
    finally
    {
        Directory.Delete(profileWork, recursive: true);
    }
}

if (args.Length >= 1 && args[0] == "gprofile")
{
    // CPU of one (g) save against the SDK's upload, client and Azurite: DataraxCkpt.Bench gprofile [REPS] [MIB] [restore]
    var profileWork = Path.Combine(Path.GetTempPath(), "dxck-gprofile-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
    Directory.CreateDirectory(profileWork);
    try
    {
        return RemoteSaveProfile.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 6,
            args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 512, profileWork, restores: args.Length > 3 && args[3] == "restore");
    }
    finally
    {
        Directory.Delete(profileWork, recursive: true);
    }
}

// The scenarios this program runs, each an arm of the switch below; bench/run-all.ps1's default -Scenarios names the
// same (tests/Pester/BenchScenarioWiring.Tests.ps1), so a scenario added on one side only fails a test, not a bench run.
string[] scenarioNames = ["a", "b", "c", "d", "f", "g", "h", "i"];
if (args.Length == 0 || !scenarioNames.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: DataraxCkpt.Bench <{string.Join('|', scenarioNames)}> [--reps N] [--work DIR] [--out FILE.json] [--mib N] [--pairs N] [--size N]");
    return 2;
}

var scenario = args[0];
int? reps = null;
string? work = null;
string? output = null;
var mib = 1024;
int? pairsOption = null;
for (var i = 1; i < args.Length; i += 2)
{
    if (args[i] == "--trace")
    {
        Trace.Enabled = true;
        i--;
        continue;
    }

    if (args[i] == "--engine-only")
    {
        // Profiling: no Python and no lz4 tool runs.
        PythonBaselines.Disabled = true;
        i--;
        continue;
    }

    if (i + 1 >= args.Length)
    {
        Console.Error.WriteLine($"option {args[i]} needs a value");
        return 2;
    }

    switch (args[i])
    {
        case "--reps":
            reps = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--work":
            work = args[i + 1];
            break;
        case "--size":
            // Scenario (g) at a smaller size, for a quick run on a loaded machine.
            ScalarLeavesScenario.Ints = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--pairs":
            // (a), (b), (g), (i): measured pairs of each comparison judged on per-pair ratios.
            pairsOption = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--mib":
            mib = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--out":
            output = args[i + 1];
            break;
        default:
            Console.Error.WriteLine($"unknown option {args[i]}");
            return 2;
    }
}

var pairs = pairsOption ?? TensorScenario.DefaultPairs;
work ??= Path.Combine(Path.GetTempPath(), "dxck-bench-" + scenario);
if (Directory.Exists(work))
{
    Directory.Delete(work, recursive: true);
}

Directory.CreateDirectory(work);
try
{
    var report = scenario switch
    {
        "a" => TensorScenario.Run("a", bf16Like: false, reps ?? 5, work, mib, pairs),
        "b" => TensorScenario.Run("b", bf16Like: true, reps ?? 5, work, mib, pairs),
        "c" => SmallLeavesScenario.Run(reps ?? 5, work),
        "d" => IndexScenario.Run(reps ?? 5, work),
        "g" => RemoteScenario.Run(reps ?? 3, work, pairsOption ?? RemoteScenario.DefaultPairs),
        "i" => InspectionScenario.Run(reps ?? 3, work, pairs),
        "h" => ScalarLeavesScenario.Run(reps ?? 5, work),
        "f" => AsyncScenario.Run(reps ?? 5, work),
        _ => throw new InvalidOperationException($"scenario ({scenario}) is accepted but runs nothing: add its arm to the switch in bench/DataraxCkpt.Bench/Program.cs"),
    };
    report.Print(Console.Out);
    if (output is not null)
    {
        report.Write(output);
    }

    return 0;
}
finally
{
    Directory.Delete(work, recursive: true);
}
