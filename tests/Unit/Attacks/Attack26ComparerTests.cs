using System.Collections;
using System.Globalization;
using System.Reflection;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Attack on 70ae79a (atk26): KeyComparers.TryGetCode reads the comparer of a Dictionary&lt;string, object?&gt;
/// directly. A restored dictionary must have the saved one's key equality, or the save is refused with nothing written.
/// </summary>
public sealed class Attack26ComparerTests : IDisposable
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

    private void AssertRefused(object? value)
    {
        var dir = _dir.Sub("refused");
        Assert.Throws<UnsupportedValueException>(() => _handler.Save(dir, new Dictionary<string, object?> { ["v"] = value }, step: 0));
        Assert.False(Directory.Exists(dir), "nothing may be written for a refused state");
    }

    /// <summary>A case-insensitive comparer whose Equals claims to be <paramref name="claimed"/>.</summary>
    private sealed class LyingComparer(object claimed) : IEqualityComparer<string>, IEqualityComparer
    {
        public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode(string obj) => StringComparer.OrdinalIgnoreCase.GetHashCode(obj);

        bool IEqualityComparer.Equals(object? x, object? y) => x is string a && y is string b ? Equals(a, b) : object.Equals(x, y);

        int IEqualityComparer.GetHashCode(object obj) => obj is string s ? GetHashCode(s) : obj.GetHashCode();

        public override bool Equals(object? obj) => ReferenceEquals(obj, claimed) || obj == this;

        public override int GetHashCode() => claimed.GetHashCode();
    }

    private sealed class SubDictionary : Dictionary<string, object?>
    {
        public SubDictionary(IEqualityComparer<string> comparer)
            : base(comparer)
        {
        }
    }

    [Fact]
    public void Attack26_a_case_insensitive_comparer_claiming_to_be_the_default_is_refused_on_the_cmdlets_kind()
    {
        var d = new Dictionary<string, object?>(new LyingComparer(EqualityComparer<string>.Default)) { ["Lr"] = 1 };
        Assert.True(d.ContainsKey("lr"));
        AssertRefused(d);
    }

    [Fact]
    public void Attack26_a_case_insensitive_comparer_claiming_to_be_ordinal_is_refused_on_every_kind()
    {
        AssertRefused(new Dictionary<string, object?>(new LyingComparer(StringComparer.Ordinal)) { ["Lr"] = 1 });
        AssertRefused(new Dictionary<string, int>(new LyingComparer(StringComparer.Ordinal)) { ["Lr"] = 1 });
        AssertRefused(new Dictionary<string, int>(new LyingComparer(EqualityComparer<string>.Default)) { ["Lr"] = 1 });
        AssertRefused(new Hashtable(new LyingComparer(StringComparer.Ordinal)) { ["Lr"] = 1 });
        AssertRefused(new Dictionary<string, object?>(new LyingComparer(StringComparer.InvariantCulture)) { ["Lr"] = 1 });
    }

    [Fact]
    public void Attack26_metadata_with_a_comparer_claiming_to_be_the_default_is_refused()
    {
        var dir = _dir.Sub("meta");
        var meta = new Dictionary<string, object?>(new LyingComparer(EqualityComparer<string>.Default)) { ["Lr"] = 1 };
        Assert.Throws<UnsupportedValueException>(() => _handler.Save(dir, new Hashtable { ["a"] = 1 }, step: 0, metadata: meta));
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void Attack26_a_subclass_of_the_cmdlets_kind_is_refused_whatever_its_comparer()
    {
        AssertRefused(new SubDictionary(EqualityComparer<string>.Default) { ["a"] = 1 });
        AssertRefused(new SubDictionary(StringComparer.OrdinalIgnoreCase) { ["a"] = 1 });
    }

    [Fact]
    public void Attack26_a_delegate_comparer_is_refused_even_when_ordinal()
    {
        AssertRefused(new Dictionary<string, object?>(EqualityComparer<string>.Create((a, b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase), s => StringComparer.OrdinalIgnoreCase.GetHashCode(s!))) { ["a"] = 1 });
        AssertRefused(new Dictionary<string, object?>(EqualityComparer<string>.Create((a, b) => string.Equals(a, b, StringComparison.Ordinal), s => s!.GetHashCode(StringComparison.Ordinal))) { ["a"] = 1 });
    }

    [Fact]
    public void Attack26_a_non_randomized_wrapper_taken_from_another_dictionary_keeps_its_equality()
    {
        foreach (var source in new[] { StringComparer.OrdinalIgnoreCase, StringComparer.Ordinal, (IEqualityComparer<string>)EqualityComparer<string>.Default })
        {
            var inner = typeof(Dictionary<string, object?>).GetField("_comparer", BindingFlags.NonPublic | BindingFlags.Instance)!
                .GetValue(new Dictionary<string, object?>(source))!;
            var d = new Dictionary<string, object?>((IEqualityComparer<string>)inner) { ["Lr"] = 1 };
            var back = Assert.IsType<Dictionary<string, object?>>(RoundTrip(d));
            Assert.Equal(d.ContainsKey("lr"), back.ContainsKey("lr"));
            Assert.Equal(ReferenceEquals(source, StringComparer.OrdinalIgnoreCase), back.ContainsKey("LR"));
        }
    }

    [Fact]
    public void Attack26_StringComparer_Create_variants_restore_with_equal_semantics_or_are_refused()
    {
        var inv = CultureInfo.InvariantCulture;
        foreach (var (made, ignoreCase) in new[]
                 {
                     (StringComparer.Create(inv, false), false), (StringComparer.Create(inv, true), true),
                     (StringComparer.Create(inv, CompareOptions.None), false), (StringComparer.Create(inv, CompareOptions.IgnoreCase), true),
                     (StringComparer.Create(new CultureInfo(string.Empty), true), true),
                 })
        {
            var back = Assert.IsType<Dictionary<string, object?>>(RoundTrip(new Dictionary<string, object?>(made) { ["Lr"] = 1 }));
            Assert.Equal(made, back.Comparer);
            Assert.Equal(ignoreCase, back.ContainsKey("lr"));
        }

        AssertRefused(new Dictionary<string, object?>(StringComparer.Create(inv, CompareOptions.IgnoreNonSpace)) { ["a"] = 1 });
        AssertRefused(new Dictionary<string, object?>(StringComparer.Create(inv, CompareOptions.IgnoreCase | CompareOptions.IgnoreKanaType)) { ["a"] = 1 });
        AssertRefused(new Dictionary<string, object?>(StringComparer.Create(inv, CompareOptions.IgnoreSymbols)) { ["a"] = 1 });
    }

    [Fact]
    public void Attack26_a_current_culture_comparer_keeps_the_saving_culture_and_another_culture_is_refused()
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("tr-TR");
            var turkish = new Dictionary<string, object?>(StringComparer.CurrentCultureIgnoreCase) { ["i"] = 1 };
            var dir = _dir.Sub("tr");
            _handler.Save(dir, new Dictionary<string, object?> { ["v"] = turkish }, step: 0);

            // A comparer of a culture that is not the current one at save: refused.
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("en-US");
            AssertRefused(new Dictionary<string, object?>(StringComparer.Create(CultureInfo.GetCultureInfo("tr-TR"), true)) { ["i"] = 1 });

            // Restored under en-US, the Turkish rules hold: "İ" matches "i", "I" does not.
            var back = Assert.IsType<Dictionary<string, object?>>(((Dictionary<string, object?>)_handler.Restore(dir)!)["v"]);
            Assert.True(back.ContainsKey("İ"));
            Assert.False(back.ContainsKey("I"));

            // The invariant culture as the current one: its comparer is the invariant one.
            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
            var inv = Assert.IsType<Dictionary<string, object?>>(RoundTrip(new Dictionary<string, object?>(StringComparer.CurrentCultureIgnoreCase) { ["Lr"] = 1 }));
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("tr-TR");
            Assert.Equal(StringComparer.InvariantCultureIgnoreCase, inv.Comparer);
            Assert.True(inv.ContainsKey("LR"));
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void Attack26_nested_dictionaries_and_metadata_keep_their_comparers()
    {
        var state = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Outer"] = new Dictionary<string, object?> { ["a"] = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase) { ["Lr"] = 1 }, ["A"] = 2 },
        };
        var dir = _dir.Sub("nested");
        _handler.Save(dir, state, step: 0, metadata: new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase) { ["Note"] = "x" });
        var back = Assert.IsType<Dictionary<string, object?>>(_handler.Restore(dir));
        Assert.True(back.ContainsKey("OUTER"));
        var outer = Assert.IsType<Dictionary<string, object?>>(back["Outer"]);
        Assert.Equal(2, outer.Count);
        Assert.False(outer.ContainsKey("b"));
        Assert.True(Assert.IsType<Dictionary<string, object?>>(outer["a"]).ContainsKey("LR"));
        var meta = _handler.RestoreMetadata(dir)!;
        Assert.True(meta.ContainsKey("NOTE"));

        var dir2 = _dir.Sub("nested2");
        _handler.Save(dir2, state, step: 0, metadata: new Dictionary<string, object?> { ["Note"] = "x", ["note"] = "y" });
        var meta2 = _handler.RestoreMetadata(dir2)!;
        Assert.Equal("y", meta2["note"]);
        Assert.False(meta2.ContainsKey("NOTE"));
    }
}
