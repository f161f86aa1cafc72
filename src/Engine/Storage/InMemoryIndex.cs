namespace DataraxCkpt.Storage;

/// <summary>
/// An index built in memory from the step folders, for readers that may not write the directory's
/// own index: a read-only directory without one, or a reader holding the shared lock when the index
/// vanished. It lists exactly the valid step folders (with their pins) and writes nothing: no sweep,
/// no recovery, no file in the directory.
/// </summary>
internal static class InMemoryIndex
{
    /// <summary>Reads every step folder into a fresh in-memory index; unreadable folders are left out.</summary>
    public static StepIndex FromStepFolders(StepFolders folders)
    {
        var index = StepIndex.OpenFile(folders.Directory, ":memory:", create: true);
        try
        {
            var listedIds = new HashSet<string>(StringComparer.Ordinal);
            foreach (var step in folders.ListStepFolders())
            {
                Recovery.FolderRead read;
                try
                {
                    read = Recovery.Read(folders, folders.StepPath(step), step);
                }
                catch (Exception e) when (Recovery.IsUnreadableFolder(e))
                {
                    // Not a valid step: a reader lists what a repair would list, and never fails on one bad folder.
                    continue;
                }

                using (read.Manifest)
                {
                    var m = read.Manifest;
                    if (!listedIds.Add(m.SaveId))
                    {
                        // A later folder carrying a listed step's save id: repair leaves it unlisted too.
                        continue;
                    }

                    var row = new StepRow(m.Step, m.SaveId, m.CreatedUtc, m.Size, read.StoredSize, m.Items.Count, m.MetadataJson, read.ManifestHash, read.Pinned);
                    index.CommitStep(row, m.Items, item => item.TensorIndex >= 0 ? m.Tensors[item.TensorIndex].StoredLength : 0, intentToClear: null);
                }
            }

            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }
}
