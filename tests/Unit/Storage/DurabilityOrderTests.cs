using System.Globalization;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Issue 9 item 4: recovery's roll-forward commits a step's row only after the rename that published
/// its folder is flushed; if the flush fails the row is not written (the next writer tries again).
/// </summary>
public sealed class DurabilityOrderTests : IDisposable
{
    private const int Seed = 11;
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public DurabilityOrderTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private long[] RowsInIndex()
    {
        using var c = PlantedManifest.OpenIndex(_ck);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT step FROM steps ORDER BY step;";
        using var r = cmd.ExecuteReader();
        var steps = new List<long>();
        while (r.Read())
        {
            steps.Add(r.GetInt64(0));
        }

        return [.. steps];
    }

    [Fact]
    public void Roll_forward_commits_the_row_only_after_the_directory_is_flushed()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, HarnessState.Create(1, Seed, 1, 64), step: 1);
        }

        // Step 2 published by rename, then the writer died before its index commit.
        Assert.Equal(Harness.Killed, Harness.Run("commit.after-rename", "save", _ck, "2", Seed.ToString(CultureInfo.InvariantCulture), "1").ExitCode);
        Assert.Equal(new long[] { 1 }, RowsInIndex());

        // The next writer's recovery rolls step 2 forward; its first directory flush fails.
        var run = Harness.Run("fsync.directory=ioerror", "save", _ck, "3", Seed.ToString(CultureInfo.InvariantCulture), "1");
        Assert.Equal(4, run.ExitCode);
        Assert.Equal(new long[] { 1 }, RowsInIndex());

        using (var h = new CheckpointHandler())
        {
            // The next writer without the fault finishes the roll-forward.
            h.Save(_ck, HarnessState.Create(3, Seed, 1, 64), step: 3);
            Assert.Equal(new long[] { 1, 2, 3 }, h.GetCheckpointSteps(_ck));
            Assert.Equal(HarnessState.Create(2, Seed, 1)["note"], ((Dictionary<string, object?>)h.Restore(_ck, 2)!)["note"]);
        }
    }
}
