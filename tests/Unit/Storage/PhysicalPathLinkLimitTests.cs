using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// <see cref="PhysicalPath.Resolve"/> follows at most 40 links for one path, all together, as Linux does for one lookup
/// (MAXSYMLINKS, then ELOOP). It counted them per branch, so links whose targets each pass through several other links
/// cost a number of look-ups exponential in the layout's depth (session 14's debt): a save into such a folder never
/// returned. A path needing more links is now refused, naming it.
/// </summary>
public sealed class PhysicalPathLinkLimitTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Runs <paramref name="action"/> on a thread of its own and fails when it has not ended after two minutes.</summary>
    private static Exception? EndsWithin(Action action)
    {
        var run = Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(((IAsyncResult)run).AsyncWaitHandle.WaitOne(TimeSpan.FromMinutes(2)), "still resolving after two minutes");
        return run.Exception?.InnerException;
    }

    /// <summary>
    /// <c>s</c> links to its own folder, <c>a1</c> to <c>s/s</c>, and each <c>a(k)</c> to <c>a(k-1)/a(k-1)</c>: every name
    /// resolves to the folder itself, through 2^k - 1 + 2^k links for <c>a(k)</c>, each a look-up of its own.
    /// </summary>
    private string HostileLayout(int depth)
    {
        var root = _dir.Sub("hostile");
        Directory.CreateDirectory(root);
        File.CreateSymbolicLink(Path.Combine(root, "s"), ".");
        File.CreateSymbolicLink(Path.Combine(root, "a1"), Path.Combine("s", "s"));
        for (var k = 2; k <= depth; k++)
        {
            File.CreateSymbolicLink(Path.Combine(root, "a" + k), Path.Combine("a" + (k - 1), "a" + (k - 1)));
        }

        return Path.Combine(root, "a" + depth);
    }

    [Fact]
    public void Links_through_links_are_refused_after_forty_in_all_not_resolved_branch_by_branch()
    {
        // a40 takes about 2^41 look-ups branch by branch (no branch is deeper than 41 links): it never ended.
        var hostile = HostileLayout(40);
        var e = EndsWithin(() => PhysicalPath.Resolve(Path.Combine(hostile, "ck")));
        var refused = Assert.IsType<IOException>(e);
        Assert.Contains(Path.Combine(hostile, "ck"), refused.Message, StringComparison.Ordinal);
        Assert.Contains("40", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_save_into_a_folder_behind_links_through_links_ends_with_an_error()
    {
        var hostile = HostileLayout(40);
        var e = EndsWithin(() =>
        {
            using var writer = new CheckpointHandler();
            writer.Save(Path.Combine(hostile, "ck"), new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        });
        Assert.IsAssignableFrom<IOException>(e);
    }

    [Fact]
    public void A_chain_of_forty_links_resolves_and_one_of_forty_one_is_refused()
    {
        var root = _dir.Sub("chain");
        var real = _dir.Sub("real");
        Directory.CreateDirectory(root);
        Directory.CreateDirectory(real);
        File.CreateSymbolicLink(Path.Combine(root, "c1"), real);
        for (var k = 2; k <= 41; k++)
        {
            File.CreateSymbolicLink(Path.Combine(root, "c" + k), "c" + (k - 1));
        }

        Assert.Equal(Path.Combine(real, "x"), PhysicalPath.Resolve(Path.Combine(root, "c40", "x")));
        var e = Assert.Throws<IOException>(() => PhysicalPath.Resolve(Path.Combine(root, "c41", "x")));
        Assert.Contains(Path.Combine(root, "c41", "x"), e.Message, StringComparison.Ordinal);
    }
}
