using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Attack on session 19's set-aside record (<c>index.sqlite.aside</c>): it is stored data, so whatever stands at its
/// path is input. Every repair that sets an index aside (here: an index without a schema version, which a repair and a
/// writer's open both set aside and rebuild) writes the record before the main file moves and reads one left behind.
/// </summary>
public sealed class SetAsideRecordAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;
    private readonly string _index;
    private readonly string _record;

    public SetAsideRecordAttackTests()
    {
        _ck = Path.GetFullPath(_dir.Sub("ck"));
        _index = Path.Combine(_ck, StepIndex.FileName);
        _record = _index + ".aside";
        using (var h = new CheckpointHandler())
        {
            for (var step = 1; step <= 2; step++)
            {
                h.Save(_ck, HarnessState.Create(step, 19, 2, 64), step: step);
            }
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        // user_version 0 (header offset 60): the index is set aside and rebuilt by the next repair or writer.
        using var file = new FileStream(_index, FileMode.Open, FileAccess.Write);
        file.Position = 60;
        file.Write(new byte[4]);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// A dangling link standing at the record's path (left by anyone who may write the directory, or a copy of a
    /// directory that held one). File.Exists is true for a dangling link, so it was read as a record left behind, and
    /// the read's FileNotFoundException failed every repair and every save that sets the index aside. Past that, the
    /// record was created with FileMode.Create, which follows the link and creates its target outside the store.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_link_at_the_record_path_is_never_followed_outside_the_store(bool repair)
    {
        var outside = Path.Combine(Directory.CreateDirectory(_dir.Sub("outside")).FullName, "created-by-the-engine");
        File.CreateSymbolicLink(_record, outside);

        using (var h = new CheckpointHandler())
        {
            if (repair)
            {
                h.RepairIndex(_ck);
            }
            else
            {
                h.Save(_ck, HarnessState.Create(3, 19, 2, 64), step: 3);
            }

            Assert.False(File.Exists(outside), $"the set-aside created '{outside}' through the link at its record's path: '{(File.Exists(outside) ? File.ReadAllText(outside) : string.Empty)}'");
            Assert.Equal(repair ? [1L, 2] : [1L, 2, 3], h.GetCheckpointSteps(_ck));
        }

        Assert.Single(Directory.GetFiles(_ck, StepIndex.FileName + ".damaged-*"));
    }

    /// <summary>
    /// A link at the record's path to a file that exists (a user's file): the record left behind is read, never written
    /// through, and the user's file is left as it was.
    /// </summary>
    [Fact]
    public void A_link_to_a_user_file_at_the_record_path_leaves_that_file_as_it_was()
    {
        var outside = Path.Combine(Directory.CreateDirectory(_dir.Sub("outside")).FullName, "notes.txt");
        File.WriteAllText(outside, "the user's own notes");
        File.CreateSymbolicLink(_record, outside);

        using (var h = new CheckpointHandler())
        {
            h.RepairIndex(_ck);
            Assert.Equal([1L, 2], h.GetCheckpointSteps(_ck));
        }

        Assert.Equal("the user's own notes", File.ReadAllText(outside));
        Assert.False(File.Exists(_record) || new FileInfo(_record).LinkTarget is not null);
    }

    /// <summary>
    /// A named pipe at the record's path: reading it as a record left behind blocked until some process wrote to it,
    /// the directory's exclusive lock held all the while, so the repair (and every writer after it) hung.
    /// </summary>
    [Fact]
    public async Task A_named_pipe_at_the_record_path_does_not_hang_the_repair()
    {
        using (var made = System.Diagnostics.Process.Start("mkfifo", [_record]))
        {
            await made.WaitForExitAsync();
            Assert.Equal(0, made.ExitCode);
        }

        var repair = Task.Run(() =>
        {
            using var h = new CheckpointHandler();
            h.RepairIndex(_ck);
            return h.GetCheckpointSteps(_ck);
        });
        var finished = await Task.WhenAny(repair, Task.Delay(TimeSpan.FromSeconds(20))) == repair;
        if (!finished)
        {
            // Unblock the reader so the test process can end: a writer that opens and closes the pipe gives it end of file.
            using (new FileStream(_record, FileMode.Open, FileAccess.Write))
            {
            }

            await Task.WhenAny(repair, Task.Delay(TimeSpan.FromSeconds(20)));
        }

        Assert.True(finished, "the repair hung reading a named pipe at the set-aside record's path");
        Assert.Equal([1L, 2], await repair);
    }

    /// <summary>
    /// A folder at the record's path: the record's creation failed as a permission denial (AccessDenied: "Access to the
    /// path is denied"), which sends the user to permissions. It is refused as what it is, before anything moved.
    /// </summary>
    [Fact]
    public void A_folder_at_the_record_path_is_refused_as_a_folder_before_anything_moves()
    {
        Directory.CreateDirectory(_record);
        using var h = new CheckpointHandler();

        var e = Assert.ThrowsAny<IOException>(() => h.RepairIndex(_ck));

        Assert.Contains("is a folder", e.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(_index));
        Assert.Empty(Directory.GetFiles(_ck, StepIndex.FileName + ".damaged-*"));
    }
}
