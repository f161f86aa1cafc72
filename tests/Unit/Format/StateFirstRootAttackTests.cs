using System.Collections;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// Attack (session 24) on the state-first manifest: roots that are not an object with members (a scalar, a string, an
/// empty table, an empty list, a string longer than a piece holding escapes) save as <c>{"state":…,"format":…}</c>,
/// restore, verify, list their items, and survive an index rebuilt from the folders (RepairIndex recomputes the
/// manifest hash from the file: it must equal the hash recorded from the bytes as written).
/// </summary>
public sealed class StateFirstRootAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Roots() => ["int", "string", "empty-table", "empty-list", "long-escaped", "nested"];

    private static object Root(string kind) => kind switch
    {
        "int" => 42,
        "string" => "plain",
        "empty-table" => new Hashtable(),
        "empty-list" => new ArrayList(),
        "long-escaped" => new Hashtable { ["s"] = string.Concat(Enumerable.Repeat("\u0001\"\\é\n", 40_000)) },
        _ => new Hashtable { ["a"] = new Hashtable { ["b"] = new ArrayList { 1, "x", new Hashtable { ["c"] = 2.5 } } } },
    };

    [Theory]
    [MemberData(nameof(Roots))]
    public void A_root_of_any_shape_saved_state_first_restores_verifies_and_survives_repair(string kind)
    {
        var ck = _dir.Sub(kind);
        using var handler = new CheckpointHandler();
        var state = Root(kind);
        handler.Save(ck, state, step: 1);
        handler.Save(ck, new Hashtable { ["after"] = 1 }, step: 2);
        var json = System.Text.Encoding.UTF8.GetString(PlantedManifest.ReadStoredJson(ck, 1));
        Assert.StartsWith("{\"state\":", json);

        void Check()
        {
            var back = handler.Restore(ck, 1);
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(state), System.Text.Json.JsonSerializer.Serialize(back));
            Assert.True(handler.Verify(ck, 1).Ok);
            Assert.True(handler.Verify(ck, 2).Ok);
            handler.GetItems(ck, 1);
        }

        Check();
        File.Delete(Path.Combine(ck, "index.sqlite"));
        var report = handler.RepairIndex(ck);
        Assert.Contains(1L, report.StepsIndexed);
        Assert.Contains(2L, report.StepsIndexed);
        Check();
    }
}
