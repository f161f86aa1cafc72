using System.Globalization;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Attack on 70ae79a (atk26): the culture a current-culture comparer is recorded with must be the one it was matched
/// against, even while another thread changes the process's default culture. Not parallel: it changes that default.
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class Attack26CultureRaceTests
{
    [Fact]
    public void Attack26_the_recorded_culture_is_the_one_the_comparer_matched_while_the_default_culture_flips()
    {
        var turkish = CultureInfo.GetCultureInfo("tr-TR");
        var english = CultureInfo.GetCultureInfo("en-US");
        var d = new Dictionary<string, object?>(StringComparer.Create(turkish, true)) { ["i"] = 1 };
        var previous = CultureInfo.DefaultThreadCurrentCulture;
        var stop = 0;
        string? wrong = null;
        var matched = 0;
        var flipper = new Thread(() =>
        {
            var flip = false;
            while (Volatile.Read(ref stop) == 0)
            {
                CultureInfo.DefaultThreadCurrentCulture = (flip = !flip) ? turkish : english;
            }
        });

        // A fresh thread that never set its culture reads the process default each time.
        var saver = new Thread(() =>
        {
            var until = DateTime.UtcNow.AddSeconds(3);
            while (DateTime.UtcNow < until && wrong is null)
            {
                for (var i = 0; i < 10_000; i++)
                {
                    if (KeyComparers.TryGetCode(d, out var code))
                    {
                        matched++;
                        if (code != "current-ic:tr-TR")
                        {
                            wrong = code;
                            break;
                        }
                    }
                }
            }
        });
        try
        {
            flipper.UnsafeStart();
            saver.UnsafeStart();
            saver.Join();
        }
        finally
        {
            Volatile.Write(ref stop, 1);
            flipper.Join();
            CultureInfo.DefaultThreadCurrentCulture = previous;
        }

        Assert.Null(wrong);
        Assert.True(matched > 0, "the comparer never matched the current culture");
    }
}
