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
}
