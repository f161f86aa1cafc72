using System.Numerics;
using System.Text.Json.Nodes;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;
using Xunit.Abstractions;

namespace DataraxCkpt.Tests.Reliability;

/// <summary>
/// Guarantees 7 and 8 against crafted input: manifests with absurd shapes and sizes, negative or
/// overflowing lengths, unknown dtypes, type codes and versions, hostile key names, deep trees and
/// giant strings, planted with valid checksums and a matching index row so that every check of the
/// reader is really reached. Each must end in a clear CorruptCheckpointException for the step (or in
/// correct data), allocate no more than the declared sizes that were checked against the files, and
/// touch nothing outside the checkpoint directory.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class HostileInputTests : IDisposable
{
    /// <summary>A step of ~6 MiB of files may allocate a few times its size, never hundreds of MiB.</summary>
    private const long AllocationBound = 64L << 20;

    private readonly TempDirectory _dir = new();
    private readonly ITestOutputHelper _output;
    private readonly string _pristine;
    private readonly string _outside;

    public HostileInputTests(ITestOutputHelper output)
    {
        _output = output;
        _pristine = _dir.Sub("pristine");
        _outside = _dir.Sub("outside");
        Directory.CreateDirectory(Path.Combine(_outside, "victim"));
        File.WriteAllText(Path.Combine(_outside, "victim", "keep.txt"), "must survive");
        using var h = new CheckpointHandler();
        h.Save(_pristine, HarnessState.Create(1, 5, 1), step: 1);
        h.Save(_pristine, RichState(), step: 2);
        h.Save(_pristine, HarnessState.Create(3, 5, 1), step: 3);
    }

    public void Dispose() => _dir.Dispose();

    internal static Dictionary<string, object?> RichState() => new()
    {
        ["step"] = 2L,
        ["name"] = "rich",
        ["when"] = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc),
        ["at"] = new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)),
        ["big"] = BigInteger.Parse("123456789012345678901234567890", System.Globalization.CultureInfo.InvariantCulture),
        ["list"] = new List<object?> { 1, "two", 3.0 },
        ["matrix"] = new double[3, 4],
        ["w"] = Enumerable.Range(0, 1_400_000).Select(i => (float)Math.Sin(i)).ToArray(), // two chunks
        ["key"] = new PrngKey(PrngKey.Threefry2x32Impl, [0u, 42u]),
        ["nested"] = new Dictionary<string, object?> { ["a"] = new Dictionary<string, object?> { ["b"] = new[] { 1, 2, 3 } } },
    };

    /// <param name="Accept">For legal content: true when the restored state is exactly what the manifest says.</param>
    /// <param name="ItemName">For a renamed item: the name GetItems must list after a repair re-reads the manifest.</param>
    private sealed record Case(string Name, Action<JsonObject> Mutate, Func<object?, bool>? Accept = null, long Bound = AllocationBound, string? ItemName = null);

    /// <summary>
    /// A manifest of a million list entries (~5 MB of JSON) legitimately decodes to a million-element
    /// list; the decoder allocates per element (names, boxes), so what it may allocate in total is
    /// bounded by the manifest's size, which is itself checked against the 1 GiB limit before reading.
    /// </summary>
    private const long ManyBound = 64L * 5_000_000;

    /// <summary>Stands for a subtree too deep for System.Text.Json to write; spliced in as raw text.</summary>
    private const string DeepMarker = "\"@@deep@@\"";

    private static JsonArray Entries(JsonObject root) => (JsonArray)root["state"]!["e"]!;

    private static JsonNode Entry(JsonObject root, string key) =>
        Entries(root).Select(e => (JsonArray)e!).Single(e => (string?)e[0] == key)[1]!;

    private static void SetEntry(JsonObject root, string key, JsonNode value)
    {
        var pair = Entries(root).Select(e => (JsonArray)e!).Single(e => (string?)e[0] == key);
        pair[1] = value;
    }

    private static void AddEntry(JsonObject root, string key, JsonNode value) => Entries(root).Add(new JsonArray(key, value));

    private static JsonObject Tensor(JsonObject root, string key) => (JsonObject)root["tensors"]![(int)Entry(root, key)["i"]!]!;

    private static JsonNode Nest(int depth)
    {
        JsonNode node = new JsonObject { ["t"] = "i32", ["v"] = 1 };
        for (var i = 0; i < depth; i++)
        {
            node = new JsonObject { ["t"] = "list<any>", ["i"] = new JsonArray(node) };
        }

        return node;
    }

    /// <summary>
    /// True when <paramref name="restored"/> is exactly the saved rich state with <paramref name="change"/>
    /// applied (keys added or replaced by what the crafted manifest legally says), value by value.
    /// </summary>
    private static bool IsRich(object? restored, Action<Dictionary<string, object?>>? change = null)
    {
        var expected = RichState();
        change?.Invoke(expected);
        return StateComparer.FirstDifference(expected, restored) is null;
    }

    private static object? Nested(int depth)
    {
        object? node = 1;
        for (var i = 0; i < depth; i++)
        {
            node = new List<object?> { node };
        }

        return node;
    }

    private static float[] ChunksSwapped(float[] w)
    {
        // The first chunk holds 4 MiB of floats; the manifest now lists the second chunk first.
        const int first = (4 << 20) / sizeof(float);
        return w[first..].Concat(w[..first]).ToArray();
    }

    private static IEnumerable<Case> Cases()
    {
        // Sizes and shapes.
        yield return new("shape of 2^31 x 2^31 doubles", r => Tensor(r, "matrix")["shape"] = new JsonArray(2147483647, 2147483647));
        yield return new("shape with a negative dimension", r => Tensor(r, "matrix")["shape"] = new JsonArray(-3, -4));
        yield return new("shape with a 1e30 dimension", r => Tensor(r, "matrix")["shape"] = JsonNode.Parse("[1e30, 4]"));
        yield return new("shape of rank 40", r => Tensor(r, "matrix")["shape"] = new JsonArray(Enumerable.Range(0, 40).Select(_ => (JsonNode?)1).ToArray()));
        yield return new("shape larger than the chunks", r => Tensor(r, "w")["shape"] = new JsonArray(2_000_000));
        yield return new("chunk at a negative offset", r => Tensor(r, "w")["chunks"]![0]![0] = -1);
        yield return new("chunk at offset 2^63-1", r => Tensor(r, "w")["chunks"]![0]![0] = long.MaxValue);
        yield return new("chunk stored length 2^31-1", r => Tensor(r, "w")["chunks"]![0]![1] = int.MaxValue);
        yield return new("chunk stored length 2^40", r => Tensor(r, "w")["chunks"]![0]![1] = 1L << 40);
        yield return new("chunk raw length negative", r => Tensor(r, "w")["chunks"]![0]![2] = -5);
        yield return new("chunk raw length above the block size", r => Tensor(r, "w")["chunks"]![0]![2] = (4 << 20) + 1);
        yield return new("chunk entry of strings", r => Tensor(r, "w")["chunks"]![0] = new JsonArray("a", "b", "c"));
        yield return new("chunk entry of four numbers", r => Tensor(r, "w")["chunks"]![0] = new JsonArray(0, 1, 2, 3));
        // A manifest rewritten consistently (index row included) defines the data: each chunk's own
        // checksum still holds, so the swapped order is what this manifest means, not garbage.
        yield return new("chunks swapped", r =>
        {
            var chunks = (JsonArray)Tensor(r, "w")["chunks"]!;
            var first = chunks[0]!.DeepClone();
            chunks[0] = chunks[1]!.DeepClone();
            chunks[1] = first;
        }, d => IsRich(d, e => e["w"] = ChunksSwapped((float[])e["w"]!)));
        yield return new("dataLength of 10^18", r => r["dataLength"] = 1_000_000_000_000_000_000L);
        yield return new("dataLength negative", r => r["dataLength"] = -1);
        yield return new("size field negative", r => r["size"] = -1, d => IsRich(d));

        // Types and versions.
        yield return new("unknown dtype f128", r => Tensor(r, "w")["dtype"] = "f128");
        yield return new("dtype naming a .NET type", r => Tensor(r, "w")["dtype"] = "System.Diagnostics.Process, System.Diagnostics.Process");
        yield return new("format version 2", r => r["version"] = 2);
        yield return new("format version beyond int64", r => r["version"] = JsonNode.Parse("99999999999999999999999"));
        yield return new("format version as a string", r => r["version"] = "1");
        yield return new("another format name", r => r["format"] = "orbax");
        yield return new("another data file name", r => r["dataFile"] = "../../outside/victim/keep.txt");
        yield return new("data file as an absolute path", r => r["dataFile"] = "/etc/passwd");
        yield return new("container type naming a .NET type", r => Entry(r, "w")["ct"] = "System.IO.FileInfo, System.IO.FileSystem");
        yield return new("node type naming a .NET type", r => SetEntry(r, "name", new JsonObject { ["t"] = "System.Diagnostics.Process", ["v"] = "calc" }));
        yield return new("container type of rank 33", r => Entry(r, "matrix")["ct"] = "f64[" + new string(',', 32) + "]");
        yield return new("container type nested 100 deep", r => Entry(r, "w")["ct"] = string.Concat(Enumerable.Repeat("list<", 100)) + "f32" + new string('>', 100));
        yield return new("tensor node pointing at tensor 99", r => Entry(r, "w")["i"] = 99);
        yield return new("tensor node pointing at tensor -1", r => Entry(r, "w")["i"] = -1);
        yield return new("tensor container of another dtype", r => Entry(r, "w")["ct"] = "f64[]");
        yield return new("item entry pointing past the tensor table", r => PlantedManifest.ToLegacy(r)["items"]![0]![5] = 1000);
        yield return new("item entry of the wrong shape", r => PlantedManifest.ToLegacy(r)["items"]![0] = new JsonArray(1, 2));
        yield return new("items-from-state with an items array as well", r => r["items"] = new JsonArray());
        yield return new("items-from-state over a leaf of an unknown type", r => SetEntry(r, "name", new JsonObject { ["t"] = "hashtable" }));
        yield return new("items-from-state over a leaf without a type", r => SetEntry(r, "name", new JsonObject { ["v"] = 1 }));
        yield return new("items-from-state over a key[] without elements", r => SetEntry(r, "name", new JsonObject { ["t"] = "key[]", ["i"] = 3 }));
        yield return new("items-from-state over a tensor node without a container type", r => ((JsonObject)Entry(r, "w")).Remove("ct"));
        yield return new("requires as a string", r => r["requires"] = "items-from-state");
        yield return new("old form without items", r => r.Remove("requires"));
        yield return new("datetime ticks beyond year 9999", r => Entry(r, "when")["ticks"] = "9999999999999999999");
        yield return new("datetime ticks negative", r => Entry(r, "when")["ticks"] = "-1");
        yield return new("datetime kind 7", r => Entry(r, "when")["kind"] = "7");
        yield return new("offset of 100000 minutes", r => Entry(r, "at")["offsetMinutes"] = 100000);
        yield return new("offset of int.MaxValue minutes", r => Entry(r, "at")["offsetMinutes"] = int.MaxValue);
        yield return new("bigint of a million digits", r => Entry(r, "big")["v"] = new string('9', 1_000_000));
        yield return new("bigint of letters", r => Entry(r, "big")["v"] = "12ab");
        yield return new("UTF-16 string of odd length", r => SetEntry(r, "name", new JsonObject { ["t"] = "str", ["b"] = "QUJD" }));
        yield return new("decimal of bad scale", r => SetEntry(r, "name", new JsonObject { ["t"] = "dec", ["b"] = new JsonArray(1, 0, 0, 0x7FFF0000) }));
        yield return new("PRNG key of three words", r => Entry(r, "key")["data"] = new JsonArray(1, 2, 3));
        yield return new("guid malformed", r => SetEntry(r, "name", new JsonObject { ["t"] = "guid", ["v"] = "not-a-guid" }));
        yield return new("i8 of 1000", r => SetEntry(r, "name", new JsonObject { ["t"] = "i8", ["v"] = 1000 }));
        yield return new("duplicate dictionary keys", r => AddEntry(r, "name", "again"));
        yield return new("state that is a JSON number", r => r["state"] = 12);
        yield return new("state missing", r => r.Remove("state"));
        yield return new("metadata of the wrong kind", r => r["metadata"] = new JsonArray(1), d => IsRich(d));

        // Trees and strings.
        yield return new("tree nested 150 deep (allowed)", r => AddEntry(r, "deep", Nest(150)), d => IsRich(d, e => e["deep"] = Nested(150)));
        yield return new("tree nested 201 deep (beyond the limit)", r => AddEntry(r, "deep", Nest(201)));
        yield return new("tree nested 5000 deep (beyond the JSON depth)", r => AddEntry(r, "deep", "@@deep@@"));
        yield return new("20 MB string", r => AddEntry(r, "giant", new string('x', 20_000_000)),
            d => IsRich(d, e => e["giant"] = new string('x', 20_000_000)), 8L * 20_000_000 + AllocationBound);
        yield return new("a million-entry list", r => AddEntry(r, "many", new JsonObject { ["t"] = "list<any>", ["i"] = new JsonArray(new JsonNode?[1_000_000]) }),
            d => IsRich(d, e => e["many"] = Enumerable.Repeat<object?>(null, 1_000_000).ToList()), ManyBound);

        // Names: data, never paths.
        foreach (var key in new[] { "..", "../../outside/victim", "/etc/passwd", "a\0b", "C:\\Windows\\System32", "\\\\server\\share", "~0~1/..", "CON", "nul:" })
        {
            yield return new($"key named {key.Replace("\0", "\\0", StringComparison.Ordinal)}", r => AddEntry(r, key, "value"), d => IsRich(d, e => e[key] = "value"));
            yield return new($"item named {key.Replace("\0", "\\0", StringComparison.Ordinal)}", r => PlantedManifest.ToLegacy(r)["items"]![0]![0] = key, d => IsRich(d), ItemName: key);
        }
    }

    private string Snapshot()
    {
        // Everything outside the case directories: the sentinel folder and the temp root's own entries.
        var lines = Directory.GetFileSystemEntries(_dir.Path).Where(e => !Path.GetFileName(e).StartsWith("case", StringComparison.Ordinal))
            .Concat(Directory.GetFileSystemEntries(_outside, "*", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal)
            .Select(e => $"{e} {(File.Exists(e) ? new FileInfo(e).Length : -1)} {File.GetLastWriteTimeUtc(e).Ticks}");
        return string.Join("\n", lines);
    }

    [Fact]
    public void Crafted_manifests_fail_clearly_or_restore_correctly_within_their_declared_sizes_and_touch_nothing_outside()
    {
        int tried = 0, refused = 0, handled = 0;
        var failures = new List<string>();
        var before = Snapshot();
        var n = 0;
        foreach (var c in Cases())
        {
            var ck = _dir.Sub($"case{n++}");
            StoreCopy.Copy(_pristine, ck);
            var root = PlantedManifest.ReadNode(ck, 2);
            c.Mutate(root);
            var text = root.ToJsonString().Replace(DeepMarker,
                string.Concat(Enumerable.Repeat("{\"t\":\"list<any>\",\"i\":[", 5000)) + "null" + string.Concat(Enumerable.Repeat("]}", 5000)), StringComparison.Ordinal);
            PlantedManifest.PlantFile(ck, 2, PlantedManifest.Frame(System.Text.Encoding.UTF8.GetBytes(text)));
            tried++;
            var outcome = RestoreBounded(ck, 2, c.Bound, out var allocated, out var restored);
            switch (outcome)
            {
                case "refused":
                    refused++;
                    break;
                case "returned" when c.Accept is not null && c.Accept(restored):
                    handled++;
                    break;
                case "returned" when c.Accept is not null:
                    failures.Add($"{c.Name}: Restore returned other values than the manifest holds: {StateComparer.FirstDifference(RichState(), restored)}");
                    break;
                case "returned":
                    failures.Add($"{c.Name}: Restore returned data for a hostile manifest");
                    break;
                default:
                    failures.Add($"{c.Name}: {outcome}");
                    break;
            }

            _output.WriteLine($"{c.Name}: {outcome}, {allocated / 1024} KiB allocated on the restoring thread");
            if (allocated > c.Bound)
            {
                failures.Add($"{c.Name}: allocated {allocated} bytes, above the bound of {c.Bound}");
            }

            // The other paths that read the manifest must agree with Restore, and the other steps stay exact:
            // Verify reports what Restore refused (and passes what it restored); repair never lists a
            // refused step as good data, keeps a legal one, and sees a renamed item under its new name.
            using var h = new CheckpointHandler();
            try
            {
                var verification = h.Verify(ck, 2);
                if (outcome == "refused" && (verification.Ok || verification.Problems.Count == 0))
                {
                    failures.Add($"{c.Name}: Restore refused the step but Verify said it is ok");
                }
                else if (outcome == "returned" && !verification.Ok)
                {
                    failures.Add($"{c.Name}: Restore returned the step but Verify reported [{string.Join("; ", verification.Problems.Select(p => $"{p.Item}: {p.Problem}"))}]");
                }

                var report = h.RepairIndex(ck);
                var listed = h.GetCheckpointSteps(ck);
                Assert.Equal(listed, report.StepsIndexed);
                Assert.Contains(1L, listed);
                Assert.Contains(3L, listed);
                if (outcome == "returned" && !listed.Contains(2))
                {
                    failures.Add($"{c.Name}: repair dropped a step that restores");
                }
                else if (outcome == "refused" && listed.Contains(2) && Record.Exception(() => h.Restore(ck, 2)) is not (CorruptCheckpointException { Step: 2 } or UnsupportedFormatVersionException { Step: 2 }))
                {
                    failures.Add($"{c.Name}: after repair the refused step restores");
                }

                if (c.ItemName is { } itemName && outcome == "returned")
                {
                    // The planted index row still carries the old item table; a rebuild reads the manifest's.
                    foreach (var f in Directory.GetFiles(ck, "index.sqlite*"))
                    {
                        File.Delete(f);
                    }

                    h.RepairIndex(ck);
                }

                if (c.ItemName is { } renamed && outcome == "returned" && !h.GetItems(ck, 2).Any(i => i.Name == renamed))
                {
                    failures.Add($"{c.Name}: GetItems does not list the item under its name [{string.Join(", ", h.GetItems(ck, 2).Select(i => i.Name))}]");
                }

                StoreAssert.RestoresExactly(h, ck, 1, 5, 1);
                StoreAssert.RestoresExactly(h, ck, 3, 5, 1);
            }
            catch (Exception e)
            {
                failures.Add($"{c.Name}: Verify/RepairIndex/other steps threw {e.GetType().Name}: {e.Message}");
            }

            Directory.Delete(ck, recursive: true);
        }

        Assert.Equal(before, Snapshot());
        StoreAssert.Figure(_output, 7, "crafted manifests (sizes, lengths, types, versions, names, depth, strings)",
            $"tried {tried}, refused with CorruptCheckpoint {refused}, handled correctly {handled}, outside the directory touched 0");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private void LinkOwnFolder(string ck, string name)
    {
        var path = Path.Combine(ck, name);
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }

        Directory.CreateSymbolicLink(path, _outside);
    }

    [Fact]
    public void Links_pointing_outside_the_directory_are_never_followed_for_reading_or_deleting()
    {
        var outsideStep = Path.Combine(_outside, "step2copy");
        StoreCopy.Copy(PlantedManifest.Folder(_pristine, 2), outsideStep);
        var cases = new (string Name, Action<string> Plant, bool Step2Refused)[]
        {
            ("step folder is a link to a valid step outside", ck =>
            {
                Directory.Delete(PlantedManifest.Folder(ck, 2), recursive: true);
                Directory.CreateSymbolicLink(PlantedManifest.Folder(ck, 2), outsideStep);
            }, true),
            ("tensors.lz4 is a link to a file outside", ck =>
            {
                var data = Path.Combine(PlantedManifest.Folder(ck, 2), StepFormat.DataFile);
                File.Delete(data);
                File.CreateSymbolicLink(data, Path.Combine(outsideStep, StepFormat.DataFile));
            }, true),
            ("manifest.json.lz4 is a link to a file outside", ck =>
            {
                var manifest = PlantedManifest.ManifestPath(ck, 2);
                File.Delete(manifest);
                File.CreateSymbolicLink(manifest, Path.Combine(outsideStep, StepFormat.ManifestFile));
            }, true),
            (".staging is a link to a folder outside", ck => LinkOwnFolder(ck, ".staging"), false),
            (".trash is a link to a folder outside", ck => LinkOwnFolder(ck, ".trash"), false),
        };
        var before = Snapshot();
        int tried = 0, refused = 0;
        var n = 0;
        foreach (var c in cases)
        {
            var ck = _dir.Sub($"case-link{n++}");
            StoreCopy.Copy(_pristine, ck);
            c.Plant(ck);
            tried++;
            using (var h = new CheckpointHandler())
            {
                if (c.Step2Refused)
                {
                    var e = Assert.Throws<CorruptCheckpointException>(() => h.Restore(ck, 2));
                    Assert.Equal(2, e.Step);
                    Assert.False(string.IsNullOrEmpty(e.Item));
                    Assert.False(h.Verify(ck, 2).Ok);
                    refused++;
                }

                // Writing, removing and repairing sweep .staging and .trash: none may reach outside.
                h.Save(ck, HarnessState.Create(4, 5, 1), step: 4, keep: 3);
                h.Remove(ck, 4);
                var report = h.RepairIndex(ck);
                if (c.Step2Refused)
                {
                    Assert.DoesNotContain(2L, h.GetCheckpointSteps(ck));
                    Assert.Contains(report.Problems, p => p.StartsWith("step 2", StringComparison.Ordinal));
                }

                StoreAssert.RestoresExactly(h, ck, 3, 5, 1);
            }

            Assert.True(before == Snapshot(), $"{c.Name}: something outside the checkpoint directory changed");
        }

        StoreAssert.Figure(_output, 8, "links pointing outside the directory",
            $"tried {tried}, step reads refused {refused}, sweeps that followed a link 0, outside entries changed 0");
    }

    [Fact]
    public void A_step_folder_copied_in_from_elsewhere_is_refused_under_another_number_and_adopted_whole_under_its_own()
    {
        var other = _dir.Sub("other");
        using var h = new CheckpointHandler();
        h.Save(other, HarnessState.Create(5, 77, 1), step: 5);
        h.Save(other, HarnessState.Create(2, 77, 1), step: 2);

        var ck = _dir.Sub("case-copied");
        StoreCopy.Copy(_pristine, ck);
        StoreCopy.Copy(PlantedManifest.Folder(other, 5), PlantedManifest.Folder(ck, 7));
        var report = h.RepairIndex(ck);
        Assert.Contains(report.Problems, p => p.StartsWith("step 7", StringComparison.Ordinal) && p.Contains("step 5", StringComparison.Ordinal));
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(ck));
        Assert.Throws<StepNotFoundException>(() => h.Restore(ck, 7));
        Assert.True(Directory.Exists(PlantedManifest.Folder(ck, 7)), "a folder repair cannot index is left in place for the operator");

        StoreCopy.Copy(PlantedManifest.Folder(other, 5), PlantedManifest.Folder(ck, 5));
        h.RepairIndex(ck);
        StoreAssert.RestoresExactly(h, ck, 5, 77, 1);

        // Step 2 replaced by another directory's step 2: refused until repair adopts the new folder whole.
        Directory.Delete(PlantedManifest.Folder(ck, 2), recursive: true);
        StoreCopy.Copy(PlantedManifest.Folder(other, 2), PlantedManifest.Folder(ck, 2));
        var e = Assert.Throws<CorruptCheckpointException>(() => h.Restore(ck, 2));
        Assert.Equal(2, e.Step);
        h.RepairIndex(ck);
        StoreAssert.RestoresExactly(h, ck, 2, 77, 1);
        Assert.Equal(new long[] { 1, 2, 3, 5 }, h.GetCheckpointSteps(ck));
        StoreAssert.Figure(_output, 8, "step folders copied in", "tried 3, wrong number refused 1, adopted whole 2, mixed 0");
    }

    /// <summary>
    /// Each chunk is checked against the data file on its own, so without a further rule one valid 4 MiB
    /// frame listed 64 times would let a 4 MiB data file declare a 256 MiB tensor that Restore allocates
    /// (against guarantee 7). The reader requires chunks in file order without overlap, which bounds the
    /// declared bytes by the file (LZ4's 255:1 limit).
    /// </summary>
    [Fact]
    public void A_manifest_whose_chunks_overlap_is_refused_before_allocating_the_tensor()
    {
        var ck = _dir.Sub("case-bomb");
        StoreCopy.Copy(_pristine, ck);
        var root = PlantedManifest.ReadNode(ck, 2);
        var w = Tensor(root, "w");
        var first = w["chunks"]![0]!;
        w["chunks"] = new JsonArray(Enumerable.Range(0, 64).Select(_ => first.DeepClone()).ToArray());
        w["shape"] = new JsonArray(64 * (4 << 20) / 4);
        PlantedManifest.Plant(ck, 2, root);
        var outcome = RestoreBounded(ck, 2, AllocationBound, out var allocated, out _);
        _output.WriteLine($"overlapping chunks: {outcome}, {allocated >> 20} MiB allocated");
        Assert.Equal("refused", outcome);
        Assert.True(allocated < AllocationBound, $"allocated {allocated >> 20} MiB for a 4 MiB data file");
    }

    /// <summary>Restores on this thread, measuring what it allocates; returns refused / returned / a failure text.</summary>
    internal static string RestoreBounded(string ck, long step, long bound, out long allocated, out object? restored)
    {
        restored = null;
        using var h = new CheckpointHandler();
        var start = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            restored = h.Restore(ck, step);
            return "returned";
        }
        catch (CorruptCheckpointException e) when (e.Step == step)
        {
            return "refused";
        }
        catch (UnsupportedFormatVersionException e) when (e.Step == step)
        {
            // A higher version is not corruption: it is refused naming both versions (docs/format.md §4).
            return "refused";
        }
        catch (Exception e)
        {
            return $"threw {e.GetType().Name} instead of CorruptCheckpoint: {e.Message}";
        }
        finally
        {
            allocated = GC.GetAllocatedBytesForCurrentThread() - start;
            _ = bound;
        }
    }
}
