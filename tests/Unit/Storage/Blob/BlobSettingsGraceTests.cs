using DataraxCkpt.Storage.Blob;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>
/// The sweep's grace period as a user sets it (DATARAXCKPT_BLOB_SWEEP_GRACE_SECONDS). Found by the attack on sweep:
/// any number of seconds was taken as it was. At 0 (or a few seconds) every save of another host is a leftover from
/// the moment its blobs are up: its refresh before the record cannot help (a sweep listing after it deletes the
/// refreshed blobs with a matching ETag), so a record landing after that sweep published a step without data. And a
/// value too large for a TimeSpan ("Infinity", "1e20", meant as "never sweep") threw from every handler's
/// construction, local ones too.
/// </summary>
public sealed class BlobSettingsGraceTests
{
    [Theory]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("30")]
    public void A_grace_period_shorter_than_a_record_write_can_take_is_raised_to_the_shortest_safe_one(string seconds)
    {
        var settings = BlobSettings.WithGrace(seconds);
        Assert.Equal(settings.ShortestSafeGrace, settings.SweepGrace);

        // Three quarters of it outlast every try of one record write, each up to the network timeout, and the waits between them.
        Assert.True(settings.SweepGrace * 3 / 4 >= (settings.MaxRetries + 1) * settings.NetworkTimeout);
    }

    [Theory]
    [InlineData("Infinity")]
    [InlineData("1e20")]
    [InlineData("1e300")]
    public void A_grace_period_too_large_for_a_time_span_means_sweeping_almost_never_and_a_sweep_can_still_compute_its_cutoff(string seconds)
    {
        var settings = BlobSettings.WithGrace(seconds);
        Assert.True(settings.SweepGrace >= TimeSpan.FromDays(365));
        _ = DateTimeOffset.UtcNow - settings.SweepGrace;
        _ = settings.SweepGrace / 4;
    }

    [Theory]
    [InlineData("7200", 7200)]
    [InlineData("3600.5", 3600.5)]
    public void A_grace_period_in_range_is_taken_as_set(string seconds, double expected) =>
        Assert.Equal(TimeSpan.FromSeconds(expected), BlobSettings.WithGrace(seconds).SweepGrace);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("an hour")]
    [InlineData("-5")]
    [InlineData("NaN")]
    public void No_number_or_a_negative_one_keeps_the_default_hour(string? seconds) =>
        Assert.Equal(TimeSpan.FromHours(1), BlobSettings.WithGrace(seconds).SweepGrace);

    [Fact]
    public void The_shortest_safe_grace_period_at_the_defaults_is_twenty_minutes()
    {
        // docs/object-store.md and the sweep docs promise 20 minutes (1200 s) at the defaults: six tries of a record
        // write at 100 s each and five waits of at most a minute between them (900 s), as three quarters of the floor.
        var defaults = new BlobSettings();
        Assert.Equal(TimeSpan.FromSeconds(1200), defaults.ShortestSafeGrace);
        Assert.Equal(TimeSpan.FromSeconds(1200), BlobSettings.WithGrace("1199").SweepGrace);
        Assert.Equal(TimeSpan.FromSeconds(1200), BlobSettings.WithGrace("1200").SweepGrace);
        Assert.Equal(TimeSpan.FromSeconds(1201), BlobSettings.WithGrace("1201").SweepGrace);
    }
}
