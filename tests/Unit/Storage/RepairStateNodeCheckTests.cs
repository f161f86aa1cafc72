using System.Text.Json.Nodes;
using DataraxCkpt.Format;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Attacks;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A repair checks the state node of a folder whose index row matches (every folder of a dry run) without making its
/// items (<see cref="StepManifest.CheckItems"/>): a planted node under a row that matches it must still be reported and
/// unlisted, with the words deriving the items gives, and the check must refuse exactly what the derivation refuses.
/// </summary>
public sealed class RepairStateNodeCheckTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    /// <summary>The hostile nodes of the derivation's attack, and a node whose derived names exceed the bound.</summary>
    public static TheoryData<string> Hostile
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var problem in ItemDerivationAttackTests.Hostile)
            {
                data.Add(problem);
            }

            data.Add("names beyond the bound");
            return data;
        }
    }

    private static void Plant(JsonObject manifest, string problem)
    {
        if (problem == "names beyond the bound")
        {
            // A key of 2^20 characters over 1,025 leaves: names of just over 2^30 characters (the bound is 2^28).
            var leaves = new JsonArray(Enumerable.Repeat<JsonNode?>(null, 1025).ToArray());
            manifest["state"]!["e"]!.AsArray().Add(new JsonArray(new string('k', 1 << 20), new JsonObject { ["t"] = "any[]", ["i"] = leaves }));
            return;
        }

        ItemDerivationAttackTests.Tamper(manifest, problem);
    }

    /// <summary>A store of two steps whose step 2 holds the planted node under an index row that matches it.</summary>
    private string PlantedUnderMatchingRow(string problem)
    {
        var dir = _dir.Sub("planted");
        _handler.Save(dir, new Dictionary<string, object?> { ["w"] = new float[] { 1, 2 }, ["s"] = "x" }, step: 1);
        _handler.Save(dir, new Dictionary<string, object?> { ["w"] = new float[] { 1, 3 }, ["s"] = "y" }, step: 2);
        Format.StepFiles.Plant(dir, 2, m => Plant(m, problem), keepIndex: true);
        return dir;
    }

    /// <summary>What deriving the items of the folder's manifest refuses it with (null: nothing).</summary>
    private static string? DerivationRefusal(string dir, long step)
    {
        var folders = new StepFolders(dir);
        try
        {
            using var files = folders.OpenStep(folders.StepPath(step));
            using var manifest = StepReader.ParseManifestFile(files.ManifestFile, files.DataLength, allowNewer: true);
            _ = manifest.Items.Count;
            return null;
        }
        catch (InvalidDataException e)
        {
            return e.Message;
        }
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void A_planted_state_node_under_a_matching_row_is_reported_by_a_dry_run_and_unlisted_by_a_repair(string problem)
    {
        var dir = PlantedUnderMatchingRow(problem);
        var refusal = DerivationRefusal(dir, 2);

        var dry = _handler.RepairIndex(dir, dryRun: true);
        var reported = Assert.Single(dry.Problems, p => p.StartsWith("step 2:", StringComparison.Ordinal));
        if (refusal is not null)
        {
            // The manifest's own parse may refuse it first; when it is the derivation's, it is worded as the derivation words it.
            Assert.Equal($"step 2: {refusal}; the folder was left in place and is not listed", reported);
        }

        Assert.Equal([2L], dry.RowsRemoved);
        Assert.Equal([1L], dry.StepsIndexed);
        Assert.Equal([1L, 2L], _handler.GetCheckpointSteps(dir));

        var real = _handler.RepairIndex(dir);
        Assert.Equal(reported, Assert.Single(real.Problems, p => p.StartsWith("step 2:", StringComparison.Ordinal)));
        Assert.Equal([2L], real.RowsRemoved);
        Assert.Equal([1L], _handler.GetCheckpointSteps(dir));
        Assert.Equal(2, _handler.GetItems(dir, 1).Count);
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Checking_a_planted_state_node_refuses_it_with_the_derivations_words(string problem)
    {
        var dir = PlantedUnderMatchingRow(problem);
        var folders = new StepFolders(dir);
        using var files = folders.OpenStep(folders.StepPath(2));
        StepManifest manifest;
        try
        {
            manifest = StepReader.ParseManifestFile(files.ManifestFile, files.DataLength, allowNewer: true);
        }
        catch (InvalidDataException)
        {
            // Refused by the manifest's parse, before any item is derived or checked (the repair test covers it).
            return;
        }

        using (manifest)
        {
            var derived = Assert.Throws<InvalidDataException>(() => StateDecoder.DeriveItems(manifest.State, manifest.Tensors));
            var checkedOnly = Assert.Throws<InvalidDataException>(() => StateDecoder.CheckItems(manifest.State, manifest.Tensors));
            Assert.Equal(derived.Message, checkedOnly.Message);
            Assert.Equal(derived.InnerException?.GetType(), checkedOnly.InnerException?.GetType());
        }
    }

    [Fact]
    public void Checking_accepts_every_state_whose_items_derive()
    {
        var r = new Random(23);
        var leaves = 0;
        for (var n = 0; n < 200; n++)
        {
            var dir = _dir.Sub($"generated{n}");
            var state = new Dictionary<string, object?> { ["root"] = ItemDerivationAttackTests.Generate(r, 0, []) };
            _handler.Save(dir, state, step: 1);
            var folders = new StepFolders(dir);
            using var files = folders.OpenStep(folders.StepPath(1));
            using var manifest = StepReader.ParseManifestFile(files.ManifestFile, files.DataLength);
            StateDecoder.CheckItems(manifest.State, manifest.Tensors);
            leaves += StateDecoder.DeriveItems(manifest.State, manifest.Tensors).Count;
        }

        Assert.True(leaves > 1000, $"{leaves} leaves in all");
    }

    [Fact]
    public void Checking_makes_no_item_for_a_leaf()
    {
        var dir = _dir.Sub("ints");
        var ints = new Dictionary<string, object?>();
        for (var i = 0; i < 20_000; i++)
        {
            ints[$"k{i}"] = i;
        }

        _handler.Save(dir, ints, step: 1);
        var folders = new StepFolders(dir);
        using var files = folders.OpenStep(folders.StepPath(1));
        using var manifest = StepReader.ParseManifestFile(files.ManifestFile, files.DataLength);
        var state = manifest.State;
        StateDecoder.CheckItems(state, manifest.Tensors);
        _ = StateDecoder.DeriveItems(state, manifest.Tensors);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var items = StateDecoder.DeriveItems(state, manifest.Tensors);
        var derived = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        StateDecoder.CheckItems(state, manifest.Tensors);
        var checkedOnly = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(20_000, items.Count);
        // An item and its list slot are 64 bytes a leaf at least; what the check still makes is each key's string (the
        // name it counts) and each leaf's type code.
        Assert.True(derived - checkedOnly >= 20_000L * 64, $"derivation {derived} B, check {checkedOnly} B");
    }
}
