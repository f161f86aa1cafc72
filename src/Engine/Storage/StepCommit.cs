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
    public static void Publish(StepFolders folders, StepIndex index, string stagingPath, StepRow row,
        IReadOnlyList<StoredItem> items, Func<StoredItem, long> storedSizeOf)
    {
        FaultInjector.Hit("commit.before-rename");
        folders.Publish(stagingPath, row.Step);
        FaultInjector.Hit("commit.after-rename");
        index.CommitStep(row, items, storedSizeOf, intentToClear: row.SaveId);
        FaultInjector.Hit("commit.after-index");
    }

    public static void Remove(StepFolders folders, StepIndex index, StepRow row)
    {
        FaultInjector.Hit("remove.before-unpublish");
        index.UnpublishStep(row.Step, new Intent(row.SaveId, "delete", row.Step, null));
        FaultInjector.Hit("remove.after-unpublish");
        if (folders.StepExists(row.Step))
        {
            folders.MoveToTrash(row.Step, row.SaveId);
        }

        FaultInjector.Hit("remove.after-trash");
        folders.SweepTrash(dryRun: false);
        index.RemoveIntent(row.SaveId);
    }
}
