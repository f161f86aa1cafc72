using System.Globalization;
using DataraxCkpt;

// A child process for crash, fault and concurrency tests: it performs one engine operation on a
// checkpoint directory so that the test can kill it (DATARAXCKPT_FAULT or an external SIGKILL) at
// any instant and then inspect what it left. States are generated from (step, seed) so that the
// parent can regenerate and compare them byte for byte.
// --portable-rename first: overwrites use the two-rename path (Windows, NFS) even where Linux can
// exchange atomically, so every crash test runs on both paths.
if (args.Length > 0 && args[0] == "--portable-rename")
{
    Environment.SetEnvironmentVariable("DATARAXCKPT_PORTABLE_RENAME", "1");
    args = args[1..];
}

// --copied-sqlite first: SQLitePCL opens its connections with a copy of "e_sqlite3" and the engine's own load of the
// name finds the original (two modules' copies in one process), so its column reads take SQLitePCL's
// calls instead of the native library's (the fallback of SqliteColumns, which no test process can reach otherwise).
if (args.Length > 0 && args[0] == "--copied-sqlite")
{
    var name = OperatingSystem.IsWindows() ? "e_sqlite3.dll" : OperatingSystem.IsMacOS() ? "libe_sqlite3.dylib" : "libe_sqlite3.so";
    var original = Directory.EnumerateFiles(AppContext.BaseDirectory, name, SearchOption.AllDirectories)
        .FirstOrDefault(f => f.Contains(System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier, StringComparison.Ordinal))
        ?? Directory.EnumerateFiles(AppContext.BaseDirectory, name, SearchOption.AllDirectories).First();
    var copyFolder = Directory.CreateTempSubdirectory("dxck-sqlite-copy-");
    var copy = Path.Combine(copyFolder.FullName, name);
    File.Copy(original, copy);
    // SQLitePCL's provider opens the copy; the engine's own load of the name then finds the original.
    System.Runtime.InteropServices.NativeLibrary.SetDllImportResolver(typeof(SQLitePCL.SQLite3Provider_e_sqlite3).Assembly,
        (library, _, _) =>
        {
            if (library != "e_sqlite3")
            {
                return IntPtr.Zero;
            }

            var handle = System.Runtime.InteropServices.NativeLibrary.Load(copy);
            try
            {
                copyFolder.Delete(recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Windows keeps a loaded library's file: left in the temp folder.
            }

            return handle;
        });
    args = args[1..];
}

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: [--portable-rename] <save|save-async|overwrite|prune|remove|pin|list|repair|repair-force|repair-force-dry|loop|worker> <dir> [args]");
    return 2;
}

if (args[0] == "worker")
{
    // worker <dir> <journal> <role> <name> <seconds> <seed> <tensors> <floats> [slot slots]: see LoadWorker.
    return new LoadWorker(args).Run();
}

var dir = args[1];
long Arg(int i) => long.Parse(args[i], CultureInfo.InvariantCulture);

// save/overwrite <dir> <step> <seed> <tensors> [floats per tensor]: small tensors keep traced runs small.
int Floats() => args.Length > 5 ? (int)Arg(5) : HarnessState.MebibyteOfFloats;
using var handler = new CheckpointHandler();
try
{
    switch (args[0])
    {
        case "save":
            handler.Save(dir, HarnessState.Create(Arg(2), (int)Arg(3), (int)Arg(4), Floats()), step: Arg(2));
            break;
        case "save-async":
            // The same save through an asynchronous handler: what its Save call raises, and what its close raises.
            using (var queued = new CheckpointHandler(new CheckpointOptions { Async = true }))
            {
                queued.Save(dir, HarnessState.Create(Arg(2), (int)Arg(3), (int)Arg(4), Floats()), step: Arg(2));
                Console.WriteLine("queued");
            }

            break;
        case "save-keep":
            // save-keep <dir> <step> <seed> <tensors> <floats> <keep>: a save with retention (the step is committed even when
            // retention fails: RetentionFailedException).
            handler.Save(dir, HarnessState.Create(Arg(2), (int)Arg(3), (int)Arg(4), Floats()), step: Arg(2), keep: (int)Arg(6));
            break;
        case "overwrite":
            handler.Save(dir, HarnessState.Create(Arg(2), (int)Arg(3), (int)Arg(4), Floats()), step: Arg(2), overwrite: true);
            break;
        case "prune":
            handler.Prune(dir, new RetentionPolicy { Keep = (int)Arg(2) });
            break;
        case "prune-dry":
            // prune-dry <dir> <keep>: the steps a prune keeping <keep> would remove, changing nothing.
            Console.WriteLine("planned: " + string.Join(",", handler.Prune(dir, new RetentionPolicy { Keep = (int)Arg(2) }, dryRun: true).Select(c => c.Step)));
            break;
        case "remove":
            handler.Remove(dir, Arg(2), force: true);
            break;
        case "pin":
            handler.SetPinned(dir, Arg(2), true);
            break;
        case "list":
            // list <dir>: every listing's outcome, one line each (the records, or the error), and whether the column
            // reads went to the native library directly.
            Console.WriteLine("all: " + HarnessListing.Outcome(() => handler.ListCheckpoints(dir)));
            Console.WriteLine("last: " + HarnessListing.Outcome(() => handler.ListLastCheckpoints(dir, 5)));
            Console.WriteLine("first: " + HarnessListing.Outcome(() => handler.ListFirstCheckpoints(dir, 5)));
            // Read after the listings: the reads' path is chosen once SQLitePCL is set up (at the first connection).
            var direct = typeof(CheckpointHandler).Assembly.GetType("DataraxCkpt.Storage.SqliteColumns", true)!
                .GetProperty("Direct", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null);
            Console.WriteLine($"direct={direct}");
            break;
        case "repair":
            handler.RepairIndex(dir);
            break;
        case "repair-force":
        case "repair-force-dry":
            // The forced repair's report, one line each: the steps indexed, then every problem.
            var report = handler.RepairIndex(dir, dryRun: args[0] == "repair-force-dry", force: true);
            Console.WriteLine("indexed: " + string.Join(",", report.StepsIndexed));
            foreach (var problem in report.Problems)
            {
                Console.WriteLine("problem: " + problem);
            }

            break;
        case "loop":
            // loop <dir> <first> <count> <seed> [megabytes]: saves steps first..first+count-1 with a
            // small keep, as a trainer would; the random-kill tests SIGKILL it at arbitrary instants.
            var megabytes = args.Length > 5 ? (int)Arg(5) : 1;
            // The parent times its kill from this line, so that a kill during .NET start-up is not
            // counted as a kill of the saving loop.
            Console.WriteLine("started");
            for (var s = Arg(2); s < Arg(2) + Arg(3); s++)
            {
                handler.Save(dir, HarnessState.Create(s, (int)Arg(4), megabytes), step: s, keep: 3);
                Console.WriteLine($"saved {s}");
            }

            break;
        default:
            Console.Error.WriteLine($"unknown command {args[0]}");
            return 2;
    }
}
catch (CheckpointException e)
{
    Console.Error.WriteLine($"{e.ErrorId}: {e.Message}");
    return 3;
}
catch (IOException e)
{
    // Injected or real I/O failures (disk full): the resource-fault tests read this line.
    Console.Error.WriteLine($"IOException: {e.Message}");
    return 4;
}
catch (InvalidOperationException e)
{
    // An error of a kind the engine does not expect (the fault action 'bug').
    Console.Error.WriteLine($"InvalidOperationException: {e.Message}");
    return 5;
}

Console.WriteLine("done");
return 0;
