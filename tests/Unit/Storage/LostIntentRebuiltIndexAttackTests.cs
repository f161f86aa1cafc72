using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Attack on 2a43d92: the commit's own-intent check runs only when the commit uses the connection the reservation kept.
/// A save another process's recovery rolled back (intent deleted, its staging files deleted while it wrote) whose index
/// was then moved aside and rebuilt (a repair, or a writer finding the index lost) commits into the new index, where the
/// check is skipped, and published the folder with its data file gone: a listed step that cannot be restored.
/// </summary>
public sealed class LostIntentRebuiltIndexAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public void A_rolled_back_save_whose_index_was_rebuilt_meanwhile_does_not_publish_a_partial_step()
    {
        Skip.If(OperatingSystem.IsWindows(), "the connection is kept (and the check made) only where SQLite can tell a moved file");
        var ck = Path.GetFullPath(_dir.Sub("ck"));
        using (var h = new CheckpointHandler())
        {
            h.Save(ck, new Dictionary<string, object?> { ["n"] = 1L }, step: 1);
        }

        var store = new CheckpointStore(ck, new CheckpointOptions());
        var state = StateEncoder.Encode(new Dictionary<string, object?> { ["n"] = 2L, ["w"] = Enumerable.Range(0, 4096).Select(i => (float)i).ToArray() }, null);
        var reservation = store.Reserve(2, overwrite: false);
        var rolledBack = false;
        Exception? failure = null;
        try
        {
            reservation.AwaitReserved();
            try
            {
                store.Complete(reservation, state, keep: null, onBytesWritten: _ =>
                {
                    if (rolledBack)
                    {
                        return;
                    }

                    rolledBack = true;
                    // Another process's recovery took the save for a dead one's: its intent row deleted, its staging
                    // files deleted (killed before the folder itself went)...
                    using (var index = PlantedManifest.OpenIndex(ck))
                    using (var cmd = index.CreateCommand())
                    {
                        cmd.CommandText = "DELETE FROM intents WHERE save_id = $id;";
                        cmd.Parameters.AddWithValue("$id", reservation.SaveId);
                        Assert.Equal(1, cmd.ExecuteNonQuery());
                    }

                    foreach (var file in Directory.GetFiles(reservation.Staging.Path))
                    {
                        File.Delete(file);
                    }

                    // ...then a repair set the index aside (main file first, as SetIndexAside does); the commit rebuilds it.
                    var indexPath = StepIndex.PathOf(ck);
                    foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
                    {
                        if (File.Exists(indexPath + suffix))
                        {
                            File.Move(indexPath + suffix, indexPath + ".damaged-test" + suffix);
                        }
                    }
                });
            }
            catch (Exception e) when (e is IOException or CheckpointException)
            {
                failure = e;
            }
        }
        finally
        {
            reservation.Dispose();
            state.Release();
        }

        Assert.True(rolledBack, "the save wrote no chunk");
        using var check = new CheckpointHandler();
        var steps = check.GetCheckpointSteps(ck);
        Assert.True(!steps.Contains(2) || check.Verify(ck, 2).Ok,
            $"the rolled-back save published a partial step 2 (save {(failure is null ? "succeeded" : "failed: " + failure.Message)}); steps: {string.Join(",", steps)}");
    }
}
