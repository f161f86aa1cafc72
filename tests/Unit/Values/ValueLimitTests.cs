using System.Collections;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Values;

/// <summary>Large objects, deep nesting, odd shapes, odd bool bytes and the host's byte order (issue 10 item 8).</summary>
public sealed class ValueLimitTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void An_object_of_a_million_properties_is_built_in_linear_time()
    {
        var watch = Stopwatch.StartNew();
        var obj = new StateObject();
        for (var i = 0; i < 1_000_000; i++)
        {
            obj.Add("p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), i);
        }

        // Quadratic adding took ~5·10^11 comparisons here (hours); indexed it takes well under a second.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        Assert.Equal(999_999, obj["p999999"]);
        Assert.Throws<ArgumentException>(() => obj.Add("p5", 0));
        Assert.Throws<KeyNotFoundException>(() => obj["P5"]);
        Assert.Equal("p0", obj.First().Key);
    }

    private static object Nest(int levels, Func<object, object> wrap)
    {
        object value = 1;
        for (var i = 0; i < levels; i++)
        {
            value = wrap(value);
        }

        return value;
    }

    public static TheoryData<string> Kinds() => new() { "hashtable", "psobject", "list" };

    private static Func<object, object> Wrap(string kind) => kind switch
    {
        "hashtable" => v => new Hashtable { ["k"] = v },
        "psobject" => v => new StateObject { { "k", v } },
        _ => v => new List<object?> { v },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Containers_nested_to_the_documented_limit_round_trip(string kind)
    {
        var dir = _dir.Sub(kind);
        _handler.Save(dir, Nest(StateEncoder.MaxDepth, Wrap(kind)), step: 0);
        var back = _handler.Restore(dir);
        for (var i = 0; i < StateEncoder.MaxDepth; i++)
        {
            back = back switch
            {
                Hashtable h => h["k"],
                StateObject o => o["k"],
                List<object?> l => l[0],
                _ => throw new InvalidOperationException($"level {i} is a {back?.GetType().Name}"),
            };
        }

        Assert.Equal(1, back);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void One_level_deeper_is_refused_at_save_with_its_path(string kind)
    {
        var dir = _dir.Sub(kind);
        var e = Assert.Throws<UnsupportedValueException>(() => _handler.Save(dir, Nest(StateEncoder.MaxDepth + 1, Wrap(kind)), step: 0));
        Assert.Contains($"{StateEncoder.MaxDepth} levels", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("state", e.ValuePath, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void Metadata_nested_deeper_than_JSON_defaults_lists_and_restores()
    {
        var dir = _dir.Sub("meta");
        _handler.Save(dir, 1, step: 0, metadata: new Dictionary<string, object?> { ["deep"] = Nest(100, Wrap("hashtable")) });
        Assert.IsType<Hashtable>(_handler.RestoreMetadata(dir)!["deep"]);
        Assert.IsType<Hashtable>(_handler.ListCheckpoints(dir)[0].Metadata["deep"]);
    }

    [Fact]
    public void A_planted_shape_of_zero_by_two_to_the_31_minus_one_is_corrupt_not_out_of_memory()
    {
        var dir = _dir.Sub("shape");
        _handler.Save(dir, new Dictionary<string, object?> { ["m"] = new float[0, 5] }, step: 0);
        var node = PlantedManifest.ReadNode(dir, 0);
        node["tensors"]![0]!["shape"] = new JsonArray(0, int.MaxValue);
        PlantedManifest.Plant(dir, 0, node);
        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(dir));
        Assert.Equal(0, e.Step);
    }

    [Fact]
    public void Bool_bytes_other_than_zero_and_one_restore_as_canonical_true()
    {
        var bools = new bool[6];
        var raw = MemoryMarshal.AsBytes(bools.AsSpan());
        raw[0] = 2;
        raw[1] = 255;
        raw[2] = 1;
        var matrix = new bool[2, 2];
        MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(matrix), 4)[3] = 7;
        var tensor = System.Numerics.Tensors.Tensor.Create((bool[])bools.Clone(), [2, 3]);
        var dir = _dir.Sub("bools");
        _handler.Save(dir, new Dictionary<string, object?> { ["v"] = bools, ["m"] = matrix, ["t"] = tensor }, step: 0);
        var back = (Dictionary<string, object?>)_handler.Restore(dir)!;
        Assert.Equal(new byte[] { 1, 1, 1, 0, 0, 0 }, MemoryMarshal.AsBytes(((bool[])back["v"]!).AsSpan()).ToArray());
        var m = (bool[,])back["m"]!;
        Assert.Equal(1, MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(m), 4)[3]);
        var t = (System.Numerics.Tensors.Tensor<bool>)back["t"]!;
        var flat = new bool[6];
        t.FlattenTo(flat);
        Assert.Equal(new byte[] { 1, 1, 1, 0, 0, 0 }, MemoryMarshal.AsBytes(flat.AsSpan()).ToArray());
        Assert.True(flat[0] == true);
    }

    [Fact]
    public void A_big_endian_host_is_refused_and_a_little_endian_one_runs()
    {
        var e = Assert.Throws<PlatformNotSupportedException>(() => HostByteOrder.EnsureLittleEndian(false));
        Assert.Contains("little-endian", e.Message, StringComparison.Ordinal);
        HostByteOrder.EnsureLittleEndian(true);
        using var handler = new CheckpointHandler(); // this host is little-endian: the check passes
    }
}
