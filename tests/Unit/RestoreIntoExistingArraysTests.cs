using System.Collections;
using System.Numerics.Tensors;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests;

/// <summary>
/// <see cref="CheckpointHandler.RestoreInto{T}"/>: stored tensors are decoded into the arrays a state of the
/// same shape already holds (the same objects afterwards), plain values replaced in their containers; a
/// tensor of another shape or element type is refused before anything is written.
/// </summary>
public sealed class RestoreIntoExistingArraysTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Tensors_are_decoded_into_the_templates_own_arrays_and_plain_values_replaced()
    {
        var saved = new Dictionary<string, object?>
        {
            ["w"] = Random(1, 300_000),
            ["m"] = new double[,] { { 1, 2, 3 }, { 4, 5, 6 } },
            ["t"] = Tensor.Create(new[] { 1, 2, 3, 4, 5, 6 }, [2, 3]),
            ["flags"] = new[] { true, false, true },
            ["inner"] = new Dictionary<string, object?> { ["b"] = new long[] { 7, 8 }, ["name"] = "after" },
            ["step"] = 42,
        };
        _handler.Save(_dir.Path, saved, step: 1);
        var w = new float[300_000];
        var m = new double[2, 3];
        var t = Tensor.Create(new int[6], [2, 3]);
        var flags = new bool[3];
        var b = new long[2];
        var inner = new Dictionary<string, object?> { ["b"] = b, ["name"] = "before" };
        var template = new Dictionary<string, object?> { ["w"] = w, ["m"] = m, ["t"] = t, ["flags"] = flags, ["inner"] = inner, ["step"] = 0 };

        var result = _handler.RestoreInto(_dir.Path, template);

        Assert.Same(template, result);
        Assert.Same(w, template["w"]);
        Assert.Same(m, template["m"]);
        Assert.Same(t, template["t"]);
        Assert.Same(flags, template["flags"]);
        Assert.Same(inner, template["inner"]);
        Assert.Same(b, inner["b"]);
        Assert.Equal((float[])saved["w"]!, w);
        Assert.Equal((double[,])saved["m"]!, m);
        Assert.Equal([1, 2, 3, 4, 5, 6], t.ToArray());
        Assert.Equal([true, false, true], flags);
        Assert.Equal([7L, 8L], b);
        Assert.Equal("after", inner["name"]);
        Assert.Equal(42, template["step"]);
    }

    [Fact]
    public void A_tensor_of_another_shape_is_IncompatibleState_naming_the_item_and_nothing_is_written()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["a"] = new float[] { 1, 2, 3, 4 }, ["b"] = new float[,] { { 1, 2 }, { 3, 4 } }, ["n"] = 5 }, step: 1);
        var a = new float[] { 9, 9, 9, 9 };
        var b = new float[4];
        var template = new Dictionary<string, object?> { ["a"] = a, ["b"] = b, ["n"] = 0 };

        var error = Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, template));

        Assert.Equal("IncompatibleState", error.ErrorId);
        Assert.Equal("b", error.Item);
        Assert.Equal(["b"], error.DifferingFields);
        Assert.Equal("a f32 tensor of shape [2, 2]", error.Expected);
        Assert.Equal("a Single[] of shape [4]", error.Found);
        Assert.Contains("Nothing was restored", error.Message, StringComparison.Ordinal);
        Assert.Equal([9f, 9f, 9f, 9f], a);
        Assert.Equal(new float[4], b);
        Assert.Equal(0, template["n"]);
    }

    [Fact]
    public void A_tensor_of_another_element_type_is_refused_before_any_tensor_is_written()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["a"] = new float[] { 1, 2 }, ["z"] = new int[] { 1, 2 } }, step: 1);
        var a = new float[] { 9, 9 };
        var template = new Dictionary<string, object?> { ["a"] = a, ["z"] = new long[2] };

        var error = Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, template));

        Assert.Equal("z", error.Item);
        Assert.Equal("a i32 tensor of shape [2]", error.Expected);
        Assert.Equal([9f, 9f], a);
    }

    [Fact]
    public void Stored_items_missing_from_the_template_are_added_and_the_templates_extra_items_kept()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["a"] = new float[] { 1, 2 }, ["new"] = new float[] { 3 }, ["count"] = 3 }, step: 1);
        var a = new float[2];
        var extra = new float[] { 5 };
        var template = new Dictionary<string, object?> { ["a"] = a, ["extra"] = extra };

        _handler.RestoreInto(_dir.Path, template);

        Assert.Same(a, template["a"]);
        Assert.Equal([1f, 2f], a);
        Assert.Equal([3f], (float[])template["new"]!);
        Assert.Equal(3, template["count"]);
        Assert.Same(extra, template["extra"]);
        Assert.Equal([5f], extra);
    }

    [Fact]
    public void A_null_where_a_tensor_is_stored_is_refused_and_left_null()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["w"] = new float[] { 1, 2 } }, step: 1);
        var template = new Dictionary<string, object?> { ["w"] = null };

        var error = Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, template));

        Assert.Equal("w", error.Item);
        Assert.Equal("null", error.Found);
        Assert.Null(template["w"]);
    }

    [Fact]
    public void A_list_of_another_length_or_a_container_of_another_kind_is_refused()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["layers"] = new List<object?> { new float[] { 1 }, new float[] { 2 } }, ["cfg"] = new Dictionary<string, object?> { ["x"] = 1 } }, step: 1);

        var shortList = new Dictionary<string, object?> { ["layers"] = new List<object?> { new float[1] }, ["cfg"] = new Dictionary<string, object?>() };
        Assert.Equal("layers", Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, shortList)).Item);

        var wrongKind = new Dictionary<string, object?> { ["layers"] = new List<object?> { new float[1], new float[1] }, ["cfg"] = new List<object?>() };
        Assert.Equal("cfg", Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, wrongKind)).Item);

        var fits = new Dictionary<string, object?> { ["layers"] = new List<object?> { new float[1], new float[1] }, ["cfg"] = new Dictionary<string, object?>() };
        _handler.RestoreInto(_dir.Path, fits);
        Assert.Equal([2f], (float[])((List<object?>)fits["layers"]!)[1]!);
        Assert.Equal(1, ((Dictionary<string, object?>)fits["cfg"]!)["x"]);
    }

    [Fact]
    public void A_state_object_template_has_its_properties_filled_in_place()
    {
        var saved = new StateObject();
        saved.Add("w", new float[] { 1, 2, 3 });
        saved.Add("epoch", 4);
        _handler.Save(_dir.Path, saved, step: 1);
        var w = new float[3];
        var template = new StateObject();
        template.Add("w", w);
        template.Add("epoch", 0);

        _handler.RestoreInto(_dir.Path, template);

        Assert.Same(w, template["w"]);
        Assert.Equal([1f, 2f, 3f], w);
        Assert.Equal(4, template["epoch"]);
    }

    [Fact]
    public void A_checkpointable_target_gets_its_own_arrays_back_filled()
    {
        var model = new Model();
        model.Weights.AsSpan().Fill(3f);
        model.Epoch = 7;
        _handler.Save(_dir.Path, model, step: 1);
        var target = new Model();
        var weights = target.Weights;

        _handler.RestoreInto(_dir.Path, target);

        Assert.Same(weights, target.Weights);
        Assert.All(target.Weights, v => Assert.Equal(3f, v));
        Assert.Equal(7, target.Epoch);
    }

    [Fact]
    public void A_chunk_that_fails_its_checksum_mid_restore_leaves_the_containers_unchanged()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["a"] = Random(2, 1000), ["b"] = Random(3, 1000), ["n"] = 5 }, step: 1);
        var data = Directory.GetFiles(_dir.Path, "tensors.lz4", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(data);
        bytes[^100] ^= 0xFF; // inside the last tensor's raw bytes
        File.WriteAllBytes(data, bytes);
        var template = new Dictionary<string, object?> { ["a"] = new float[1000], ["b"] = new float[1000], ["n"] = 0 };

        var error = Assert.Throws<CorruptCheckpointException>(() => _handler.RestoreInto(_dir.Path, template));

        Assert.Equal("b", error.Item);
        Assert.Equal(0, template["n"]);
    }

    [Fact]
    public void One_array_at_two_places_that_hold_different_stored_tensors_is_refused_and_left_as_it_was()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["a"] = Random(4, 300_000), ["b"] = Random(5, 300_000), ["n"] = 5 }, step: 1);
        var shared = new float[300_000];
        Array.Fill(shared, 9f);
        var template = new Dictionary<string, object?> { ["a"] = shared, ["b"] = shared, ["n"] = 0 };

        var error = Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, template));

        Assert.Equal("IncompatibleState", error.ErrorId);
        Assert.Equal("b", error.Item);
        Assert.Contains("'a'", error.Found, StringComparison.Ordinal);
        Assert.All(shared, v => Assert.Equal(9f, v));
        Assert.Equal(0, template["n"]);
    }

    [Fact]
    public void One_array_at_two_places_that_hold_one_tied_stored_tensor_is_filled_once()
    {
        var saved = Random(6, 1000);
        _handler.Save(_dir.Path, new Dictionary<string, object?> { ["a"] = saved, ["b"] = saved }, step: 1);
        var shared = new float[1000];
        var template = new Dictionary<string, object?> { ["a"] = shared, ["b"] = shared };

        _handler.RestoreInto(_dir.Path, template);

        Assert.Same(shared, template["a"]);
        Assert.Same(shared, template["b"]);
        Assert.Equal(saved, shared);
    }

    [Fact]
    public void A_read_only_container_where_a_value_must_be_replaced_is_refused_before_any_array_is_written()
    {
        _handler.Save(_dir.Path, new Dictionary<string, object?>
        {
            ["a"] = Random(7, 1000),
            ["inner"] = new Dictionary<string, object?> { ["n"] = 5 },
            ["list"] = new List<object?> { 1, 2 },
        }, step: 1);
        var a = new float[1000];
        Array.Fill(a, 9f);
        var readOnlyInner = new System.Collections.ObjectModel.ReadOnlyDictionary<string, object?>(new Dictionary<string, object?> { ["n"] = 0 });
        var template = new Dictionary<string, object?> { ["a"] = a, ["inner"] = readOnlyInner, ["list"] = new List<object?> { 0, 0 } };

        var error = Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, template));

        Assert.Equal("inner", error.Item);
        Assert.All(a, v => Assert.Equal(9f, v));
        Assert.Equal(0, readOnlyInner["n"]);

        var readOnlyList = new List<object?> { 0, 0 }.AsReadOnly();
        var second = new Dictionary<string, object?> { ["a"] = a, ["inner"] = new Dictionary<string, object?> { ["n"] = 0 }, ["list"] = readOnlyList };
        var listError = Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, second));
        Assert.Equal("list", listError.Item);
        Assert.All(a, v => Assert.Equal(9f, v));
    }

    [Fact]
    public void A_dictionary_whose_keys_are_of_another_type_is_refused_before_any_array_is_written()
    {
        // Saved with integer keys, restored into a template whose dictionary takes only strings: the key
        // cannot go in, which must be found while planning, not when the plan is applied after the arrays.
        _handler.Save(_dir.Path, new Dictionary<string, object?>
        {
            ["a"] = Random(7, 1000),
            ["byId"] = new Dictionary<int, string> { [1] = "one" },
        }, step: 1);
        var a = new float[1000];
        Array.Fill(a, 9f);
        var byName = new Dictionary<string, string> { ["1"] = "kept" };
        var template = new Dictionary<string, object?> { ["a"] = a, ["byId"] = byName };

        var error = Assert.Throws<IncompatibleStateException>(() => _handler.RestoreInto(_dir.Path, template));

        Assert.Equal("byId", error.Item);
        Assert.Contains("Int32 key", error.Message, StringComparison.Ordinal);
        Assert.All(a, v => Assert.Equal(9f, v));
        Assert.Equal(new Dictionary<string, string> { ["1"] = "kept" }, byName);
    }

    private static float[] Random(int seed, int length)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = (float)random.NextDouble();
        }

        return values;
    }

    private sealed class Model : ICheckpointable
    {
        public float[] Weights { get; private set; } = new float[1000];

        public int Epoch { get; set; }

        public IDictionary<string, object?> GetState() => new Dictionary<string, object?> { ["weights"] = Weights, ["epoch"] = Epoch };

        public void SetState(IDictionary<string, object?> state)
        {
            Weights = (float[])state["weights"]!;
            Epoch = (int)state["epoch"]!;
        }
    }
}
