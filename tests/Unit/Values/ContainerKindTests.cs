using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Collections.ObjectModel;
using System.Collections.Specialized;
using System.Reflection;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// Every container comes back as the type it was saved as, with its key comparer, or is refused at save
/// naming its path (issue 10 item 5; CONTRACT §3: never a different type on restore).
/// </summary>
public sealed class ContainerKindTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private object? RoundTrip(object? value)
    {
        var dir = _dir.Sub("ck");
        _handler.Save(dir, new Dictionary<string, object?> { ["v"] = value }, overwrite: true, step: 0);
        return ((Dictionary<string, object?>)_handler.Restore(dir)!)["v"];
    }

    private UnsupportedValueException Refused(object? value)
    {
        var dir = _dir.Sub("refused");
        var e = Assert.Throws<UnsupportedValueException>(() => _handler.Save(dir, new Dictionary<string, object?> { ["model"] = new Hashtable { ["v"] = value } }, step: 0));
        Assert.False(Directory.Exists(dir), "nothing may be written for a refused state");
        return e;
    }

    private static object? ComparerOf(IDictionary d) => d switch
    {
        Hashtable h => typeof(Hashtable).GetProperty("EqualityComparer", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(h),
        OrderedDictionary o => typeof(OrderedDictionary).GetField("_comparer", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(o),
        _ => d.GetType().GetProperty("Comparer")!.GetValue(d),
    };

    [Fact]
    public void An_ArrayList_comes_back_as_an_ArrayList()
    {
        var back = RoundTrip(new ArrayList { 1, "two", null, new ArrayList { 3.5 } });
        var list = Assert.IsType<ArrayList>(back);
        Assert.Equal(new object?[] { 1, "two", null }, list.Cast<object?>().Take(3));
        Assert.Equal(3.5, Assert.IsType<ArrayList>(list[3])[0]);
    }

    [Fact]
    public void Lists_arrays_and_dictionaries_of_nullable_scalars_keep_their_types()
    {
        var list = Assert.IsType<List<int?>>(RoundTrip(new List<int?> { 1, null, -3 }));
        Assert.Equal(new int?[] { 1, null, -3 }, list);
        var dict = Assert.IsType<Dictionary<string, double?>>(RoundTrip(new Dictionary<string, double?> { ["a"] = null, ["b"] = 2.5 }));
        Assert.Null(dict["a"]);
        Assert.Equal(2.5, dict["b"]);
        Assert.Equal(new DateTime?[] { null, new DateTime(2020, 1, 1) }, Assert.IsType<DateTime?[]>(RoundTrip(new DateTime?[] { null, new DateTime(2020, 1, 1) })));
    }

    public static TheoryData<string, object> RefusedContainers() => new()
    {
        { "SortedDictionary", new SortedDictionary<string, int> { ["a"] = 1 } },
        { "ConcurrentDictionary", new ConcurrentDictionary<string, int>(new Dictionary<string, int> { ["a"] = 1 }) },
        { "SortedList", new SortedList { ["a"] = 1 } },
        { "ReadOnlyCollection", new ReadOnlyCollection<int>([1, 2]) },
        { "ImmutableArray", ImmutableArray.Create(1, 2) },
        { "Collection", new Collection<object?> { 1 } },
        { "custom comparer", new Dictionary<string, int>(new ReverseComparer()) { ["a"] = 1 } },
        { "custom comparer on the cmdlets' dictionary kind", new Dictionary<string, object?>(new ReverseComparer()) { ["a"] = 1 } },
        { "int keys with a custom comparer", new Dictionary<int, int>(new ModuloComparer()) { [1] = 1 } },
        { "non-zero lower bound", Array.CreateInstance(typeof(float), [3], [1]) },
        { "non-zero lower bound, 2-D", Array.CreateInstance(typeof(double), [2, 2], [0, 5]) },
        { "non-zero lower bound of strings", Array.CreateInstance(typeof(string), [2], [1]) },
    };

    [Theory]
    [MemberData(nameof(RefusedContainers))]
    public void A_container_that_would_come_back_as_another_type_is_refused_at_save_with_its_path(string what, object value)
    {
        var e = Refused(value);
        Assert.True(e.ValuePath == "state.model.v", $"{what}: path was {e.ValuePath}");
        Assert.Contains("state.model.v", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> ComparerNames() => new() { "Ordinal", "OrdinalIgnoreCase", "InvariantCulture", "InvariantCultureIgnoreCase", "CurrentCulture", "CurrentCultureIgnoreCase" };

    private static StringComparer Named(string name) => (StringComparer)typeof(StringComparer).GetProperty(name)!.GetValue(null)!;

    [Theory]
    [MemberData(nameof(ComparerNames))]
    public void A_generic_dictionary_keeps_its_string_comparer(string name)
    {
        var comparer = Named(name);
        var back = Assert.IsType<Dictionary<string, int>>(RoundTrip(new Dictionary<string, int>(comparer) { ["Lr"] = 1 }));
        Assert.Equal(comparer, back.Comparer);
        Assert.Equal(name.EndsWith("IgnoreCase", StringComparison.Ordinal), back.ContainsKey("lr"));
    }

    // Dictionary<string, object?> is what the cmdlets convert every PowerShell hashtable to; its comparer
    // is read on a path of its own, so each comparer is proven on that kind too.
    [Theory]
    [MemberData(nameof(ComparerNames))]
    public void A_string_to_object_dictionary_keeps_its_string_comparer(string name)
    {
        var comparer = Named(name);
        var back = Assert.IsType<Dictionary<string, object?>>(RoundTrip(new Dictionary<string, object?>(comparer) { ["Lr"] = 1 }));
        Assert.Equal(comparer, back.Comparer);
        Assert.Equal(name.EndsWith("IgnoreCase", StringComparison.Ordinal), back.ContainsKey("lr"));
    }

    [Fact]
    public void A_string_to_object_dictionary_with_the_default_comparer_stays_case_sensitive()
    {
        foreach (var made in new[] { new Dictionary<string, object?>(), new Dictionary<string, object?>(EqualityComparer<string>.Default) })
        {
            made["a"] = 1;
            made["A"] = 2;
            var back = Assert.IsType<Dictionary<string, object?>>(RoundTrip(made));
            Assert.Equal(EqualityComparer<string>.Default, back.Comparer);
            Assert.Equal(2, back.Count);
            Assert.False(back.ContainsKey("b"));
        }
    }

    [Theory]
    [MemberData(nameof(ComparerNames))]
    public void Hashtable_and_ordered_dictionary_keep_their_comparer(string name)
    {
        var comparer = Named(name);
        var table = Assert.IsType<Hashtable>(RoundTrip(new Hashtable(comparer) { ["Lr"] = 1, [2] = "two" }));
        var ordered = Assert.IsType<OrderedDictionary>(RoundTrip(new OrderedDictionary(comparer) { ["Lr"] = 1 }));
        Assert.Equal(comparer, ComparerOf(table));
        Assert.Equal(comparer, ComparerOf(ordered));
        var ignoreCase = name.EndsWith("IgnoreCase", StringComparison.Ordinal);
        Assert.Equal(ignoreCase, table.ContainsKey("LR"));
        Assert.Equal(ignoreCase, ordered.Contains("lR"));
        Assert.Equal("two", table[2]);
    }

    [Fact]
    public void Default_comparers_stay_default_and_case_sensitive()
    {
        var table = Assert.IsType<Hashtable>(RoundTrip(new Hashtable { ["a"] = 1, ["A"] = 2 }));
        Assert.Null(ComparerOf(table));
        Assert.Equal(2, table.Count);
        var dict = Assert.IsType<Dictionary<string, int>>(RoundTrip(new Dictionary<string, int> { ["a"] = 1 }));
        Assert.Equal(EqualityComparer<string>.Default, dict.Comparer);
    }

    [Fact]
    public void Metadata_keeps_its_comparer()
    {
        var dir = _dir.Sub("meta");
        _handler.Save(dir, 1, step: 0, metadata: new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase) { ["Description"] = "d" });
        Assert.Equal("d", _handler.RestoreMetadata(dir)!["description"]);
        Assert.Equal("d", _handler.ListCheckpoints(dir)[0].Metadata["DESCRIPTION"]);
    }

    private sealed class ReverseComparer : IEqualityComparer<string>
    {
        public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

        public int GetHashCode(string obj) => obj.Length;
    }

    private sealed class ModuloComparer : IEqualityComparer<int>
    {
        public bool Equals(int x, int y) => x % 10 == y % 10;

        public int GetHashCode(int obj) => obj % 10;
    }
}
