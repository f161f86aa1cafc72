using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>Locations a user types without reading the docs: refused at once, saying why, never echoing a secret.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobLocationInputTests
{
    [Fact]
    public void A_sas_appended_to_an_az_location_is_refused_and_never_shown()
    {
        // az:// takes its credentials from the environment; a pasted '?sv=…&sig=…' would otherwise become part
        // of the prefix, and so of every message and log line that shows the location.
        var e = Assert.Throws<ArgumentException>(() => BlobLocation.Parse("az://ckpts/run-1?sv=2024-05-04&sig=SECRETSIG"));
        Assert.DoesNotContain("SECRETSIG", e.Message, StringComparison.Ordinal);
        Assert.Contains("https://", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_prefix_too_long_for_the_blob_names_under_it_is_refused_when_parsed()
    {
        // Blob names are at most 1,024 characters; the longest name under a prefix adds
        // data/<20-digit step>-<save id>/manifest.json.lz4 to it.
        var e = Assert.Throws<ArgumentException>(() => BlobLocation.Parse("az://ckpts/" + new string('p', 1000)));
        Assert.Contains("1024", e.Message, StringComparison.Ordinal);
        Assert.Equal(900, BlobLocation.Parse("az://ckpts/" + new string('p', 900)).Prefix.Length - 1);
    }

    [Theory]
    [InlineData("az://ckpts/run-1 ")]
    [InlineData("az://ckpts/ run-1/x")]
    [InlineData("az://ckpts/run-1\n")]
    [InlineData("az://ckpts/run\u0000-1")]
    public void A_prefix_with_stray_whitespace_or_control_characters_is_refused_not_a_new_store(string location)
    {
        // A pasted trailing space would otherwise save to another store ('run-1 ') than the one listed ('run-1').
        var e = Assert.Throws<ArgumentException>(() => BlobLocation.Parse(System.Text.RegularExpressions.Regex.Unescape(location)));
        Assert.Contains("whitespace or control characters", e.Message, StringComparison.Ordinal);
    }
}
