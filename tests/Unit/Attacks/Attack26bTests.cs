using System.Globalization;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Attack atk26b on eaab73a: a current-culture comparer is recorded by the culture's name, so it must be a name the
/// restore can bring back; otherwise the save is refused with nothing written.
/// </summary>
public sealed class Attack26bTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly CultureInfo _saved = CultureInfo.CurrentCulture;

    public void Dispose()
    {
        CultureInfo.CurrentCulture = _saved;
        _handler.Dispose();
        _dir.Dispose();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attack26b_CurrentCultureComparerOfAnUnpredefinedCultureIsRefusedNotSavedUnrestorable(bool ignoreCase)
    {
        // FAILS on eaab73a: "current(-ic):zz-ZZ" was recorded and every restore failed (culture not available).
        CultureInfo.CurrentCulture = new CultureInfo("zz-ZZ");
        var value = new Dictionary<string, object?>(ignoreCase ? StringComparer.CurrentCultureIgnoreCase : StringComparer.CurrentCulture) { ["k"] = 1L };
        var dir = _dir.Sub("refused");
        var error = Assert.Throws<UnsupportedValueException>(() => _handler.Save(dir, new Dictionary<string, object?> { ["v"] = value }, step: 0));
        Assert.Contains("zz-ZZ", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir), "nothing may be written for a refused state");
    }

    [Fact]
    public void Attack26b_CurrentCultureComparerOfAPredefinedCultureRestoresWithItsEquality()
    {
        CultureInfo.CurrentCulture = new CultureInfo("tr-TR");
        var value = new Dictionary<string, object?>(StringComparer.CurrentCultureIgnoreCase) { ["I"] = 1L };
        var dir = _dir.Sub("ck");
        _handler.Save(dir, new Dictionary<string, object?> { ["v"] = value }, step: 0);
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        var back = (Dictionary<string, object?>)((Dictionary<string, object?>)_handler.Restore(dir)!)["v"]!;
        Assert.True(back.ContainsKey("ı"));
        Assert.False(back.ContainsKey("i"));
    }
}
