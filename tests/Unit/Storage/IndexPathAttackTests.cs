using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Folder names with characters that mean something to a connection string, a URI or a terminal (quotes,
/// separators, control characters, lone surrogates, backslashes, wildcards), and a path longer than SQLite's
/// own pathname limit: every open of the index (writable, read-only immutable, dry run) reads this folder's index.
/// </summary>
public sealed class IndexPathAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Names => new()
    {
        "semi;Mode=ReadWriteCreate",
        "semi;Data Source=x",
        "q'uote",
        "d\"q",
        "new\nline",
        "ctl\u0001\u001f\u007f",
        "back\\slash%41",
        "file:x",
        "file:x?immutable=0",
        "[br]ack*?",
        "%",
        "%%4",
        "%zz",
        "~tilde",
        "a\uD800b",
        "emoji\U0001F600",
        "tab\tx",
        "plus+amp&eq=",
        ":memory:",
        "|DataDirectory|x",
    };

    private string Store(string name)
    {
        var ck = Path.Combine(_dir.Path, name);
        using var writer = new CheckpointHandler();
        writer.Save(ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        writer.Save(ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
        writer.Save(ck, new Dictionary<string, object?> { ["v"] = 3 }, step: 3);
        Assert.True(File.Exists(Path.Combine(ck, "index.sqlite")));
        return ck;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Dry_run_and_peek(string name)
    {
        var ck = Store(name);
        using var h = new CheckpointHandler();
        Assert.Equal(new long[] { 1, 2, 3 }, h.PeekCheckpointSteps(ck));
        Assert.Equal(new long[] { 1, 2 }, h.Prune(ck, new RetentionPolicy { Keep = 1 }, dryRun: true).Select(c => c.Step).Order());
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(ck));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Read_only(string name)
    {
        var ck = Store(name);
        using var h = new CheckpointHandler(new CheckpointOptions { SimulatedDenial = SimulatedDenial.ReadOnlyFileSystem });
        Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(ck));
        Assert.Equal(2, ((Dictionary<string, object?>)h.Restore(ck, step: 2)!)["v"]);
        Assert.Equal(1, h.Remove(ck, 1, dryRun: true).Step);
    }

    [Theory]
    [InlineData('d')]
    [InlineData('\u00fc')]
    [InlineData('%')]
    public void Long_path_near_sqlites_limit(char fill)
    {
        var saved = new List<int>();
        for (var bytes = 470; bytes <= 520; bytes++)
        {
            var prefix = _dir.Path + "/L" + bytes + "_";
            var ck = prefix;
            while (System.Text.Encoding.UTF8.GetByteCount(ck + "/index.sqlite") < bytes)
            {
                ck += ck.Length - ck.LastIndexOf('/') > 80 ? '/' : System.Text.Encoding.UTF8.GetByteCount(ck + "/index.sqlite") + System.Text.Encoding.UTF8.GetByteCount(fill.ToString()) <= bytes ? fill : 'd';
            }

            try
            {
                using var writer = new CheckpointHandler();
                writer.Save(ck, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
                writer.Save(ck, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
            }
            catch (Exception e)
            {
                Console.WriteLine($"fill {fill}: {bytes} bytes: {e.GetType().Name}: {e.Message}");
                continue;
            }

            saved.Add(bytes);
            using var h = new CheckpointHandler();
            Assert.Equal(new long[] { 1, 2 }, h.PeekCheckpointSteps(ck));
            Assert.Equal(new long[] { 1 }, h.Prune(ck, new RetentionPolicy { Keep = 1 }, dryRun: true).Select(c => c.Step));
            using var ro = new CheckpointHandler(new CheckpointOptions { SimulatedDenial = SimulatedDenial.ReadOnlyFileSystem });
            Assert.Equal(new long[] { 1, 2 }, ro.GetCheckpointSteps(ck));
        }

        Assert.NotEmpty(saved);
        Console.WriteLine($"fill {fill}: saved up to {saved.Max()} bytes");
    }

    [Fact]
    public void Relative_folder_named_like_a_uri()
    {
        var cwd = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = _dir.Path;
            foreach (var name in new[] { "file:rel", "file:rel2?mode=memory" })
            {
                using (var writer = new CheckpointHandler())
                {
                    writer.Save(name, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
                    writer.Save(name, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
                }

                Assert.True(File.Exists(Path.Combine(_dir.Path, name, "index.sqlite")));
                using var h = new CheckpointHandler();
                Assert.Equal(new long[] { 1, 2 }, h.PeekCheckpointSteps(name));
                Assert.Equal(new long[] { 1 }, h.Prune(name, new RetentionPolicy { Keep = 1 }, dryRun: true).Select(c => c.Step));
                using var ro = new CheckpointHandler(new CheckpointOptions { SimulatedDenial = SimulatedDenial.ReadOnlyFileSystem });
                Assert.Equal(new long[] { 1, 2 }, ro.GetCheckpointSteps(name));
            }
        }
        finally
        {
            Environment.CurrentDirectory = cwd;
        }
    }

    [Fact]
    public void A_folder_reached_through_a_link_whose_names_hold_escapes()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var real = Store("real%41x");
        Store("realAx");
        using (var writer = new CheckpointHandler())
        {
            writer.Save(Path.Combine(_dir.Path, "realAx"), new Dictionary<string, object?> { ["v"] = 70 }, step: 70);
        }

        foreach (var link in new[] { "lnk%41", "plain", "q?#%" })
        {
            var ck = Path.Combine(_dir.Path, link);
            File.CreateSymbolicLink(ck, link == "plain" ? real : "real%41x");
            using var h = new CheckpointHandler();
            Assert.Equal(new long[] { 1, 2, 3 }, h.PeekCheckpointSteps(ck));
            Assert.Equal(new long[] { 1, 2 }, h.Prune(ck, new RetentionPolicy { Keep = 1 }, dryRun: true).Select(c => c.Step).Order());
            using var ro = new CheckpointHandler(new CheckpointOptions { SimulatedDenial = SimulatedDenial.ReadOnlyFileSystem });
            Assert.Equal(new long[] { 1, 2, 3 }, ro.GetCheckpointSteps(ck));
        }
    }

    [Fact]
    public void A_new_store_too_deep_for_sqlite_is_refused_naming_the_directory_and_one_at_the_limit_saves_and_repairs()
    {
        // SQLite's Unix VFS opens paths of at most 512 bytes: a deeper directory got a bare "unable to open database
        // file" naming nothing, though Linux takes 4096-byte paths.
        using var writer = new CheckpointHandler();
        var atLimit = DeepPath.Of(_dir.Sub("a"), StepIndex.LongestDirectoryPath);
        Assert.Equal(StepIndex.LongestDirectoryPath, System.Text.Encoding.UTF8.GetByteCount(atLimit));
        writer.Save(atLimit, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        writer.Save(atLimit, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
        Assert.Equal(new long[] { 1, 2 }, writer.GetCheckpointSteps(atLimit));
        Assert.Equal(new long[] { 1 }, writer.Prune(atLimit, new RetentionPolicy { Keep = 1 }, dryRun: true).Select(c => c.Step));

        // The index lost: the repair builds its replacement beside it, under a longer name, and must open that too.
        DeleteIndex(atLimit);
        writer.RepairIndex(atLimit);
        Assert.Equal(new long[] { 1, 2 }, writer.GetCheckpointSteps(atLimit));
        Assert.Equal(2, ((Dictionary<string, object?>)writer.Restore(atLimit, step: 2)!)["v"]);

        var tooDeep = DeepPath.Of(_dir.Sub("b"), StepIndex.LongestDirectoryPath + 1);
        var e = Assert.Throws<PathTooLongException>(() => writer.Save(tooDeep, new Dictionary<string, object?> { ["v"] = 1 }, step: 1));
        Assert.Contains(tooDeep, e.Message, StringComparison.Ordinal);
        Assert.Contains("at most", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.Exists(tooDeep) ? Directory.GetFileSystemEntries(tooDeep, "*", SearchOption.AllDirectories) : []);
    }

    [Fact]
    public void A_store_moved_deeper_than_a_new_one_may_be_still_lists_restores_and_saves_and_its_repair_names_the_limit()
    {
        // Made before the limit, or moved there: its index opens, so nothing it holds may become unreadable; only the
        // repair's longer file name cannot be opened, and that is said plainly.
        using var writer = new CheckpointHandler();
        var shallow = _dir.Sub("s");
        writer.Save(shallow, new Dictionary<string, object?> { ["v"] = 1 }, step: 1);
        var deep = DeepPath.Of(_dir.Sub("m"), StepIndex.LongestDirectoryPath + 5);
        Directory.CreateDirectory(Path.GetDirectoryName(deep)!);
        Directory.Move(shallow, deep);

        writer.Save(deep, new Dictionary<string, object?> { ["v"] = 2 }, step: 2);
        Assert.Equal(new long[] { 1, 2 }, writer.ListCheckpoints(deep).Select(c => c.Step));
        Assert.Equal(1, ((Dictionary<string, object?>)writer.Restore(deep, step: 1)!)["v"]);
        Assert.Equal(new long[] { 1 }, writer.Prune(deep, new RetentionPolicy { Keep = 1 }, dryRun: true).Select(c => c.Step));
        using (var readOnly = new CheckpointHandler(new CheckpointOptions { SimulatedDenial = SimulatedDenial.ReadOnlyFileSystem }))
        {
            Assert.Equal(new long[] { 1, 2 }, readOnly.GetCheckpointSteps(deep));
        }

        DeleteIndex(deep);
        var e = Assert.Throws<PathTooLongException>(() => writer.RepairIndex(deep));
        Assert.Contains(deep, e.Message, StringComparison.Ordinal);
        Assert.Contains(StepIndex.FileName + StepIndex.RebuildSuffix, e.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(deep, "1")) || Directory.GetDirectories(deep).Length >= 2, "the step folders are still there");
    }

    [Fact]
    public void A_short_link_to_a_directory_too_deep_for_sqlite_is_refused_as_the_directory_it_points_to()
    {
        // SQLite resolves links before it opens a file, so the length that counts is the linked-to path's: a short link
        // to a deep folder passed a check of the typed path and then failed with a bare 'unable to open database file'.
        var real = DeepPath.Of(_dir.Sub("r"), 600);
        Directory.CreateDirectory(real);
        var link = Path.Combine(_dir.Path, "s");
        Directory.CreateSymbolicLink(link, real);
        using var writer = new CheckpointHandler();
        var e = Assert.Throws<PathTooLongException>(() => writer.Save(link, new Dictionary<string, object?> { ["v"] = 1 }, step: 1));
        Assert.Contains(link, e.Message, StringComparison.Ordinal);
        Assert.Contains(real, e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(real));

        // A typed path too long for SQLite whose links resolve to a short folder: SQLite refuses the typed path before it
        // resolves anything, so it is refused as clearly, with nothing written where it points.
        var shortReal = _dir.Sub("short");
        Directory.CreateDirectory(shortReal);
        var longLink = DeepPath.Of(_dir.Sub("l"), StepIndex.LongestSqlitePath + 20);
        Directory.CreateDirectory(Path.GetDirectoryName(longLink)!);
        Directory.CreateSymbolicLink(longLink, shortReal);
        Assert.Throws<PathTooLongException>(() => writer.Save(longLink, new Dictionary<string, object?> { ["v"] = 2 }, step: 2));
        Assert.Empty(Directory.GetFileSystemEntries(shortReal));
    }

    private static void DeleteIndex(string directory)
    {
        foreach (var file in Directory.GetFiles(directory, StepIndex.FileName + "*"))
        {
            File.Delete(file);
        }
    }
}
