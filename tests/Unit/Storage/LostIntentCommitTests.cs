using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A save whose intent another process's recovery rolled back (its staging lock was lost: the lock file unlinked,
/// .staging moved, file locking off) must not publish at its commit: that recovery may have deleted part of its staging
/// folder before it was stopped, so the folder could be partial.
/// </summary>
public sealed class LostIntentCommitTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_save_whose_intent_was_rolled_back_by_another_recovery_fails_and_publishes_nothing()
    {
        var ck = _dir.Sub("ck");
        using (var h = new CheckpointHandler())
        {
            h.Save(ck, new Dictionary<string, object?> { ["n"] = 1L }, step: 1);
        }

        var store = new CheckpointStore(ck, new CheckpointOptions());
        var state = StateEncoder.Encode(new Dictionary<string, object?> { ["n"] = 2L }, null);
        var reservation = store.Reserve(2, overwrite: false);
        try
        {
            reservation.AwaitReserved();
            // What another process's recovery does to a save it takes for a dead one's: its intent row is deleted.
            using (var index = PlantedManifest.OpenIndex(ck))
            using (var cmd = index.CreateCommand())
            {
                cmd.CommandText = "DELETE FROM intents WHERE save_id = $id;";
                cmd.Parameters.AddWithValue("$id", reservation.SaveId);
                Assert.Equal(1, cmd.ExecuteNonQuery());
            }

            var e = Assert.Throws<IOException>(() => store.Complete(reservation, state, keep: null, onBytesWritten: null));
            Assert.Contains($"The save of step 2 into checkpoint directory '{ck}' was rolled back by another process's recovery", e.Message, StringComparison.Ordinal);
            Assert.Contains("nothing was published", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            reservation.Dispose();
            state.Release();
        }

        using var check = new CheckpointHandler();
        Assert.Equal([1L], check.GetCheckpointSteps(ck));
        Assert.Empty(check.RepairIndex(ck, dryRun: true).StepsAdded);
        Assert.False(Directory.Exists(Path.Combine(ck, "2")), "the rolled-back save published its folder");
    }
}
