namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>What a recorded system call did to persistent state.</summary>
internal enum FsOpKind
{
    /// <summary>A new file's entry (open with O_CREAT of a missing name).</summary>
    Create,

    /// <summary>A new directory's entry.</summary>
    Mkdir,

    /// <summary>An entry removed (unlink, rmdir).</summary>
    Remove,

    /// <summary>An entry moved, replacing whatever the destination named (rename, renameat2 NOREPLACE).</summary>
    Rename,

    /// <summary>Two entries swapped (renameat2 RENAME_EXCHANGE).</summary>
    Exchange,

    /// <summary>A second entry for an existing inode (link).</summary>
    Link,

    /// <summary>Bytes written into a file at an offset.</summary>
    Write,

    /// <summary>A file's length set (ftruncate, O_TRUNC, fallocate growing it).</summary>
    Truncate,

    /// <summary>fsync/fdatasync of a file or directory: a barrier, not a change.</summary>
    Sync,
}

/// <summary>
/// One persistent-state operation of a trace, in the inode terms of <see cref="FsImage"/>. Entry
/// operations name the directory inode(s) they change; data operations the file inode. A crash state
/// keeps a subset of these and applies it to the pre-state in trace order.
/// </summary>
internal sealed record FsOp(int Seq, FsOpKind Kind, string Syscall)
{
    /// <summary>Directory of the (first) entry, or the file/directory of a data op or sync.</summary>
    public int Inode { get; init; } = -1;

    public string Name { get; init; } = string.Empty;

    /// <summary>The inode the entry names (created, moved, removed, linked).</summary>
    public int Target { get; init; } = -1;

    /// <summary>Whether <see cref="Target"/> is a directory.</summary>
    public bool TargetIsDirectory { get; init; }

    /// <summary>For rename/exchange/link: the second directory and name.</summary>
    public int Inode2 { get; init; } = -1;

    public string Name2 { get; init; } = string.Empty;

    /// <summary>For exchange: the inode the second entry named.</summary>
    public int Target2 { get; init; } = -1;

    public bool Target2IsDirectory { get; init; }

    public long Offset { get; init; }

    public byte[] Data { get; init; } = [];

    public long Length { get; init; }

    /// <summary>
    /// For a sync that strace showed unfinished: the number of operations that had returned when it began; only those
    /// are made durable by it (what another thread finished while it ran may or may not be). -1: every earlier operation.
    /// </summary>
    public int CoversBefore { get; init; } = -1;

    /// <summary>Whether this sync makes the operation at <paramref name="seq"/> (earlier in the trace) durable, as far as timing goes.</summary>
    public bool Covers(int seq) => Kind == FsOpKind.Sync && seq < Seq && (CoversBefore < 0 || seq < CoversBefore);

    public bool IsEntryOp => Kind is FsOpKind.Create or FsOpKind.Mkdir or FsOpKind.Remove or FsOpKind.Rename or FsOpKind.Exchange or FsOpKind.Link;

    /// <summary>
    /// The inodes whose fsync makes this operation durable: the file for data, the directory for a new
    /// or removed entry, the destination directory for a rename or a link (POSIX promises nothing for an
    /// fsync of the directory a rename left, although ext4 commits both sides in one journal
    /// transaction), and either directory for an exchange (a simplification: the engine exchanges only
    /// with a step folder in the checkpoint directory, which it fsyncs at once).
    /// </summary>
    public IEnumerable<int> DurableThrough()
    {
        switch (Kind)
        {
            case FsOpKind.Write or FsOpKind.Truncate:
                yield return Inode;
                break;
            case FsOpKind.Exchange:
                yield return Inode;
                yield return Inode2;
                break;
            case FsOpKind.Rename or FsOpKind.Link:
                yield return Inode2;
                break;
            case FsOpKind.Sync:
                break;
            default:
                yield return Inode;
                break;
        }
    }

    public override string ToString() => $"#{Seq} {Syscall}";
}
