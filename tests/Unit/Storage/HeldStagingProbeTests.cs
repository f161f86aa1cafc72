using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// The recovery a save's commit runs does not probe the save's own staging lock (which it holds: while that lock is the
/// one at the path and file locking is on, the probe found it held only by throwing and catching an IOException on every
/// save), and still probes every other save's, so a save still in progress elsewhere keeps its staging folder and its intent.
/// </summary>
public sealed class HeldStagingProbeTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public HeldStagingProbeTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, object?> State(long n) => new() { ["n"] = n, ["tags"] = new object?[] { "a", "b" } };

    /// <summary>A store holding step 1, and step 2 reserved (its intent's commit under way) for the caller to complete.</summary>
    private (CheckpointStore Store, EncodedState State, Reservation Reservation) StepOneSavedThenStepTwoReserved()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
        }

        var store = new CheckpointStore(_ck, new CheckpointOptions());
        var state = StateEncoder.Encode(State(2), null);
        return (store, state, store.Reserve(2, overwrite: false));
    }

    [Fact]
    public void A_warm_save_into_a_sound_store_throws_no_exception_on_the_saving_thread()
    {
        using var h = new CheckpointHandler();
        h.Save(_ck, State(1), step: 1);
        h.Save(_ck, State(2), step: 2);

        var thread = Environment.CurrentManagedThreadId;
        var thrown = new List<Exception>();
        void Record(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs args)
        {
            if (Environment.CurrentManagedThreadId == thread)
            {
                lock (thrown)
                {
                    thrown.Add(args.Exception);
                }
            }
        }

        AppDomain.CurrentDomain.FirstChanceException += Record;
        try
        {
            h.Save(_ck, State(3), step: 3);
            h.Save(_ck, State(4));
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Record;
        }

        Assert.True(thrown.Count == 0, "the save threw and caught: " + string.Join(Environment.NewLine, thrown));
        Assert.Equal([1L, 2, 3, 4], h.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_commit_leaves_another_live_saves_staging_folder_and_intent_alone()
    {
        var (slow, slowState, slowReservation) = StepOneSavedThenStepTwoReserved();
        try
        {
            slowReservation.AwaitReserved();
            var fast = new CheckpointStore(_ck, new CheckpointOptions());
            var fastState = StateEncoder.Encode(State(3), null);
            try
            {
                using var fastReservation = fast.Reserve(3, overwrite: false);
                fast.Complete(fastReservation, fastState, keep: null, onBytesWritten: null);
            }
            finally
            {
                fastState.Release();
            }

            // Both commits ran recovery with the slow save's lock held by its reservation: its folder and intent stay.
            Assert.True(Directory.Exists(slowReservation.Staging.Path), "a commit swept a live save's staging folder");
            // The folder alone says little: the sweep probes the lock again and keeps a held folder even after its
            // intent was rolled back, and the slow save's commit does not check its intent is still there.
            using (var index = PlantedManifest.OpenIndex(_ck))
            using (var cmd = index.CreateCommand())
            {
                cmd.CommandText = "SELECT count(*) FROM intents WHERE save_id = $id AND op = 'save';";
                cmd.Parameters.AddWithValue("$id", slowReservation.SaveId);
                Assert.True(Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 1,
                    "a commit rolled back the intent of a save still in progress");
            }

            slow.Complete(slowReservation, slowState, keep: null, onBytesWritten: null);
        }
        finally
        {
            slowReservation.Dispose();
            slowState.Release();
        }

        using var check = new CheckpointHandler();
        Assert.Equal([1L, 2, 3], check.GetCheckpointSteps(_ck));
        Assert.Equal(2L, Convert.ToInt64(check.Restore(_ck, 2) is System.Collections.IDictionary d ? d["n"] : null, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Empty(check.RepairIndex(_ck, dryRun: true).StepsAdded);
    }
    [Fact]
    public void A_commit_rolls_back_a_save_whose_owner_died_while_this_one_wrote()
    {
        var (store, state, reservation) = StepOneSavedThenStepTwoReserved();
        var deadId = Guid.NewGuid().ToString("N");
        var deadName = StoredNames.StagingName(5, deadId);
        var deadFolder = Path.Combine(_ck, StepFolders.StagingFolder, deadName);
        try
        {
            reservation.AwaitReserved();
            // What a save killed after its reservation leaves while this one writes unlocked: its intent, its
            // staging folder and its lock file, which nobody holds any more.
            Directory.CreateDirectory(deadFolder);
            File.WriteAllBytes(deadFolder + ".lock", []);
            using (var index = PlantedManifest.OpenIndex(_ck))
            using (var cmd = index.CreateCommand())
            {
                cmd.CommandText = "INSERT INTO intents(save_id, op, step, staging) VALUES ($id, 'save', 5, $st);";
                cmd.Parameters.AddWithValue("$id", deadId);
                cmd.Parameters.AddWithValue("$st", deadName);
                cmd.ExecuteNonQuery();
            }

            store.Complete(reservation, state, keep: null, onBytesWritten: null);
            // Checked before any later writer's open could do it instead: the commit's own recovery probed that lock.
            Assert.False(Directory.Exists(deadFolder), "the commit kept the staging folder of a save whose owner is gone");
            using (var index = PlantedManifest.OpenIndex(_ck))
            using (var cmd = index.CreateCommand())
            {
                cmd.CommandText = "SELECT count(*) FROM intents;";
                Assert.Equal(0L, Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        finally
        {
            reservation.Dispose();
            state.Release();
        }

        using var check = new CheckpointHandler();
        Assert.Equal([1L, 2], check.GetCheckpointSteps(_ck));
    }
}
