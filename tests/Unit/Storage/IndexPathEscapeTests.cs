using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A directory whose name holds characters that mean something in a SQLite URI filename (<c>%HH</c>, <c>?</c>,
/// <c>#</c>): the index opened without writing (a dry run, a peek, a directory that may only be read) is the
/// file inside this directory, never one whose name is the decoded text. A sibling folder named by the
/// decoded text holds other steps, so reading the wrong index shows.
/// </summary>
public sealed class IndexPathEscapeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, string> Names => new()
    {
        // name on disk, what a URI decoder makes of it
        { "run%41x", "runAx" },
        { "a%2Fb", "a" },
        { "sig%3Dx", "sig=x" },
        { "100%", "100" },
        { "q?mode=rw", "q" },
        { "h#frag", "h" },
        { "sp ace", "sp%20ace" },
        { "p%25q", "p%q" },
        { "ünï%C3%BC", "ünïü" },
    };

    private (string Ck, string Sibling) Stores(string name, string decoded)
    {
        var ck = Path.Combine(_dir.Path, name);
        using var writer = new CheckpointHandler();
        writer.Save(ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        writer.Save(ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
        writer.Save(ck, new Dictionary<string, object?> { ["v"] = 3 }, step: 3);
        var sibling = Path.Combine(_dir.Path, decoded);
        if (!Directory.Exists(sibling) && !decoded.Contains('/', StringComparison.Ordinal))
        {
            writer.Save(sibling, new Dictionary<string, object?> { ["v"] = 70 }, step: 70);
        }

        return (ck, sibling);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void A_dry_run_prune_and_a_peek_read_the_index_of_the_named_directory(string name, string decoded)
    {
        var (ck, _) = Stores(name, decoded);
        using var h = new CheckpointHandler();
        Assert.Equal(new long[] { 1, 2, 3 }, h.PeekCheckpointSteps(ck));
        Assert.Equal(new long[] { 1, 2 }, h.Prune(ck, new RetentionPolicy { Keep = 1 }, dryRun: true).Select(c => c.Step).Order());
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(ck));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void A_directory_that_may_only_be_read_lists_and_restores_its_own_steps(string name, string decoded)
    {
        var (ck, _) = Stores(name, decoded);
        using var h = new CheckpointHandler(new CheckpointOptions { SimulatedDenial = SimulatedDenial.ReadOnlyFileSystem });
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(ck));
        Assert.Equal(new long[] { 1, 2, 3 }, h.ListCheckpoints(ck).Select(c => c.Step));
        Assert.Equal(2, ((Dictionary<string, object?>)h.Restore(ck, step: 2)!)["v"]);
        Assert.Equal(1, h.Remove(ck, 1, dryRun: true).Step);
    }
}
