using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests;

/// <summary>Copy under attack: another process changing the source, and a destination that is the source by another name.</summary>
public sealed class CopyAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _from;
    private readonly string _to;

    public CopyAttackTests()
    {
        _from = _dir.Sub("from");
        _to = _dir.Sub("to");
    }

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private static Dictionary<string, object?> Meta(long version) => new() { ["version"] = version };

    [Fact]
    public async Task A_copy_racing_an_overwrite_of_the_source_step_commits_one_coherent_version()
    {
        // Each version of step 1 carries its number both in its state and in its metadata; a copy that
        // reads the record, the metadata and the state separately can commit a mix of two versions.
        _handler.Save(_from, new Dictionary<string, object?> { ["version"] = 0L }, step: 1, metadata: Meta(0));
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            using var other = new CheckpointHandler();
            for (long v = 1; !stop.IsCancellationRequested; v++)
            {
                other.Save(_from, new Dictionary<string, object?> { ["version"] = v }, step: 1, overwrite: true, metadata: Meta(v));
            }
        });

        var mixed = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var copies = 0;
        try
        {
            while (DateTime.UtcNow < deadline && mixed.Count == 0)
            {
                _handler.Copy(_from, _to, [1], overwrite: true);
                copies++;
                var state = (long)((Dictionary<string, object?>)_handler.Restore(_to, 1)!)["version"]!;
                var meta = (long)_handler.RestoreMetadata(_to, 1)!["version"]!;
                if (state != meta)
                {
                    mixed.Add($"copy {copies}: state of version {state}, metadata of version {meta}");
                }
            }
        }
        finally
        {
            stop.Cancel();
            await writer;
        }

        Assert.Empty(mixed);
        Assert.True(copies > 20, $"only {copies} copies ran; the race was not exercised");
    }

    [Fact]
    public void A_destination_inside_the_source_is_refused_so_a_later_save_cannot_replace_it()
    {
        _handler.Save(_from, new Dictionary<string, object?> { ["a"] = 1L }, step: 1);
        var inside = Path.Combine(_from, "5");

        var e = Assert.Throws<ArgumentException>(() => _handler.Copy(_from, inside));

        Assert.Contains("inside", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(inside));
    }

    [Fact]
    public void A_source_inside_the_destination_is_refused_so_the_copy_cannot_replace_the_source()
    {
        // The source is the destination's folder "1": copying its step 1 with overwrite would publish
        // the destination's step 1 over the folder that holds the whole source, step 2 included.
        var source = Path.Combine(_to, "1");
        _handler.Save(source, new Dictionary<string, object?> { ["a"] = 1L }, step: 1);
        _handler.Save(source, new Dictionary<string, object?> { ["a"] = 2L }, step: 2);

        var e = Assert.Throws<ArgumentException>(() => _handler.Copy(source, _to, [1], overwrite: true));

        Assert.Contains("inside", e.Message, StringComparison.Ordinal);
        Assert.Equal([1L, 2L], _handler.GetCheckpointSteps(source));
    }

    [UnixFact]
    public void A_symbolic_link_to_the_source_is_refused_as_a_copy_onto_itself()
    {
        _handler.Save(_from, new Dictionary<string, object?> { ["a"] = 1L }, step: 1);
        var link = _dir.Sub("link");
        Directory.CreateSymbolicLink(link, _from);

        var e = Assert.Throws<ArgumentException>(() => _handler.Copy(_from, link, [1], overwrite: true));
        Assert.Contains("onto itself", e.Message, StringComparison.Ordinal);
        var viaParent = Path.Combine(link, "..", "link");
        Assert.Throws<ArgumentException>(() => _handler.Copy(viaParent, _from, [1], overwrite: true));
    }
}

/// <summary>A fact skipped, with its reason, where directory symbolic links need a privilege (Windows).</summary>
public sealed class UnixFactAttribute : FactAttribute
{
    /// <summary>Sets the skip reason on Windows.</summary>
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows())
        {
            Skip = "creating a directory symbolic link needs a privilege on Windows";
        }
    }
}
