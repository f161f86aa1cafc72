using System.Numerics;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Values;

/// <summary>What the reader refuses is refused at save, before anything is written (issue 10 item 4).</summary>
public sealed class SaveLimitTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private UnsupportedValueException Refused(object value)
    {
        var dir = _dir.Sub("ck");
        var e = Assert.Throws<UnsupportedValueException>(() => _handler.Save(dir, new Dictionary<string, object?> { ["big"] = value }, step: 0));
        Assert.Equal("state.big", e.ValuePath);
        Assert.False(Directory.Exists(dir), "nothing may be written for a refused state");
        return e;
    }

    [Fact]
    public void A_multi_dimensional_array_of_more_than_Array_MaxLength_elements_is_refused()
    {
        // 46,341² = 2,147,488,281 > Array.MaxLength (2,147,483,591); the runtime reserves the memory
        // without touching it, and the refusal must come before any byte is read.
        var huge = new bool[46_341, 46_341];
        Assert.True(huge.LongLength > Array.MaxLength);
        var e = Refused(huge);
        Assert.Contains(Array.MaxLength.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_BigInteger_of_more_than_100000_digits_is_refused_and_one_of_100000_round_trips()
    {
        var limit = BigInteger.Pow(10, 99_999) * 9; // 100,000 digits
        var dir = _dir.Sub("ok");
        _handler.Save(dir, new Dictionary<string, object?> { ["big"] = limit }, step: 0);
        Assert.Equal(limit, ((Dictionary<string, object?>)_handler.Restore(dir)!)["big"]);
        Assert.Contains("100000", Refused(BigInteger.Pow(10, 100_000)).Message, StringComparison.Ordinal);
        Refused(-limit); // the sign counts: the reader limits the text, sign included
    }

    [Fact]
    public void A_state_whose_manifest_would_exceed_the_limit_is_refused_before_writing()
    {
        // The real limit is 1 GiB; the encoder takes the limit as a parameter so the rule is tested without 1 GiB of JSON.
        var state = new Dictionary<string, object?> { ["text"] = new string('x', 5000), ["w"] = new float[10] };
        var e = Assert.Throws<UnsupportedValueException>(() => StateEncoder.Encode(state, null, maxManifestBytes: 4096));
        Assert.Equal("state", e.ValuePath);
        Assert.Contains("4096", e.Message, StringComparison.Ordinal);
        var fits = StateEncoder.Encode(state, null, maxManifestBytes: 64 * 1024);
        Assert.True(fits.StateNodeLength > 5000);
        fits.Release();
    }

    [Fact]
    public void The_manifest_bound_is_never_below_the_manifest_actually_written()
    {
        var state = new Dictionary<string, object?>
        {
            ["ünï\u0001<>"] = new Dictionary<string, object?> { ["w"] = new double[3, 700_000], ["s"] = "é\"\\" },
            ["list"] = Enumerable.Range(0, 1000).Select(i => (object?)i).ToArray(),
        };
        var dir = _dir.Sub("bound");
        _handler.Save(dir, state, step: 0);
        var written = Reliability.PlantedManifest.ReadJson(dir, 0).Length;
        Assert.Throws<UnsupportedValueException>(() => StateEncoder.Encode(state, null, maxManifestBytes: written - 1));
    }
}
