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

    /// <summary>Measured pairs of each cheap restore comparison (each side well under a second at 1 GiB).</summary>
    public const int DefaultPairs = 11;

    /// <param name="totalMiB">State size (1024 by default; smaller for a quick check that the scenario runs).</param>
    /// <param name="pairs">Measured pairs of each restore comparison (after one unmeasured pair).</param>
    public static ScenarioReport Run(string scenario, bool bf16Like, int repetitions, string work, int totalMiB = 1024, int pairs = DefaultPairs)
    {
        var elements = checked(totalMiB * (1 << 20) / sizeof(float) / TensorCount);
        var size = totalMiB >= 1024 && totalMiB % 1024 == 0 ? $"{totalMiB / 1024} GiB" : $"{totalMiB} MiB";
        var report = new ScenarioReport
        {
            Scenario = scenario,
            Title = $"{size} {(bf16Like ? "bf16-like float32" : "normal float32")} (8 × {totalMiB / TensorCount} MiB)",
            Repetitions = repetitions,
            Pairs = pairs,
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

        // The table's order: each engine row after the baseline it is held to (rows are filled in two loops).
        foreach (var name in new[] { "raw FileStream write+fsync", "DataraxCkpt save", "raw read into new arrays", "DataraxCkpt restore", "raw read into preallocated buffer", "DataraxCkpt restore into existing arrays" })
        {
            report.Row(name, bytes);
        }

        var rawPath = Path.Combine(work, "raw.bin");
        var ck = string.Empty;
        for (var rep = 0; rep < repetitions; rep++)
        {
            // The saves (GiB with fsync, seconds each) and the external baselines: a few repetitions, medians.
            if (ck.Length > 0)
            {
                Cleanup(work, ck);
            }

            ck = Path.Combine(work, $"ck{rep}");
            // Every side's timed durable write starts with no dirty data left (the GiB input file of the setup, the
            // files of the write before): the first would otherwise pay for the setup's writeback.
            Writeback.Flush();
            report.Row("raw FileStream write+fsync", bytes).Add(Measure.Run(() => RawFileBaseline.Write(rawPath, tensors)));
            CheckpointInfo? info = null;
            Writeback.Flush();
            var save = report.Row("DataraxCkpt save", bytes);
            save.Add(Measure.Run(() => info = handler.Save(ck, state, step: 1)));
            save.StoredBytes = info!.StoredSize;
            RunExternal(report, python, work, bytes);
        }

        Writeback.Flush();
        MeasureRestorePairs(report, handler, ck, rawPath, raw, state, into, bytes, pairs);
        Cleanup(work, ck);
        report.Notes.Add(Writeback.Note("before each timed durable write (raw write, engine save, lz4 compress, numpy.save, torch.save alike) and before the restore pairs"));

        var saveRow = report.Find("DataraxCkpt save");
        var restoreRow = report.Find("DataraxCkpt restore");
        if (!bf16Like)
        {
            report.Targets.Add(Ratio.AtLeast("(a) save ≥ 0.9× raw write+fsync", saveRow, report.Find("raw FileStream write+fsync"), 0.9));
            report.Targets.Add(Ratio.PairedAtLeast("(a) restore ≥ 0.85× raw read into new arrays", restoreRow, report.Find("raw read into new arrays"), 0.85));
            report.Targets.Add(Ratio.PairedAtLeast("(a) restore into existing arrays ≥ 0.9× raw read into preallocated buffer",
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
        return report;
    }

    /// <summary>
    /// The restores against the raw reads of the same bytes, as pairs adjacent in time: restore with a read into
    /// new arrays, restore into existing arrays with a read into a preallocated buffer; which side goes first
    /// alternates pair by pair (A B, B A, ...). One pair of each runs first, unmeasured, and checks the restored
    /// values: it pays the first touch of fresh memory and the JIT, which the following pairs do not (noted with
    /// its times). The targets take the median of the per-pair ratios; the rows' medians are over the same measured
    /// pairs.
    /// </summary>
    /// <remarks>
    /// The measured pairs run in <see cref="RestorePairOrder"/>'s order, and the unmeasured reads into new arrays run
    /// after the unmeasured pair into existing memory, so the first measured read into new arrays, like every later one,
    /// starts one collection after another gave back its GiB. The unmeasured restore into new arrays still runs first of all: it is
    /// the process's first restore (JIT, first touch of fresh memory), as a user's first restore is; the unmeasured raw
    /// read into new arrays, after the pair into existing memory, meets memory given back as the restore met fresh
    /// memory, and one more unmeasured restore into new arrays follows it (attack 28b).
    /// </remarks>
    private static void MeasureRestorePairs(ScenarioReport report, CheckpointHandler handler, string ck, string rawPath, RawFileBaseline raw,
        Dictionary<string, object?> state, Dictionary<string, object?> into, long bytes, int pairs)
    {
        var lengths = state.Values.Select(t => ((float[])t!).Length).ToArray();
        object? restored = null;
        // The restore into new arrays first: the process's first restore, as a user's first restore is (its time in the
        // note, its peak in the peak RSS target); the raw read into new arrays last, so that the first measured read
        // into new arrays, like every later one, starts one collection after another gave back its arrays.
        var restoreFirst = Measure.Run(() => restored = handler.Restore(ck, 1));
        CheckRestored(state, restored);
        restored = null;
        var intoFirst = Measure.Run(() => handler.RestoreInto(ck, into, 1));
        CheckRestored(state, into);
        var preallocatedFirst = Measure.Run(() => raw.Read(rawPath));
        var newArraysFirst = Measure.Run(() => restored = RawFileBaseline.ReadIntoNewArrays(rawPath, lengths));
        restored = null;

        // After the two reads into existing memory, the raw read into new arrays met memory the collector had given
        // back (as the restore before met fresh memory), and the engine's next restore still paid for something once
        // (0.13-0.18 s where later ones take 0.02 at 256 MiB, attack 28b; a raw read after the raw read did not): one
        // more restore into new arrays, unmeasured, its time noted, so the first measured pair starts as later ones do.
        var restoreAgain = Measure.Run(() => restored = handler.Restore(ck, 1));
        restored = null;

        // Kept out of the times, not out of the peaks: the peak RSS targets hold the first restore, which allocates
        // and touches the destination arrays (later ones reuse memory the collector kept).
        report.Row("DataraxCkpt restore", bytes).AddUnmeasured(restoreFirst);
        report.Row("raw read into new arrays", bytes).AddUnmeasured(newArraysFirst);
        report.Row("DataraxCkpt restore into existing arrays", bytes).AddUnmeasured(intoFirst);
        report.Row("raw read into preallocated buffer", bytes).AddUnmeasured(preallocatedFirst);

        foreach (var (comparison, engine) in RestorePairOrder.Measured(pairs))
        {
            switch (comparison, engine)
            {
                case (RestoreComparison.NewArrays, true):
                    report.Row("DataraxCkpt restore", bytes).Add(Measure.Run(() => restored = handler.Restore(ck, 1)));
                    break;
                case (RestoreComparison.NewArrays, false):
                    report.Row("raw read into new arrays", bytes).Add(Measure.Run(() => restored = RawFileBaseline.ReadIntoNewArrays(rawPath, lengths)));
                    break;
                case (RestoreComparison.ExistingMemory, true):
                    report.Row("DataraxCkpt restore into existing arrays", bytes).Add(Measure.Run(() => handler.RestoreInto(ck, into, 1)));
                    break;
                default:
                    report.Row("raw read into preallocated buffer", bytes).Add(Measure.Run(() => raw.Read(rawPath)));
                    break;
            }

            restored = null;
        }

        report.Notes.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"restores: {pairs} measured pairs per comparison (engine first in every other pair), after one unmeasured pair that checked the values and paid the first touch of fresh memory (its peak RSS counts in the rows' peaks); the pairs into new arrays back to back, each read one collection after the one before it, the pairs into existing memory after them (s): restore {restoreFirst.Seconds:F3}, raw read into new arrays {newArraysFirst.Seconds:F3}, restore into existing arrays {intoFirst.Seconds:F3}, raw read into preallocated buffer {preallocatedFirst.Seconds:F3}; then one more unmeasured restore {restoreAgain.Seconds:F3}"));
        NotePerPair(report, "DataraxCkpt restore", "restore");
        NotePerPair(report, "raw read into new arrays", "raw read into new arrays");
    }

    /// <summary>Notes a row's time of each measured pair, in the order they ran.</summary>
    private static void NotePerPair(ScenarioReport report, string row, string name)
    {
        if (report.Find(row) is { } found)
        {
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            report.Notes.Add($"{name} per measured pair (s): {string.Join(", ", found.Seconds.Select(s => s.ToString("F3", inv)))}");
        }
    }

    private static void RunExternal(ScenarioReport report, PythonBaselines python, string work, long bytes)
    {
        var rawPath = Path.Combine(work, "raw.bin");
        if (Lz4Cli.Available && !PythonBaselines.Disabled)
        {
            var lz4Path = Path.Combine(work, "raw.bin.lz4");
            var compress = report.Row("lz4 CLI -1 compress+fsync", bytes);
            Writeback.Flush();
            compress.Add(ChildProcess(Measure.Run(() => Lz4Cli.Compress(rawPath, lz4Path))));
            compress.StoredBytes = new FileInfo(lz4Path).Length;
            report.Row("lz4 CLI decompress to /dev/null", bytes).Add(ChildProcess(Measure.Run(() => Lz4Cli.Decompress(lz4Path))));
            File.Delete(lz4Path);
        }

        var npDir = Path.Combine(work, "npy");
        Writeback.Flush();
        if (python.Call("np_save", ("dir", npDir)) is Sample npSave)
        {
            var row = report.Row("numpy.save+fsync", bytes);
            row.Add(npSave);
            row.StoredBytes = Directory.GetFiles(npDir).Sum(f => new FileInfo(f).Length);
            report.Row("numpy.load", bytes).Add(python.Call("np_load", ("dir", npDir))!.Value);
        }

        var torchPath = Path.Combine(work, "state.pt");
        Writeback.Flush();
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
