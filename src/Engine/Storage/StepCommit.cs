using DataraxCkpt.Faults;
using DataraxCkpt.Values;

namespace DataraxCkpt.Storage;

/// <summary>
/// The atomic commit and the atomic removal of a step. Both run under the directory's exclusive lock,
/// after the step's files are durable. Publish: the fully written, flushed staging folder is renamed to
/// the step's number (exchanged with the old folder on overwrite), the directory is flushed, then the
/// step's rows are written and its intent cleared in one SQLite transaction. Remove: the rows are
/// deleted and a delete intent recorded in one transaction, then the folder goes to the trash and is
/// deleted. A crash at any point leaves an intent that <see cref="Recovery"/> finishes.
/// </summary>
internal static class StepCommit
{
    /// <summary>Publishes a written step whose finished item list (<see cref="ItemListCodec"/>) is <paramref name="itemList"/>.</summary>
    public static void Publish(StepFolders folders, StepIndex index, StagingArea staging, StepRow row, byte[] itemList)
    {
        var stagingPath = staging.Path;
        FaultInjector.Hit("commit.before-rename");
        var displaced = folders.Publish(stagingPath, row.Step, staging);
        try
        {
            FaultInjector.Hit("commit.after-rename");
            index.CommitStep(row, itemList, row.ItemCount, intentToClear: row.SaveId);
        }
        catch
        {
            // The save is failing after its folder went in (full disk, I/O error, or an error of a kind
            // nobody expected: any of them reaches the caller as a failed save). Left there, recovery
            // would roll it forward on the next write and a save the caller saw fail would appear. Put
            // the previous state back; if even that fails, the intent remains for recovery to settle.
            try
            {
                folders.Unpublish(stagingPath, row.Step, displaced);
                index.RemoveIntent(row.SaveId);
            }
            catch (Exception undo) when (undo is IOException or CheckpointException or TimeoutException or Microsoft.Data.Sqlite.SqliteException or UnauthorizedAccessException)
            {
                // What is at the staging path may be the old version (an exchange not swapped back).
                staging.KeepForRecovery();
            }

            throw;
        }

        FaultInjector.Hit("commit.after-index");
        if (displaced is not null && displaced != stagingPath)
        {
            // The two-rename overwrite parked the old version in the trash; committed, it can go now
            // (the exchange path leaves it at the staging path, which the reservation deletes).
            folders.DeleteParked(displaced);
        }
    }

    /// <summary>
    /// Removes steps: one transaction unpublishes all of them and records a delete intent for each, so
    /// they leave the listing together; then their folders go to the trash (one flush of the directory)
    /// and are deleted, and one more transaction clears the intents. A crash after the first transaction
    /// leaves intents that recovery completes; before it, nothing has changed.
    /// </summary>
    public static void Remove(StepFolders folders, StepIndex index, IReadOnlyList<RemovedRow> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }

        FaultInjector.Hit("remove.before-unpublish");
        index.UnpublishSteps(rows);
        FaultInjector.Hit("remove.after-unpublish");
        // Many steps: one listing of the directory instead of a lookup per step.
        var existing = rows.Count > 256 ? folders.ListStepFolders().ToHashSet() : null;
        foreach (var row in rows)
        {
            if (existing?.Contains(row.Step) ?? folders.StepExists(row.Step))
            {
                folders.MoveToTrash(row.Step, row.SaveId, flush: false);
            }

            FaultInjector.Hit("remove.folder-trashed");
        }

        DurableIo.FsyncDirectory(folders.Directory);
        FaultInjector.Hit("remove.after-trash");
        folders.SweepTrash(dryRun: false, keep: Recovery.ParkedByUnsettledSaves(index));
        index.ClearRemovalIntents(rows);
    }
}
