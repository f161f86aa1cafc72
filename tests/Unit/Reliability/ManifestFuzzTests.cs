using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests.Reliability;

/// <summary>
/// Guarantees 6–8 under a seeded mutation fuzzer: a valid manifest is mutated (bytes, or JSON-aware),
/// re-framed with a valid checksum and planted with a matching index row, so every case reaches the
/// JSON reader, the validator and the decoder; other cases damage the manifest frame or a data frame
/// without fixing checksums, or feed the frame reader directly. Every case must end in a result or a
/// CorruptCheckpointException for the step — never another exception type, a hang, or an allocation
/// beyond what the file sizes allow. Every result is compared with what was saved: a damaged frame
/// (manifest or data, checksums not fixed) must never return anything but the original state, and a
/// re-framed manifest mutation must never return tensor bytes other than the saved ones. CI runs ReliabilityScale.FuzzCases (2,000); the soak runs more.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class ManifestFuzzTests : IDisposable
{
    private const long Step = 2;
    private readonly TempDirectory _dir = new();
    private readonly ITestOutputHelper _output;

    public ManifestFuzzTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Every_mutated_manifest_or_frame_ends_in_a_result_or_a_corrupt_checkpoint_error()
    {
        var ck = _dir.Sub("ck");
        using (var h = new CheckpointHandler())
        {
            var state = HostileInputTests.RichState();
            state["w"] = Enumerable.Range(0, 50_000).Select(i => (float)i).ToArray();
            h.Save(ck, HarnessState.Create(1, 5, 1, 1024), step: 1);
            h.Save(ck, state, step: Step);
        }

        object? saved;
        using (var h = new CheckpointHandler())
        {
            saved = h.Restore(ck, Step);
        }

        var json = PlantedManifest.ReadJson(ck, Step);
        var originalFrame = File.ReadAllBytes(PlantedManifest.ManifestPath(ck, Step));
        var dataPath = Path.Combine(PlantedManifest.Folder(ck, Step), StepFormat.DataFile);
        var originalData = File.ReadAllBytes(dataPath);
        var cases = ReliabilityScale.FuzzCases;
        var seed = ReliabilityScale.Seed;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<string>();
        using var index = PlantedManifest.OpenIndex(ck);
        for (var i = 0; i < cases && failures.Count < 20; i++)
        {
            var r = new Random(unchecked((seed * 1_000_003) + i)); // HashCode.Combine is salted per process: not reproducible
            var kind = r.Next(10);
            string what;
            byte[] frame;
            var dataDamaged = false;
            var frameDamaged = kind >= 8;
            if (kind < 4)
            {
                (var mutated, what) = ManifestMutator.Bytes(json, r);
                frame = PlantedManifest.Frame(mutated);
                what = "bytes: " + what;
            }
            else if (kind < 8)
            {
                (var mutated, what) = ManifestMutator.Json(json, r);
                frame = PlantedManifest.Frame(mutated);
                what = "json: " + what;
            }
            else if (kind == 8)
            {
                // The manifest frame itself damaged (index row updated, so the frame reader must catch it).
                frame = (byte[])originalFrame.Clone();
                var at = r.Next(frame.Length);
                frame[at] ^= (byte)(1 << r.Next(8));
                what = $"manifest frame: flip at {at}";
            }
            else
            {
                frame = originalFrame;
                var data = (byte[])originalData.Clone();
                var at = r.Next(data.Length);
                data[at] ^= (byte)(1 << r.Next(8));
                File.WriteAllBytes(dataPath, data);
                dataDamaged = true;
                what = $"data frame: flip at {at}";
            }

            PlantedManifest.PlantFile(ck, Step, frame, index);
            var manifestBytes = frame.Length;
            var run = Task.Run(() =>
            {
                using var h = new CheckpointHandler();
                var before = GC.GetAllocatedBytesForCurrentThread();
                string outcome;
                string? wrong = null;
                try
                {
                    var restored = h.Restore(ck, Step);
                    outcome = "returned";
                    wrong = frameDamaged ? StateComparer.FirstDifference(saved, restored) : WrongTensorBytes(saved, restored);
                    if (wrong is null && StateComparer.FirstDifference(saved, restored) is null)
                    {
                        outcome = "returned the original";
                    }
                }
                catch (CorruptCheckpointException e) when (e.Step == Step && !string.IsNullOrEmpty(e.Item))
                {
                    outcome = "refused";
                }
                catch (UnsupportedFormatVersionException e) when (e.Step == Step && (e.StepVersion > e.SupportedVersion || e.UnknownFeatures.Count > 0))
                {
                    // A higher version, or a required feature this engine does not know (a mutated feature name), is
                    // not corruption: it is refused naming them (docs/format.md §4).
                    outcome = "refused";
                }

                var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                if (i % 10 == 0)
                {
                    _ = h.Verify(ck, Step); // must not throw either
                }

                return (outcome, allocated, wrong);
            });
            try
            {
                var (outcome, allocated, wrong) = await run.WaitAsync(TimeSpan.FromSeconds(30));
                counts[outcome] = counts.GetValueOrDefault(outcome) + 1;
                if (wrong is not null)
                {
                    failures.Add($"case {i} ({what}): returned a value other than the one saved: {wrong}");
                }

                var bound = (64L << 20) + 64L * Math.Max(manifestBytes, json.Length);
                if (allocated > bound)
                {
                    failures.Add($"case {i} ({what}): allocated {allocated} bytes, above {bound}");
                }
            }
            catch (TimeoutException)
            {
                failures.Add($"case {i} ({what}): no result after 30 s (hang)");
                break;
            }
            catch (Exception e)
            {
                failures.Add($"case {i} ({what}): {e.GetType().Name}: {e.Message}");
            }

            if (dataDamaged)
            {
                File.WriteAllBytes(dataPath, originalData);
            }
        }

        // The fuzzer itself is sound: the original manifest planted back restores.
        PlantedManifest.PlantFile(ck, Step, originalFrame, index);
        using (var h = new CheckpointHandler())
        {
            Assert.True(h.Verify(ck, Step).Ok);
            StoreAssert.RestoresExactly(h, ck, 1, 5, 1, 1024);
        }

        StoreAssert.Figure(_output, 7, "manifest and frame mutation fuzzer",
            $"cases run {counts.Values.Sum()} (seed {seed}), returned exactly the saved state {counts.GetValueOrDefault("returned the original")}, returned other legal content the mutated manifest describes {counts.GetValueOrDefault("returned")}, returned wrong tensor bytes 0, refused with CorruptCheckpoint {counts.GetValueOrDefault("refused")}, other exceptions/hangs/over-allocation {failures.Count}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>
    /// A re-framed manifest mutation may legally describe other content (a renamed key, a changed
    /// scalar), but the data file is untouched: every tensor it returns under a saved key with the
    /// saved byte size must carry exactly the saved bytes, or the reader returned garbage.
    /// </summary>
    private static string? WrongTensorBytes(object? saved, object? restored)
    {
        if (saved is not IDictionary<string, object?> before || restored is not IDictionary<string, object?> after)
        {
            return null;
        }

        foreach (var (key, value) in before)
        {
            if (value is Array expected && expected.GetType().GetElementType()!.IsPrimitive && after.TryGetValue(key, out var got)
                && got is Array actual && actual.GetType().GetElementType()!.IsPrimitive && Buffer.ByteLength(actual) == Buffer.ByteLength(expected)
                && got.GetType() == expected.GetType() && StateComparer.FirstDifference(expected, actual, key) is { } why && why.Contains("bytes", StringComparison.Ordinal))
            {
                return why;
            }
        }

        return null;
    }

    [Fact]
    public void The_frame_reader_alone_rejects_every_mutated_frame_with_invalid_data_and_never_overruns()
    {
        var raw = new byte[300_000];
        new Random(7).NextBytes(raw.AsSpan(0, 100_000));
        var frame = PlantedManifest.Frame(raw);
        var cases = ReliabilityScale.FuzzCases * 2;
        int decoded = 0, rejected = 0;
        var failures = new List<string>();
        for (var i = 0; i < cases && failures.Count < 20; i++)
        {
            var r = new Random(unchecked((ReliabilityScale.Seed * 1_000_033) + i));
            var mutated = (byte[])frame.Clone();
            var flips = r.Next(1, 4);
            for (var f = 0; f < flips; f++)
            {
                mutated[r.Next(mutated.Length)] ^= (byte)(1 << r.Next(8));
            }

            if (r.Next(4) == 0)
            {
                Array.Resize(ref mutated, r.Next(mutated.Length));
            }

            try
            {
                var size = Lz4Frame.ReadContentSize(mutated);
                if (size > 255L * mutated.Length + Lz4Frame.BlockSize)
                {
                    failures.Add($"case {i}: declared {size} bytes from {mutated.Length}");
                    continue;
                }

                var output = new byte[size];
                Lz4Frame.Decode(mutated, output);
                decoded++;
                if (!output.AsSpan().SequenceEqual(raw))
                {
                    failures.Add($"case {i}: decoded to different bytes without an error");
                }
            }
            catch (InvalidDataException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                failures.Add($"case {i}: {e.GetType().Name}: {e.Message}");
            }
        }

        StoreAssert.Figure(_output, 6, "LZ4 frame reader fuzzer", $"cases run {cases}, rejected {rejected}, decoded intact {decoded}, garbage or other exceptions {failures.Count}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
