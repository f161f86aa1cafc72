using System.Collections;
using System.Collections.Specialized;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Values;

/// <summary>Keys and property names with lone surrogates are stored exactly (issue 10 item 7).</summary>
public sealed class LoneSurrogateTests : IDisposable
{
    private const string HighAlone = "a\ud800";
    private const string LowAlone = "\udc00b";

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, object?> State() => new()
    {
        ["w"] = new float[] { 1, 2 },
        [HighAlone] = 1,
        ["obj"] = new StateObject { { LowAlone, 2 } },
        ["t"] = new Hashtable { [HighAlone + "x"] = 3 },
    };

    [Fact]
    public void A_synchronous_save_stores_them_and_restore_gives_back_the_exact_strings()
    {
        using var handler = new CheckpointHandler();
        var dir = _dir.Sub("ck");
        handler.Save(dir, State(), step: 0);
        var back = (Dictionary<string, object?>)handler.Restore(dir)!;
        Assert.Equal(1, back[HighAlone]);
        Assert.Equal(LowAlone, Assert.Single(Assert.IsType<StateObject>(back["obj"])).Key);
        Assert.Equal(3, Assert.IsType<Hashtable>(back["t"])[HighAlone + "x"]);
        var names = handler.GetItems(dir, 0).Select(i => i.Name).ToList();
        Assert.Equal(["w", "a~xD800", "obj/~xDC00b", "t/a~xD800x"], names);
        Assert.Equal(1, ((OrderedDictionary)handler.Restore(dir, 0, ["a~xD800"])!)["a~xD800"]);
    }

    [Fact]
    public void An_asynchronous_save_completes_and_restores()
    {
        using var handler = new CheckpointHandler(new CheckpointOptions { Async = true });
        var dir = _dir.Sub("async");
        handler.Save(dir, State(), step: 0);
        handler.WaitUntilFinished();
        var back = (Dictionary<string, object?>)handler.Restore(dir)!;
        Assert.Equal(1, back[HighAlone]);
    }

    [Fact]
    public void Metadata_keys_with_lone_surrogates_round_trip()
    {
        using var handler = new CheckpointHandler();
        var dir = _dir.Sub("meta");
        handler.Save(dir, 1, step: 0, metadata: new Dictionary<string, object?> { [HighAlone] = new StateObject { { LowAlone, 1 } } });
        var meta = handler.RestoreMetadata(dir)!;
        Assert.Equal(LowAlone, Assert.Single(Assert.IsType<StateObject>(meta[HighAlone])).Key);
    }
}
