using System.Collections;
using System.Numerics.Tensors;
using System.Text.Json.Nodes;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>An array or tensor that appears twice in a state is stored once and restored as one object.</summary>
public sealed class SharedReferenceTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public SharedReferenceTests() => _ck = _dir.Sub("checkpoints");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Tied_weights_are_stored_once_and_restored_as_one_array_referenced_twice()
    {
        var tied = new float[1 << 16];
        for (var i = 0; i < tied.Length; i++)
        {
            tied[i] = i * 0.5f;
        }

        var state = new Dictionary<string, object?>
        {
            ["embed"] = tied,
            ["head"] = new Dictionary<string, object?> { ["w"] = tied, ["b"] = new float[4] },
        };
        _handler.Save(_ck, state, step: 1);

        var manifest = StepFiles.ReadManifest(_ck, 1);
        Assert.Equal(2, manifest["tensors"]!.AsArray().Count);
        Assert.Equal((tied.Length + 4) * 4L, _handler.GetCheckpoint(_ck, 1).Size);
        var restored = (Dictionary<string, object?>)_handler.Restore(_ck)!;
        var head = (Dictionary<string, object?>)restored["head"]!;
        Assert.Same(restored["embed"], head["w"]);
        Assert.Equal(tied, (float[])restored["embed"]!);
        var items = _handler.GetItems(_ck, 1).Select(i => i.Name).ToList();
        Assert.Contains("embed", items);
        Assert.Contains("head/w", items);
    }

    [Fact]
    public void A_tensor_referenced_twice_is_restored_as_one_tensor()
    {
        var t = Tensor.Create(new double[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        _handler.Save(_ck, new List<object?> { t, t, new double[] { 1 } }, step: 1);

        var restored = (IList)_handler.Restore(_ck)!;

        Assert.Same(restored[0], restored[1]);
        Assert.Equal(new double[] { 1, 2, 3, 4, 5, 6 }, ((Tensor<double>)restored[0]!).ToArray());
    }

    [Fact]
    public void Equal_but_distinct_arrays_stay_distinct()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["a"] = new int[] { 1, 2 }, ["b"] = new int[] { 1, 2 } }, step: 1);

        var restored = (Dictionary<string, object?>)_handler.Restore(_ck)!;

        Assert.NotSame(restored["a"], restored["b"]);
        Assert.Equal(2, StepFiles.ReadManifest(_ck, 1)["tensors"]!.AsArray().Count);
    }

    [Fact]
    public void A_partial_restore_of_two_names_for_one_array_returns_one_array()
    {
        var shared = new long[] { 7, 8, 9 };
        _handler.Save(_ck, new Dictionary<string, object?> { ["a"] = shared, ["b"] = shared }, step: 1);

        var restored = (IDictionary)_handler.Restore(_ck, 1, ["a", "b"])!;

        Assert.Same(restored["a"], restored["b"]);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(100_000)]
    public void A_manifest_referencing_one_4MiB_tensor_many_times_decodes_and_allocates_it_once(int references)
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = new float[1 << 20] }, step: 1);
        StepFiles.Plant(_ck, 1, m =>
        {
            var entries = new JsonArray();
            for (var i = 0; i < references; i++)
            {
                entries.Add(new JsonArray($"k{i}", new JsonObject { ["t"] = "tensor", ["ct"] = "f32[]", ["i"] = 0 }));
            }

            m["state"] = new JsonObject { ["t"] = "hashtable", ["e"] = entries };
        });

        var before = GC.GetAllocatedBytesForCurrentThread();
        var restored = (Hashtable)_handler.Restore(_ck)!;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(references, restored.Count);
        var first = restored["k0"];
        Assert.All(restored.Values.Cast<object>(), v => Assert.Same(first, v));
        // One 4 MiB array plus the manifest and the hashtable; 400 copies would be 1.6 GB.
        Assert.True(allocated < 64L << 20, $"restore allocated {allocated} bytes");
    }

    [Fact]
    public void A_manifest_referencing_one_tensor_as_two_container_types_is_refused_as_corrupt()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = new float[] { 1, 2, 3, 4 } }, step: 1);
        StepFiles.Plant(_ck, 1, m => m["state"] = new JsonObject
        {
            ["t"] = "hashtable",
            ["e"] = new JsonArray(
                new JsonArray("a", new JsonObject { ["t"] = "tensor", ["ct"] = "f32[]", ["i"] = 0 }),
                new JsonArray("b", new JsonObject { ["t"] = "tensor", ["ct"] = "tensor<f32>", ["i"] = 0 })),
        });

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(_ck));
        Assert.Equal("b", e.Item);
    }
}
