namespace DataraxCkpt.Tests.Storage;

/// <summary>Issue 14: which location strings name a remote store and which a local directory.</summary>
public sealed class CheckpointLocationTests
{
    [Theory]
    [InlineData("az://ckpts/runs/run-1")]
    [InlineData("AZ://ckpts")]
    [InlineData("https://acct.blob.core.windows.net/ckpts/run-1")]
    [InlineData("HTTPS://acct.blob.core.windows.net/ckpts")]
    [InlineData("http://127.0.0.1:10000/devstoreaccount1/ckpts/run-1")]
    public void Remote_schemes_are_remote_in_any_case(string location) =>
        Assert.True(CheckpointLocation.IsRemote(location));

    [Theory]
    [InlineData("")]
    [InlineData("./ck")]
    [InlineData("/tmp/az/ck")]
    [InlineData("az:/ckpts")]
    [InlineData("az")]
    [InlineData("C:\\ck")]
    [InlineData("file:///tmp/ck")]
    [InlineData("azure://ckpts")]
    [InlineData(" az://ckpts")]
    public void Local_paths_and_lookalikes_are_not_remote(string location) =>
        Assert.False(CheckpointLocation.IsRemote(location));
}
