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
    /// <param name="folders">The store's folders.</param>
    /// <param name="index">The index, open for writing (or read for a dry run).</param>
    /// <param name="dryRun">Report what would be done, change nothing.</param>
    /// <param name="heldStaging">The staging folder whose owner lock this caller holds (a save at its commit): its
    /// intent is live by construction, so its lock is not probed. The probe said "live" (a second open of a lock this
    /// process holds is refused), by throwing and catching an IOException on every save, only while the lock at the path
    /// is the one held and the runtime takes file locks; with locking off (refused by the store) or the lock file unlinked
    /// or replaced it rolled the save back. The commit checks its intent is still there before it publishes.</param>
    public static List<string> FinishInterrupted(StepFolders folders, StepIndex index, bool dryRun = false, string? heldStaging = null)
    {
        var actions = new List<string>();
        // A link standing where .staging or .trash belongs would make every path an intent names lead
        // out of the directory (lock files created there, folders moved in from there): drop it first.
        var ownFoldersReal = folders.DropOwnFolderLinks(dryRun);
        foreach (var intent in index.Intents())
        {
            if (!IsWellFormed(intent))
            {
                // Planted or damaged: its names would build paths outside the engine's folders. Nothing
                // it points at is touched; the folders themselves are reconciled by repair.
                actions.Add($"dropped a malformed {(intent.Op is "save" or "delete" ? intent.Op : "unknown")} intent for step {intent.Step}");
                if (!dryRun)
                {
                    index.RemoveIntent(intent.SaveId);
                }

                continue;
            }

            if (intent.Op == "save")
            {
                if (intent.Staging is null || !ownFoldersReal || string.Equals(intent.Staging, heldStaging, StringComparison.Ordinal)
                    || !folders.IsStagingAbandoned(intent.Staging))
                {
                    continue;
                }

                var published = TryRead(folders, folders.StepPath(intent.Step), intent.Step, out var unreadable);
                if (unreadable)
                {
                    // EIO, EACCES: the folder may hold the new version. Settling the intent now would roll
                    // back a published save (its row stays the old one) and sweep the only other version.
                    actions.Add($"left the unfinished save of step {intent.Step} for later: its folder could not be read");
                    continue;
                }

                FolderRead? staged = null;
                try
                {
                    if (published is { } p && p.Manifest.SaveId == intent.SaveId)
                    {
                        actions.Add($"indexed step {intent.Step}, published by a save that stopped before its index commit");
                        if (!dryRun)
                        {
                            // The rename that published it must be durable before the row says it is there.
                            DurableIo.FsyncDirectory(folders.Directory);
                            Index(index, p, intentToClear: intent.SaveId);
                        }
                    }
                    else if (published is null && !folders.StepExists(intent.Step) && index.Get(intent.Step) is not null
                        && (staged = TryRead(folders, folders.StagingPath(intent.Staging), intent.Step)) is { } complete && complete.Manifest.SaveId == intent.SaveId)
                    {
                        // Interrupted between the two renames of an overwrite where no atomic exchange exists:
                        // the step is indexed but its folder is gone, so the staged version must go in.
                        actions.Add($"published step {intent.Step}, interrupted in the middle of an overwrite");
                        if (!dryRun)
                        {
                            complete.Manifest.Dispose();
                            staged = null;
                            folders.Publish(folders.StagingPath(intent.Staging), intent.Step);
                            var again = Read(folders, folders.StepPath(intent.Step), intent.Step);
                            try
                            {
                                DurableIo.FsyncDirectory(folders.Directory);
                                Index(index, again, intentToClear: intent.SaveId);
                            }
                            finally
                            {
                                again.Manifest.Dispose();
                            }
                        }
                    }
                    else
                    {
                        actions.Add($"rolled back an unfinished save of step {intent.Step}");
                        if (!folders.StepExists(intent.Step) && PathLook.Directory(folders.DisplacedPath(intent.Staging)))
                        {
                            // An overwrite failed between its two renames and its new version is gone: the old
                            // version is where the intent says it was parked; it goes back under the number.
                            actions.Add($"restored the previous version of step {intent.Step}, displaced by an overwrite that did not finish");
                            if (!dryRun)
                            {
                                folders.RestoreDisplaced(intent.Staging, intent.Step);
                            }
                        }

                        if (!dryRun)
                        {
                            index.RemoveIntent(intent.SaveId);
                        }
                    }
                }
                finally
                {
                    published?.Manifest.Dispose();
                    staged?.Manifest.Dispose();
                }
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
                    if (TryRead(folders, folders.StepPath(intent.Step), intent.Step, out var unreadable) is { } doomed)
                    {
                        doomed.Manifest.Dispose();
                        // A step listed again under the same save (an older engine's repair) is kept, never emptied.
                        if (doomed.Manifest.SaveId == intent.SaveId && index.Get(intent.Step)?.SaveId != intent.SaveId)
                        {
                            folders.MoveToTrash(intent.Step, intent.SaveId);
                        }
                    }

                    if (unreadable)
                    {
                        // The folder may still be the removed step's: keep the intent, or repair lists it again.
                        actions.Add($"left the removal of step {intent.Step} for later: its folder could not be read");
                        continue;
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

        var live = index.Intents().Where(i => i.Staging is not null && IsWellFormed(i)).Select(i => i.Staging!).ToHashSet(StringComparer.Ordinal);
        actions.AddRange(folders.SweepStaging(dryRun, keep: live.Contains).Select(s => $"removed leftover {s}"));
        actions.AddRange(folders.SweepTrash(dryRun, keep: ParkedByUnsettledSaves(index)).Select(s => $"removed leftover {s}"));
        return actions;
    }

    /// <summary>
    /// Trash entries a sweep must keep: old versions parked by two-rename overwrites whose save intent is
    /// still recorded (its owner may still be failing, or recovery has yet to restore or drop them).
    /// </summary>
    internal static Func<string, bool> ParkedByUnsettledSaves(StepIndex index)
    {
        var parked = index.SaveIntents().Where(IsWellFormed)
            .Select(i => i.Staging + StepFolders.DisplacedSuffix).ToHashSet(StringComparer.Ordinal);
        return parked.Contains;
    }

    /// <summary>
    /// An intent whose stored names have their exact shape: a save id of 32 hex digits, and for a save
    /// the staging name the reservation built from the step and that id (a delete names no folder).
    /// </summary>
    internal static bool IsWellFormed(Intent intent) => StoredNames.IsSaveId(intent.SaveId) && intent.Step >= 0 && intent.Op switch
    {
        "save" => intent.Staging is not null && string.Equals(intent.Staging, StoredNames.StagingName(intent.Step, intent.SaveId), StringComparison.Ordinal),
        "delete" => intent.Staging is null,
        _ => false,
    };

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
        // A save id names one save, and a removal's intent is keyed by it: two listed steps with one id
        // (a folder copied and renumbered, or planted) would make every removal of both refuse. The first
        // folder in step order keeps the id; a later one is left in place, unlisted, as a problem.
        var listedIds = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var step in folders.ListStepFolders())
        {
            var indexing = false;
            StepManifest? manifest = null;
            try
            {
                // A listed step is usually listed as it is (its row matches): its items are checked, not made, and made
                // by the indexing below only when it is indexed after all. A dry run indexes nothing.
                var read = Read(folders, folders.StepPath(step), step, deriveItems: !dryRun && !rows.ContainsKey(step));
                manifest = read.Manifest;
                if (removing.Contains((step, manifest.SaveId)))
                {
                    problems.Add($"step {step}: its removal has not finished (the folder could not be moved to {StepFolders.TrashFolder}); it is not listed, and the next write retries the removal");
                    continue;
                }

                if (!listedIds.TryAdd(manifest.SaveId, step))
                {
                    problems.Add($"step {step}: its save id {manifest.SaveId} is also step {listedIds[manifest.SaveId]}'s (was the folder copied?); the folder was left in place and is not listed");
                    continue;
                }

                valid.Add(step);
                if (manifest.NewerFormat is { } newer)
                {
                    problems.Add($"step {step}: {newer.Message}; it is kept and listed, and a newer DataraxCkpt restores it");
                }
                if (!rows.TryGetValue(step, out var row) || row.ManifestHash != read.ManifestHash || row.SaveId != manifest.SaveId)
                {
                    added.Add(step);
                    if (!dryRun)
                    {
                        // The index's own failure (a write the disk failed) is not this folder's: it fails the repair,
                        // or a rebuild would rename in an index without a whole step (found by the attack on session 18).
                        indexing = true;
                        Index(index, read, intentToClear: null);
                        FaultInjector.Hit("repair.step-indexed");
                        indexing = false;
                    }
                }
                else if (row.Pinned != folders.IsPinned(step) && !dryRun)
                {
                    indexing = true;
                    index.SetPinned(step, folders.IsPinned(step));
                    indexing = false;
                }
            }
            catch (Exception e) when (!indexing && IsTransient(e) && rows.ContainsKey(step))
            {
                // Permission denied, an I/O error: the folder may be fine. Dropping its row on a passing
                // failure would unlist a good step (and let retention forget a pin); keep it as it is.
                valid.Add(step);
                problems.Add($"step {step}: could not be read ({e.Message}); its row was kept, run repair again once the folder is readable");
            }
            catch (Exception e) when (!indexing && IsUnreadableFolder(e))
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

    /// <param name="folders">The directory's folders.</param>
    /// <param name="folder">The folder to read.</param>
    /// <param name="step">The step it must hold.</param>
    /// <param name="deriveItems">False: the state node is checked as deriving its items checks it, but the items are made
    /// only if the caller reads them (a repair's folder whose row matches is never indexed).</param>
    public static FolderRead Read(StepFolders folders, string folder, long step, bool deriveItems = true)
    {
        using var files = folders.OpenStep(folder);
        // A step of a newer format is read as far as its header, so it is indexed and kept, never dropped.
        var manifest = StepReader.ParseManifestFile(files.ManifestFile, files.DataLength, allowNewer: true);
        if (manifest.Step != step)
        {
            manifest.Dispose();
            throw new InvalidDataException($"the folder holds step {manifest.Step}, not step {step} (was it copied from elsewhere?)");
        }

        try
        {
            // Derived items (items-from-state) are read here, so a malformed state node makes the folder
            // unreadable, as a malformed items list does, instead of failing the index rebuild later.
            if (deriveItems)
            {
                _ = manifest.Items.Count;
            }
            else
            {
                manifest.CheckItems();
            }
        }
        catch
        {
            manifest.Dispose();
            throw;
        }

        return new FolderRead(manifest, StepWriter.ManifestHashOf(files.ManifestFile), files.DataLength + files.ManifestFile.Length,
            StepFolders.HasPinnedMarker(folder));
    }

    /// <summary>
    /// Failures that mean "this folder is not a valid step": the reader's own InvalidDataException, and
    /// the JSON and parsing exceptions a hostile manifest can raise before the validator names them
    /// (the same set a restore reports as corruption). Repair must list such a folder as a problem and
    /// go on, or one planted folder would block every repair and every index rebuild of the directory.
    /// </summary>
    internal static bool IsUnreadableFolder(Exception e) => e is InvalidDataException or IOException or UnauthorizedAccessException
        or FormatException or OverflowException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException;

    /// <summary>True when a step folder holds a step of a newer format, which retention must leave alone.</summary>
    public static bool IsNewerFormat(StepFolders folders, long step)
    {
        if (TryRead(folders, folders.StepPath(step), step) is not { } read)
        {
            return false;
        }

        using (read.Manifest)
        {
            return read.Manifest.NewerFormat is not null;
        }
    }

    /// <summary>
    /// Failures of reading, not of content: EACCES, EIO and the like. A missing file, a folder gone, a
    /// short read of a truncated file are answers about the folder, not transient.
    /// </summary>
    internal static bool IsTransient(Exception e) => e is UnauthorizedAccessException
        || (e is IOException && e is not EndOfStreamException and not FileNotFoundException and not DirectoryNotFoundException);

    private static FolderRead? TryRead(StepFolders folders, string folder, long step) => TryRead(folders, folder, step, out _);

    /// <param name="folders">The directory's folders.</param>
    /// <param name="folder">The folder to read.</param>
    /// <param name="step">The step it must hold.</param>
    /// <param name="unreadable">True when the read failed for a transient reason (<see cref="IsTransient"/>):
    /// null then says nothing about what the folder holds.</param>
    private static FolderRead? TryRead(StepFolders folders, string folder, long step, out bool unreadable)
    {
        unreadable = false;
        try
        {
            return Read(folders, folder, step);
        }
        catch (Exception e) when (IsUnreadableFolder(e))
        {
            unreadable = IsTransient(e);
            return null;
        }
    }

    internal static void Index(StepIndex index, FolderRead read, string? intentToClear)
    {
        var m = read.Manifest;
        var row = new StepRow(m.Step, m.SaveId, m.CreatedUtc, m.Size, read.StoredSize, m.Items.Count, m.MetadataJson, read.ManifestHash, read.Pinned);
        index.CommitStep(row, m.Items, item => item.TensorIndex >= 0 ? m.Tensors[item.TensorIndex].StoredLength : 0, intentToClear);
    }
}

