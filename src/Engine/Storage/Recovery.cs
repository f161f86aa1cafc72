using DataraxCkpt.Faults;
using DataraxCkpt.Format;
using DataraxCkpt.Values;

namespace DataraxCkpt.Storage;

/// <summary>
/// Finishes what interrupted processes left, and rebuilds the index from the step folders.
/// Runs under the directory's exclusive lock. Rules: a save whose owner is gone is rolled forward
/// when its folder was already published (or staged complete in the middle of an exchange), and
/// rolled back otherwise; a removal is completed; staging folders of dead owners and the trash are
/// emptied. A committed, valid step folder is never deleted by recovery.
/// </summary>
internal static class Recovery
{
    /// <summary>Finishes interrupted work recorded as intents and sweeps leftovers. Returns what it did.</summary>
    public static List<string> FinishInterrupted(StepFolders folders, StepIndex index, bool dryRun = false)
    {
        var actions = new List<string>();
        foreach (var intent in index.Intents())
        {
            if (intent.Op == "save")
            {
                if (intent.Staging is null || !folders.IsStagingAbandoned(intent.Staging))
                {
                    continue;
                }

                var published = TryRead(folders, folders.StepPath(intent.Step), intent.Step);
                if (published is { } p && p.Manifest.SaveId == intent.SaveId)
                {
                    actions.Add($"indexed step {intent.Step}, published by a save that stopped before its index commit");
                    if (!dryRun)
                    {
                        Index(index, p, intentToClear: intent.SaveId);
                    }
                }
                else if (published is null && !folders.StepExists(intent.Step) && index.Get(intent.Step) is not null
                    && TryRead(folders, folders.StagingPath(intent.Staging), intent.Step) is { } staged && staged.Manifest.SaveId == intent.SaveId)
                {
                    // Interrupted between the two renames of an overwrite where no atomic exchange exists:
                    // the step is indexed but its folder is gone, so the staged version must go in.
                    actions.Add($"published step {intent.Step}, interrupted in the middle of an overwrite");
                    if (!dryRun)
                    {
                        staged.Manifest.Dispose();
                        folders.Publish(folders.StagingPath(intent.Staging), intent.Step);
                        var again = TryRead(folders, folders.StepPath(intent.Step), intent.Step)!.Value;
                        Index(index, again, intentToClear: intent.SaveId);
                    }
                }
                else
                {
                    actions.Add($"rolled back an unfinished save of step {intent.Step}");
                    if (!dryRun)
                    {
                        index.RemoveIntent(intent.SaveId);
                    }
                }

                published?.Manifest.Dispose();
            }
            else if (intent.Op == "delete")
            {
                if (dryRun)
                {
                    actions.Add($"finished removing step {intent.Step}");
                    continue;
                }

                try
                {
                    if (TryRead(folders, folders.StepPath(intent.Step), intent.Step) is { } doomed)
                    {
                        doomed.Manifest.Dispose();
                        // A step listed again under the same save (an older engine's repair) is kept, never emptied.
                        if (doomed.Manifest.SaveId == intent.SaveId && index.Get(intent.Step)?.SaveId != intent.SaveId)
                        {
                            folders.MoveToTrash(intent.Step, intent.SaveId);
                        }
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The step is already unlisted; only its folder is left. Failing here would fail every
                    // later save and prune until the cause is gone, so the intent stays and the next writer retries.
                    actions.Add($"could not finish removing step {intent.Step} ({e.Message.TrimEnd('.')}); its folder stays, unlisted, and the next write retries");
                    continue;
                }

                actions.Add($"finished removing step {intent.Step}");
                index.RemoveIntent(intent.SaveId);
            }
        }

        var live = index.Intents().Where(i => i.Staging is not null).Select(i => i.Staging!).ToHashSet(StringComparer.Ordinal);
        actions.AddRange(folders.SweepStaging(dryRun, keep: live.Contains).Select(s => $"removed leftover {s}"));
        actions.AddRange(folders.SweepTrash(dryRun).Select(s => $"removed leftover {s}"));
        return actions;
    }

    /// <summary>
    /// Makes the index list exactly the valid step folders: indexes folders it lacks or disagrees with,
    /// drops rows whose folder is gone or invalid, and sweeps leftovers.
    /// </summary>
    public static RepairReport Reconcile(StepFolders folders, StepIndex index, bool dryRun)
    {
        var leftovers = FinishInterrupted(folders, index, dryRun).Where(a => a.StartsWith("removed leftover ", StringComparison.Ordinal))
            .Select(a => a["removed leftover ".Length..]).ToList();
        var rows = index.All().ToDictionary(r => r.Step);

        // A removal that could not finish leaves its folder and intent: the folder is on its way out, not a step to list.
        var removing = index.Intents().Where(i => i.Op == "delete").Select(i => (i.Step, i.SaveId)).ToHashSet();
        var added = new List<long>();
        var removed = new List<long>();
        var problems = new List<string>();
        var valid = new List<long>();
        foreach (var step in folders.ListStepFolders())
        {
            StepManifest? manifest = null;
            try
            {
                var read = Read(folders, folders.StepPath(step), step);
                manifest = read.Manifest;
                if (removing.Contains((step, manifest.SaveId)))
                {
                    problems.Add($"step {step}: its removal has not finished (the folder could not be moved to {StepFolders.TrashFolder}); it is not listed, and the next write retries the removal");
                    continue;
                }

                valid.Add(step);
                if (!rows.TryGetValue(step, out var row) || row.ManifestHash != read.ManifestHash || row.SaveId != manifest.SaveId)
                {
                    added.Add(step);
                    if (!dryRun)
                    {
                        Index(index, read, intentToClear: null);
                        FaultInjector.Hit("repair.step-indexed");
                    }
                }
                else if (row.Pinned != folders.IsPinned(step) && !dryRun)
                {
                    index.SetPinned(step, folders.IsPinned(step));
                }
            }
            catch (Exception e) when (IsUnreadableFolder(e))
            {
                problems.Add($"step {step}: {e.Message}; the folder was left in place and is not listed");
            }
            finally
            {
                manifest?.Dispose();
            }
        }

        foreach (var step in rows.Keys.Except(valid).Order())
        {
            removed.Add(step);
            if (!dryRun)
            {
                index.DropStep(step);
            }
        }

        var indexed = dryRun ? valid : index.Steps();
        return new RepairReport(folders.Directory, indexed, added, removed, leftovers, problems, dryRun);
    }

    /// <summary>A step folder read back: its manifest, the manifest file's hash and the step's stored size.</summary>
    internal readonly record struct FolderRead(StepManifest Manifest, string ManifestHash, long StoredSize, bool Pinned);

    public static FolderRead Read(StepFolders folders, string folder, long step)
    {
        using var files = folders.OpenStep(folder);
        var manifest = StepReader.ParseManifestFile(files.ManifestFile, files.DataLength);
        if (manifest.Step != step)
        {
            manifest.Dispose();
            throw new InvalidDataException($"the folder holds step {manifest.Step}, not step {step} (was it copied from elsewhere?)");
        }

        return new FolderRead(manifest, StepWriter.ManifestHashOf(files.ManifestFile), files.DataLength + files.ManifestFile.Length,
            File.Exists(Path.Combine(folder, StepFormat.PinnedMarker)));
    }

    /// <summary>
    /// Failures that mean "this folder is not a valid step": the reader's own InvalidDataException, and
    /// the JSON and parsing exceptions a hostile manifest can raise before the validator names them
    /// (the same set a restore reports as corruption). Repair must list such a folder as a problem and
    /// go on, or one planted folder would block every repair and every index rebuild of the directory.
    /// </summary>
    internal static bool IsUnreadableFolder(Exception e) => e is InvalidDataException or IOException or UnauthorizedAccessException
        or FormatException or OverflowException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException;

    private static FolderRead? TryRead(StepFolders folders, string folder, long step)
    {
        try
        {
            return Read(folders, folder, step);
        }
        catch (Exception e) when (IsUnreadableFolder(e))
        {
            return null;
        }
    }

    private static void Index(StepIndex index, FolderRead read, string? intentToClear)
    {
        var m = read.Manifest;
        var row = new StepRow(m.Step, m.SaveId, m.CreatedUtc, m.Size, read.StoredSize, m.Items.Count, m.MetadataJson, read.ManifestHash, read.Pinned);
        index.CommitStep(row, m.Items, item => item.TensorIndex >= 0 ? m.Tensors[item.TensorIndex].StoredLength : 0, intentToClear);
    }
}
