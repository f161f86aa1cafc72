using System.Runtime.InteropServices;

namespace DataraxCkpt.Bench;

/// <summary>
/// Scenarios (a) and (b): 1 GiB as eight 128 MiB float32 tensors of normal random values ((b): with the
/// low 16 mantissa bits zero, like bf16 weights widened to float32), saved and restored by the engine
/// and by every baseline, alternating, in the same process run.
/// </summary>
internal static class TensorScenario
{
    private const int TensorCount = 8;

    /// <param name="totalMiB">State size (1024 by default; smaller for a quick check that the scenario runs).</param>
    public static ScenarioReport Run(string scenario, bool bf16Like, int repetitions, string work, int totalMiB = 1024)
    {
        var elements = checked(totalMiB * (1 << 20) / sizeof(float) / TensorCount);
        var size = totalMiB >= 1024 && totalMiB % 1024 == 0 ? $"{totalMiB / 1024} GiB" : $"{totalMiB} MiB";
        var report = new ScenarioReport
        {
            Scenario = scenario,
            Title = $"{size} {(bf16Like ? "bf16-like float32" : "normal float32")} (8 × {totalMiB / TensorCount} MiB)",
            Repetitions = repetitions,
        };
        var tensors = StateData.Tensors(TensorCount, elements, bf16Like);
        var bytes = StateData.TotalBytes(tensors);
        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Length; i++)
        {
            state[$"layer{i}"] = tensors[i];
        }

        var input = Path.Combine(work, "input.bin");
        StateData.WriteConcatenated(input, tensors);
        var raw = new RawFileBaseline(bytes);
        var into = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Length; i++)
        {
            var existing = new float[elements];
            Array.Fill(existing, 1f); // touched now, outside any timing, as a training loop's parameters are
            into[$"layer{i}"] = existing;
        }

        using var python = PythonBaselines.Start();
        python.Call("load_tensors", ("path", input), ("count", TensorCount));
        NoteBaselines(report, python);
        using var handler = new CheckpointHandler();
        for (var rep = 0; rep < repetitions; rep++)
        {
            var rawPath = Path.Combine(work, "raw.bin");
            var ck = Path.Combine(work, $"ck{rep}");
            report.Row("raw FileStream write+fsync", bytes).Add(Measure.Run(() => RawFileBaseline.Write(rawPath, tensors)));
            CheckpointInfo? info = null;
            var save = report.Row("DataraxCkpt save", bytes);
            save.Add(Measure.Run(() => info = handler.Save(ck, state, step: 1)));
            save.StoredBytes = info!.StoredSize;

            // Restore against a compiled read of the same bytes into new arrays, the two alternating which goes
            // first, so neither always meets memory the other just gave back.
            var lengths = tensors.Select(t => t.Length).ToArray();
            object? restored = null;
            for (var order = 0; order < 2; order++)
            {
                if ((order == 0) == (rep % 2 == 0))
                {
                    report.Row("raw read into new arrays", bytes).Add(Measure.Run(() => restored = RawFileBaseline.ReadIntoNewArrays(rawPath, lengths)));
                }
                else
                {
                    report.Row("DataraxCkpt restore", bytes).Add(Measure.Run(() => restored = handler.Restore(ck, 1)));
                    if (rep == 0)
                    {
                        CheckRestored(state, restored);
                    }
                }

                restored = null;
            }

            // Restore into arrays that exist already against a read into a buffer allocated and touched beforehand.
            for (var order = 0; order < 2; order++)
            {
                if ((order == 0) == (rep % 2 == 0))
                {
                    report.Row("raw read into preallocated buffer", bytes).Add(Measure.Run(() => raw.Read(rawPath)));
                }
                else
                {
                    report.Row("DataraxCkpt restore into existing arrays", bytes).Add(Measure.Run(() => handler.RestoreInto(ck, into, 1)));
                    if (rep == 0)
                    {
                        CheckRestored(state, into);
                    }
                }
            }

            RunExternal(report, python, work, bytes);
            Cleanup(work, ck);
        }

        var saveRow = report.Find("DataraxCkpt save");
        var restoreRow = report.Find("DataraxCkpt restore");
        if (!bf16Like)
        {
            report.Targets.Add(Ratio.AtLeast("(a) save ≥ 0.9× raw write+fsync", saveRow, report.Find("raw FileStream write+fsync"), 0.9));
            report.Targets.Add(Ratio.AtLeast("(a) restore ≥ 0.85× raw read into new arrays", restoreRow, report.Find("raw read into new arrays"), 0.85));
            report.Targets.Add(Ratio.AtLeast("(a) restore into existing arrays ≥ 0.9× raw read into preallocated buffer",
                report.Find("DataraxCkpt restore into existing arrays"), report.Find("raw read into preallocated buffer"), 0.9));
            report.Targets.Add(Ratio.AtLeast("(a) restore ≥ 1.5× np.load", restoreRow, report.Find("numpy.load"), 1.5));
        }
        else
        {
            report.Targets.Add(Ratio.AtLeast("(b) save ≥ 1.0× raw write+fsync", saveRow, report.Find("raw FileStream write+fsync"), 1.0));
            var stored = saveRow?.StoredBytes is long s ? s / (double)bytes : double.NaN;
            report.Targets.Add(new Target("(b) stored size ≤ 0.45× raw", stored.ToString("F3", System.Globalization.CultureInfo.InvariantCulture) + "× raw", stored <= 0.45));
            report.Targets.Add(Ratio.AtLeast("(b) restore ≥ 1.5× np.load", restoreRow, report.Find("numpy.load"), 1.5));
        }

        report.Targets.Add(Ratio.PeakWithin($"({scenario}) save peak RSS ≤ state + 64 MiB (the state is already resident: growth ≤ 64 MiB)", saveRow, 64L << 20));
        report.Targets.Add(Ratio.PeakWithin($"({scenario}) restore peak RSS ≤ state + 64 MiB", restoreRow, bytes + (64L << 20)));
        if (restoreRow is not null && restoreRow.Seconds.Count > 1)
        {
            report.Notes.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"restore per repetition (s): {string.Join(", ", restoreRow.Seconds.Select(s => s.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))} — the first pays the first touch of fresh memory for the destination arrays"));
        }

        return report;
    }

    private static void RunExternal(ScenarioReport report, PythonBaselines python, string work, long bytes)
    {
        var rawPath = Path.Combine(work, "raw.bin");
        if (Lz4Cli.Available && !PythonBaselines.Disabled)
        {
            var lz4Path = Path.Combine(work, "raw.bin.lz4");
            var compress = report.Row("lz4 CLI -1 compress+fsync", bytes);
            compress.Add(ChildProcess(Measure.Run(() => Lz4Cli.Compress(rawPath, lz4Path))));
            compress.StoredBytes = new FileInfo(lz4Path).Length;
            report.Row("lz4 CLI decompress to /dev/null", bytes).Add(ChildProcess(Measure.Run(() => Lz4Cli.Decompress(lz4Path))));
            File.Delete(lz4Path);
        }

        var npDir = Path.Combine(work, "npy");
        if (python.Call("np_save", ("dir", npDir)) is Sample npSave)
        {
            var row = report.Row("numpy.save+fsync", bytes);
            row.Add(npSave);
            row.StoredBytes = Directory.GetFiles(npDir).Sum(f => new FileInfo(f).Length);
            report.Row("numpy.load", bytes).Add(python.Call("np_load", ("dir", npDir))!.Value);
        }

        var torchPath = Path.Combine(work, "state.pt");
        if (python.Call("torch_save", ("path", torchPath)) is Sample torchSave)
        {
            var row = report.Row("torch.save+fsync", bytes);
            row.Add(torchSave);
            row.StoredBytes = new FileInfo(torchPath).Length;
            if (python.Call("torch_load", ("path", torchPath)) is Sample torchLoad)
            {
                report.Row("torch.load", bytes).Add(torchLoad);
            }
        }

        if (Directory.Exists(npDir))
        {
            Directory.Delete(npDir, recursive: true);
        }

        File.Delete(torchPath);
    }

    /// <summary>A child process's memory is not this process's: its peak is not reported.</summary>
    private static Sample ChildProcess(Sample sample) => sample with { PeakGrowthBytes = -1 };

    internal static void NoteBaselines(ScenarioReport report, PythonBaselines python)
    {
        report.Notes.Add(python.Problem ?? $"numpy {python.NumpyVersion} (Debian python3-numpy) in /usr/bin/python3");
        report.Notes.Add(python.TorchVersion is null ? "torch baselines skipped: torch does not import in /usr/bin/python3" : $"torch {python.TorchVersion} (Debian python3-torch)");
        if (!Lz4Cli.Available)
        {
            report.Notes.Add("lz4 CLI baselines skipped: /usr/bin/lz4 is not installed");
        }
    }

    private static void CheckRestored(Dictionary<string, object?> state, object? restored)
    {
        var back = (IDictionary<string, object?>)restored!;
        foreach (var (key, value) in state)
        {
            if (!MemoryMarshal.AsBytes(((float[])value!).AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(((float[])back[key]!).AsSpan())))
            {
                throw new InvalidOperationException($"restored tensor '{key}' differs from the saved one");
            }
        }
    }

    private static void Cleanup(string work, string ck)
    {
        if (Directory.Exists(ck))
        {
            Directory.Delete(ck, recursive: true);
        }
    }
}
