using System.Collections;
using System.Globalization;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// Findings of a hostile review of issue 10 items 4–8: values accepted at save that did not restore as
/// saved, or restored differently, on another machine or from an older step.
/// </summary>
public sealed class HostileValueTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    /// <summary>
    /// "i" and "İ" are different keys under en-US ignore-case but equal under tr-TR: a comparer recorded as
    /// "the restoring process's current culture" made the step unrestorable (a corrupt-step error) on a
    /// Turkish machine. The comparer keeps the culture it was saved with.
    /// </summary>
    [Fact]
    public void A_current_culture_dictionary_restores_under_another_culture_with_every_key()
    {
        var saved = CultureInfo.CurrentCulture;
        var dir = _dir.Sub("ck");
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("en-US");
            var table = new Hashtable(StringComparer.CurrentCultureIgnoreCase) { ["i"] = 1, ["\u0130"] = 2 };
            var generic = new Dictionary<string, int>(StringComparer.CurrentCulture) { ["i"] = 1 };
            _handler.Save(dir, new Dictionary<string, object?> { ["h"] = table, ["g"] = generic }, step: 0);

            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("tr-TR");
            var back = (Dictionary<string, object?>)_handler.Restore(dir)!;
            var h = Assert.IsType<Hashtable>(back["h"]);
            Assert.Equal(2, h.Count);
            Assert.Equal(1, h["I"]);
            Assert.Equal(2, h["\u0130"]);
            var g = Assert.IsType<Dictionary<string, int>>(back["g"]);
            Assert.Equal(StringComparer.Create(CultureInfo.GetCultureInfo("en-US"), ignoreCase: false), g.Comparer);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    private string LegacyCopy(string name)
    {
        var source = Path.Combine(AppContext.BaseDirectory, "Values", "LegacySteps", name);
        var dir = _dir.Sub(name);
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dir, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        return dir;
    }

    /// <summary>
    /// Steps written before the item-name grammar changed (integer key 1 named "1", the empty key "."): their
    /// stored names, which Get-CheckpointItem lists, must still select leaves, and Compare must see a
    /// changed value — not look it up under a name the new grammar no longer produces and report nothing.
    /// </summary>
    [Fact]
    public void A_step_written_before_the_name_grammar_restores_and_compares_by_its_stored_names()
    {
        var dir = LegacyCopy("names-5d94c78");
        Assert.Equal(["layers/1", "layers/0", "."], _handler.GetItems(dir, 0).Select(i => i.Name));

        var partial = (System.Collections.Specialized.OrderedDictionary)_handler.Restore(dir, 0, ["layers/0"])!;
        Assert.Equal(1.5, Assert.Single(partial.Values.Cast<object>()));
        var top = (System.Collections.Specialized.OrderedDictionary)_handler.Restore(dir, 0, ["."])!;
        Assert.Equal(7.0, Assert.Single(top.Values.Cast<object>()));

        var difference = Assert.Single(_handler.Compare(dir, 0, 1));
        Assert.Equal("layers/1", difference.Name);
        Assert.Equal("Changed", difference.Change);
    }

    /// <summary>
    /// Before the grammar, <c>{"": {"x": 1}, "x": 2}</c> stored two items named "x": Compare threw a raw
    /// ArgumentException and a partial restore silently kept one. Such a step's leaves take the names the
    /// grammar derives (~e/x and x), so each can be selected and compared.
    /// </summary>
    [Fact]
    public void A_step_written_before_the_name_grammar_with_two_leaves_of_one_name_restores_and_compares_each()
    {
        var dir = LegacyCopy("dupnames-5d94c78");
        Assert.Equal(["x", "x"], _handler.GetItems(dir, 0).Select(i => i.Name));

        var difference = Assert.Single(_handler.Compare(dir, 0, 1));
        Assert.Equal("x", difference.Name);
        Assert.Equal(1.0, difference.MaxAbsDifference);

        var top = (System.Collections.Specialized.OrderedDictionary)_handler.Restore(dir, 0, ["x"])!;
        Assert.Equal(2.0, Assert.Single(top.Values.Cast<object>()));
        var nested = (System.Collections.Specialized.OrderedDictionary)_handler.Restore(dir, 0, ["~e/x"])!;
        Assert.Equal(1.0, Assert.Single(nested.Values.Cast<object>()));
    }
}
