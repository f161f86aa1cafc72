namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>
/// Builds a crash state: the pre-state image with the kept operations applied in trace order, then
/// written into a scratch folder. An operation is applied to inodes, not paths, so a lost entry
/// operation leaves its inode unreachable (its data is on disk but no name leads to it) and a kept
/// rename moves a directory with whatever entries that directory's inode has in this state.
/// </summary>
internal static class StateMaterialiser
{
    /// <param name="pre">The state before the operations.</param>
    /// <param name="ops">The operations, in trace order.</param>
    /// <param name="kept">Whether an operation reached the disk.</param>
    /// <param name="removalOnly">For an operation that did not: whether its removal of the old entry did (a rename whose source directory was fsynced).</param>
    public static FsImage Build(FsImage pre, IReadOnlyList<FsOp> ops, Func<FsOp, bool> kept, Func<FsOp, bool>? removalOnly = null)
    {
        var image = pre.Clone();
        foreach (var op in ops)
        {
            if (op.Kind == FsOpKind.Sync)
            {
                continue;
            }

            if (kept(op))
            {
                Apply(image, op);
            }
            else if (op.Kind == FsOpKind.Rename && removalOnly?.Invoke(op) == true
                && Dir(image, op.Inode).Entries.TryGetValue(op.Name, out var moved) && moved == op.Target)
            {
                Dir(image, op.Inode).Entries.Remove(op.Name);
            }
        }

        return image;
    }

    /// <summary>Applies one operation. The trace parser applies every operation to its live image with this too.</summary>
    public static void Apply(FsImage image, FsOp op)
    {
        switch (op.Kind)
        {
            case FsOpKind.Create or FsOpKind.Mkdir:
                image.Ensure(op.Target, op.TargetIsDirectory);
                Dir(image, op.Inode).Entries[op.Name] = op.Target;
                break;
            case FsOpKind.Remove:
                if (Dir(image, op.Inode).Entries.TryGetValue(op.Name, out var current) && current == op.Target)
                {
                    Dir(image, op.Inode).Entries.Remove(op.Name);
                }

                break;
            case FsOpKind.Rename:
                image.Ensure(op.Target, op.TargetIsDirectory);
                if (Dir(image, op.Inode).Entries.TryGetValue(op.Name, out var moved) && moved == op.Target)
                {
                    Dir(image, op.Inode).Entries.Remove(op.Name);
                }

                Dir(image, op.Inode2).Entries[op.Name2] = op.Target;
                break;
            case FsOpKind.Exchange:
                image.Ensure(op.Target, op.TargetIsDirectory);
                image.Ensure(op.Target2, op.Target2IsDirectory);
                Dir(image, op.Inode).Entries[op.Name] = op.Target2;
                Dir(image, op.Inode2).Entries[op.Name2] = op.Target;
                break;
            case FsOpKind.Link:
                image.Ensure(op.Target, isDirectory: false);
                Dir(image, op.Inode2).Entries[op.Name2] = op.Target;
                break;
            case FsOpKind.Write:
            {
                image.Ensure(op.Inode, isDirectory: false);
                var node = image[op.Inode];
                var end = op.Offset + op.Data.Length;
                var content = new byte[Math.Max(node.Content.Length, end)];
                node.Content.CopyTo(content, 0);
                op.Data.CopyTo(content, op.Offset);
                node.Content = content;
                break;
            }

            case FsOpKind.Truncate:
            {
                image.Ensure(op.Inode, isDirectory: false);
                var node = image[op.Inode];
                var content = new byte[op.Length];
                Array.Copy(node.Content, content, Math.Min(node.Content.Length, op.Length));
                node.Content = content;
                break;
            }

            case FsOpKind.Sync:
                break;
        }
    }

    private static FsInode Dir(FsImage image, int inode)
    {
        // A directory whose own creation was lost still receives entries (orphaned with it).
        image.Ensure(inode, isDirectory: true);
        return image[inode];
    }
}
