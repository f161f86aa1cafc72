using System.Collections;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests;

/// <summary>Values outside the fixed set are refused before anything is written, naming their path.</summary>
public sealed class UnsupportedValueTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void An_unsupported_leaf_is_refused_with_its_path_and_nothing_is_written()
    {
        var dir = _dir.Sub("ck");
        var state = new Dictionary<string, object?>
        {
            ["model"] = new Dictionary<string, object?> { ["w"] = new float[4], ["act_fn"] = new Func<int, int>(x => x) },
        };
        var e = Assert.Throws<UnsupportedValueException>(() => _handler.Save(dir, state, step: 1));
        Assert.Equal("state.model.act_fn", e.ValuePath);
        Assert.Equal("UnsupportedValue", e.ErrorId);
        Assert.Contains("state.model.act_fn", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void A_cycle_is_refused_with_the_path_where_it_closes()
    {
        var inner = new Hashtable();
        var state = new Dictionary<string, object?> { ["a"] = new List<object?> { inner } };
        inner["back"] = state;
        var e = Assert.Throws<UnsupportedValueException>(() => _handler.Save(_dir.Sub("ck"), state, step: 1));
        Assert.Equal("state.a[0].back", e.ValuePath);
    }

    [Fact]
    public void A_stream_in_a_list_is_refused()
    {
        using var stream = new MemoryStream();
        var e = Assert.Throws<UnsupportedValueException>(() => _handler.Save(_dir.Sub("ck"), new object[] { 1, stream }, step: 1));
        Assert.Equal("state[1]", e.ValuePath);
    }

    [Fact]
    public void Tensors_in_metadata_are_refused()
    {
        var e = Assert.Throws<UnsupportedValueException>(() => _handler.Save(_dir.Sub("ck"), 1, step: 1,
            metadata: new Dictionary<string, object?> { ["w"] = new float[2] }));
        Assert.Equal("metadata.w", e.ValuePath);
    }
}
