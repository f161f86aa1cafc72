using System.Globalization;
using System.Text;

namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>
/// Turns an <c>strace -f -y -x -s N</c> log into the persistent-state operations on one directory
/// tree, in the order the calls returned. It replays them on a live copy of the pre-state image to
/// know which inode each path and file descriptor names; calls outside the directory are ignored, and
/// only successful calls count. The bytes of every write are taken from the trace itself (strace
/// prints the whole buffer; a truncated buffer is an error), so files written, overwritten and deleted
/// within one operation, like SQLite's WAL, are modelled exactly.
/// </summary>
internal sealed class TraceParser
{
    private readonly string _root;
    private readonly FsImage _live;
    private readonly Dictionary<int, OpenFile> _fds = new();
    /// <summary>
    /// Each thread's call strace printed as unfinished: its head, how many operations had been emitted when it began,
    /// and for a call on a descriptor the open file the descriptor named then (a write or fsync holds its file even if
    /// another thread closes the number and an open gets it back before the return is printed).
    /// </summary>
    private readonly Dictionary<string, (string Head, int StartedAt, bool OnDescriptor, OpenFile? File)> _unfinished = new(StringComparer.Ordinal);

    /// <summary>Calls whose first argument is a descriptor the parser looks up.</summary>
    private static readonly HashSet<string> DescriptorCalls = new(StringComparer.Ordinal)
    {
        "write", "pwrite64", "writev", "pwritev", "pwritev2", "lseek", "ftruncate", "fallocate", "fsync", "fdatasync",
    };

    /// <summary>For a resumed call on a descriptor: whether <see cref="_startedFile"/> holds what the descriptor named when it began.</summary>
    private bool _startedOnDescriptor;

    private OpenFile? _startedFile;
    private readonly List<FsOp> _ops = new();

    /// <summary>For the call being applied: the number of operations emitted before it began (its unfinished line), or -1 when it began where it returned.</summary>
    private int _startedAt = -1;

    private TraceParser(string root, FsImage pre)
    {
        _root = root.TrimEnd('/');
        _live = pre.Clone();
    }

    /// <summary>The operations the traced process performed under <paramref name="root"/>, starting from <paramref name="pre"/>.</summary>
    public static List<FsOp> Parse(string root, FsImage pre, IEnumerable<string> lines)
    {
        var parser = new TraceParser(root, pre);
        foreach (var line in lines)
        {
            parser.Line(line);
        }

        return parser._ops;
    }

    private sealed class OpenFile
    {
        public required int Inode { get; init; }

        public required string Path { get; init; }

        public long Position { get; set; }
    }

    private void Line(string raw)
    {
        var space = raw.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0)
        {
            return;
        }

        var pid = raw[..space];
        var line = raw[(space + 1)..].TrimStart();
        const string Unfinished = " <unfinished ...>";
        const string Close = "close(";
        if (line.EndsWith(Unfinished, StringComparison.Ordinal))
        {
            var started = line[..^Unfinished.Length];
            if (started.StartsWith(Close, StringComparison.Ordinal))
            {
                // The kernel frees the descriptor as the close begins, so another thread's open may return the same
                // number before this close returns: forgetting it at the return would forget that thread's file.
                _fds.Remove(Fd(started[Close.Length..]));
            }

            if (_unfinished.TryGetValue(pid, out var pending))
            {
                // strace prints a thread's return before its next call: a second head means a return went missing.
                throw new InvalidDataException($"thread {pid} began '{Head(started)}' while its '{Head(pending.Head)}' had not returned in the trace: the model cannot tell whether that call happened");
            }

            var onDescriptor = DescriptorCalls.Contains(Head(started));
            var file = onDescriptor && _fds.TryGetValue(Fd(started[(started.IndexOf('(', StringComparison.Ordinal) + 1)..]), out var named) ? named : null;
            _unfinished[pid] = (started, _ops.Count, onDescriptor, file);
            return;
        }

        if (line.StartsWith("<... ", StringComparison.Ordinal))
        {
            var resumed = line.IndexOf(" resumed>", StringComparison.Ordinal);
            if (resumed < 0 || !_unfinished.Remove(pid, out var pending))
            {
                return;
            }

            var resumedName = line["<... ".Length..resumed];
            if (resumedName != Head(pending.Head))
            {
                throw new InvalidDataException($"thread {pid} resumed '{resumedName}' while its unfinished call was '{Head(pending.Head)}': the trace lost a return, and the model cannot tell which call happened");
            }

            if (pending.Head.StartsWith(Close, StringComparison.Ordinal))
            {
                return;
            }

            line = pending.Head + line[(resumed + " resumed>".Length)..];
            _startedAt = pending.StartedAt;
            _startedOnDescriptor = pending.OnDescriptor;
            _startedFile = pending.File;
        }

        var open = line.IndexOf('(', StringComparison.Ordinal);
        if (open <= 0 || line.StartsWith("---", StringComparison.Ordinal) || line.StartsWith("+++", StringComparison.Ordinal))
        {
            return;
        }

        var name = line[..open];
        var (args, rest) = SplitArguments(line, open + 1);
        var equals = rest.IndexOf("= ", StringComparison.Ordinal);
        if (equals < 0)
        {
            return;
        }

        var retText = rest[(equals + 2)..];
        var retEnd = 0;
        while (retEnd < retText.Length && (char.IsAsciiDigit(retText[retEnd]) || (retEnd == 0 && retText[0] == '-')))
        {
            retEnd++;
        }

        if (retEnd == 0 || !long.TryParse(retText[..retEnd], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ret) || ret < 0)
        {
            return;
        }

        try
        {
            Call(name, args, ret);
        }
        finally
        {
            _startedAt = -1;
            _startedOnDescriptor = false;
            _startedFile = null;
        }
    }

    /// <summary>The call name of a line's head ("fsync" of "fsync(5&lt;/a&gt;").</summary>
    private static string Head(string head)
    {
        var open = head.IndexOf('(', StringComparison.Ordinal);
        return open < 0 ? head : head[..open];
    }

    private void Call(string name, List<string> a, long ret)
    {
        switch (name)
        {
            case "openat":
                Open(Resolve(a[0], Text(a[1])), a[2], (int)ret);
                break;
            case "open":
                Open(Resolve("AT_FDCWD", Text(a[0])), a[1], (int)ret);
                break;
            case "creat":
                Open(Resolve("AT_FDCWD", Text(a[0])), "O_CREAT|O_WRONLY|O_TRUNC", (int)ret);
                break;
            case "close":
                _fds.Remove(Fd(a[0]));
                break;
            case "write":
                WriteAt(a[0], null, Str(a[1]), ret);
                break;
            case "pwrite64":
                WriteAt(a[0], long.Parse(a[3], CultureInfo.InvariantCulture), Str(a[1]), ret);
                break;
            case "writev":
                WriteAt(a[0], null, Iov(a[1]), ret);
                break;
            case "pwritev" or "pwritev2":
                WriteAt(a[0], long.Parse(a[3], CultureInfo.InvariantCulture), Iov(a[1]), ret);
                break;
            case "lseek":
                if (Tracked(a[0]) is { } sought)
                {
                    sought.Position = ret;
                }

                break;
            case "ftruncate":
                if (Tracked(a[0]) is { } cut)
                {
                    Emit(new FsOp(0, FsOpKind.Truncate, $"ftruncate({cut.Path}, {a[1]})") { Inode = cut.Inode, Length = long.Parse(a[1], CultureInfo.InvariantCulture) });
                }

                break;
            case "truncate":
                if (Resolve("AT_FDCWD", Text(a[0])) is { } truncated && _live.Resolve(truncated) is { } ti)
                {
                    Emit(new FsOp(0, FsOpKind.Truncate, $"truncate({truncated}, {a[1]})") { Inode = ti, Length = long.Parse(a[1], CultureInfo.InvariantCulture) });
                }

                break;
            case "fallocate":
                if (Tracked(a[0]) is { } grown && a[1] == "0")
                {
                    var end = long.Parse(a[2], CultureInfo.InvariantCulture) + long.Parse(a[3], CultureInfo.InvariantCulture);
                    if (end > _live[grown.Inode].Content.Length)
                    {
                        Emit(new FsOp(0, FsOpKind.Truncate, $"fallocate({grown.Path}, {end})") { Inode = grown.Inode, Length = end });
                    }
                }

                break;
            case "fsync" or "fdatasync":
                if (Tracked(a[0]) is { } synced)
                {
                    // An fsync covers what had returned before it began, not what another thread finished while it ran.
                    Emit(new FsOp(0, FsOpKind.Sync, $"{name}({Show(synced.Path)})") { Inode = synced.Inode, CoversBefore = _startedAt });
                }

                break;
            case "rename":
                Move(Resolve("AT_FDCWD", Text(a[0])), Resolve("AT_FDCWD", Text(a[1])), "0");
                break;
            case "renameat":
                Move(Resolve(a[0], Text(a[1])), Resolve(a[2], Text(a[3])), "0");
                break;
            case "renameat2":
                Move(Resolve(a[0], Text(a[1])), Resolve(a[2], Text(a[3])), a[4]);
                break;
            case "unlink" or "rmdir":
                Unlink(Resolve("AT_FDCWD", Text(a[0])), name);
                break;
            case "unlinkat":
                Unlink(Resolve(a[0], Text(a[1])), name);
                break;
            case "mkdir":
                Mkdir(Resolve("AT_FDCWD", Text(a[0])));
                break;
            case "mkdirat":
                Mkdir(Resolve(a[0], Text(a[1])));
                break;
            case "link":
                Link(Resolve("AT_FDCWD", Text(a[0])), Resolve("AT_FDCWD", Text(a[1])));
                break;
            case "linkat":
                Link(Resolve(a[0], Text(a[1])), Resolve(a[2], Text(a[3])));
                break;
            case "symlink" or "symlinkat":
                if (Resolve(name == "symlink" ? "AT_FDCWD" : a[1], Text(a[^1])) is not null)
                {
                    throw new NotSupportedException($"the traced operation created a symbolic link in the checkpoint directory; the explorer does not model links: {name}");
                }

                break;
        }
    }

    private void Emit(FsOp op)
    {
        op = op with { Seq = _ops.Count };
        StateMaterialiser.Apply(_live, op);
        _ops.Add(op);
    }

    private void Open(string? path, string flags, int fd)
    {
        if (path is null)
        {
            // A file outside the directory (or the -shm) now has this number; a close the trace did not show
            // (dup2, close_range) must not leave the number charged to a file inside.
            _fds.Remove(fd);
            return;
        }

        var inode = _live.Resolve(path);
        if (inode is null)
        {
            if (!flags.Contains("O_CREAT", StringComparison.Ordinal))
            {
                throw new InvalidDataException($"the trace opens '{path}', which the replayed state does not have");
            }

            var (parent, leaf) = Parent(path);
            var created = NewInode(isDirectory: false);
            Emit(new FsOp(0, FsOpKind.Create, $"creat({Show(path)})") { Inode = parent, Name = leaf, Target = created });
            inode = created;
        }
        else if (flags.Contains("O_TRUNC", StringComparison.Ordinal) && !_live[inode.Value].IsDirectory && _live[inode.Value].Content.Length > 0)
        {
            Emit(new FsOp(0, FsOpKind.Truncate, $"open({Show(path)}, O_TRUNC)") { Inode = inode.Value, Length = 0 });
        }

        _fds[fd] = new OpenFile
        {
            Inode = inode.Value,
            Path = path,
            Position = flags.Contains("O_APPEND", StringComparison.Ordinal) ? _live[inode.Value].Content.Length : 0,
        };
    }

    private void WriteAt(string fdArg, long? offset, byte[] data, long written)
    {
        if (Tracked(fdArg) is not { } file)
        {
            return;
        }

        var at = offset ?? file.Position;
        var bytes = data.AsSpan(0, (int)Math.Min(written, data.Length)).ToArray();
        if (bytes.Length != written)
        {
            throw new InvalidDataException($"strace printed {data.Length} of the {written} bytes written to '{file.Path}'; raise its -s limit");
        }

        if (offset is null)
        {
            file.Position += written;
        }

        Emit(new FsOp(0, FsOpKind.Write, $"{(offset is null ? "write" : "pwrite64")}({Show(file.Path)}, {written} bytes at {at})")
        {
            Inode = file.Inode,
            Offset = at,
            Data = bytes,
        });
    }

    /// <summary>
    /// The open file a descriptor argument names, or null for one outside the directory. A descriptor whose path
    /// (strace's -y annotation) is inside the directory but which the parser does not know is an error: the model
    /// would silently leave its write or fsync out and blame the engine for the crash states that follow.
    /// </summary>
    private OpenFile? Tracked(string fdArg)
    {
        // A call strace showed unfinished uses the file its descriptor named when it began.
        var file = _startedOnDescriptor ? _startedFile : _fds.GetValueOrDefault(Fd(fdArg));
        if (file is not null)
        {
            return file;
        }

        var lt = fdArg.IndexOf('<', StringComparison.Ordinal);
        if (lt >= 0 && fdArg.EndsWith('>'))
        {
            var path = fdArg[(lt + 1)..^1];
            const string Deleted = " (deleted)";
            if (path.EndsWith(Deleted, StringComparison.Ordinal))
            {
                // strace -y marks a descriptor whose file was unlinked.
                path = path[..^Deleted.Length];
            }

            // SQLite's -shm file is left out of the model on purpose (FsImage.IsVolatile).
            if ((path == _root || path.StartsWith(_root + "/", StringComparison.Ordinal)) && !FsImage.IsVolatile(path))
            {
                throw new InvalidDataException($"the trace uses descriptor {fdArg}, inside the traced directory, which the parser does not know of: the crash model would leave the call out");
            }
        }

        return null;
    }

    private void Move(string? from, string? to, string flags)
    {
        if (from is null && to is null)
        {
            return;
        }

        if (from is null || to is null)
        {
            throw new NotSupportedException($"a rename crosses the checkpoint directory's boundary ({from ?? "outside"} → {to ?? "outside"}); the explorer models only the directory itself");
        }

        var target = _live.Resolve(from) ?? throw new InvalidDataException($"the trace renames '{from}', which the replayed state does not have");
        var (p1, n1) = Parent(from);
        var (p2, n2) = Parent(to);
        if (flags.Contains("RENAME_EXCHANGE", StringComparison.Ordinal))
        {
            var other = _live.Resolve(to) ?? throw new InvalidDataException($"the trace exchanges '{to}', which the replayed state does not have");
            Emit(new FsOp(0, FsOpKind.Exchange, $"renameat2({Show(from)}, {Show(to)}, RENAME_EXCHANGE)")
            {
                Inode = p1, Name = n1, Target = target, TargetIsDirectory = _live[target].IsDirectory,
                Inode2 = p2, Name2 = n2, Target2 = other, Target2IsDirectory = _live[other].IsDirectory,
            });
        }
        else
        {
            Emit(new FsOp(0, FsOpKind.Rename, $"rename({Show(from)}, {Show(to)})")
            {
                Inode = p1, Name = n1, Target = target, TargetIsDirectory = _live[target].IsDirectory, Inode2 = p2, Name2 = n2,
            });
        }
    }

    private void Unlink(string? path, string call)
    {
        if (path is null)
        {
            return;
        }

        var (parent, leaf) = Parent(path);
        if (_live.Resolve(path) is { } target)
        {
            Emit(new FsOp(0, FsOpKind.Remove, $"{call}({Show(path)})") { Inode = parent, Name = leaf, Target = target });
        }
        else if (!FsImage.IsVolatile(leaf))
        {
            throw new InvalidDataException($"the trace removes '{path}', which the replayed state does not have");
        }
    }

    private void Mkdir(string? path)
    {
        if (path is null)
        {
            return;
        }

        var (parent, leaf) = Parent(path);
        Emit(new FsOp(0, FsOpKind.Mkdir, $"mkdir({Show(path)})") { Inode = parent, Name = leaf, Target = NewInode(isDirectory: true), TargetIsDirectory = true });
    }

    private void Link(string? from, string? to)
    {
        if (from is null && to is null)
        {
            return;
        }

        if (from is null || to is null)
        {
            throw new NotSupportedException("a link crosses the checkpoint directory's boundary; the explorer models only the directory itself");
        }

        var target = _live.Resolve(from) ?? throw new InvalidDataException($"the trace links '{from}', which the replayed state does not have");
        var (p2, n2) = Parent(to);
        Emit(new FsOp(0, FsOpKind.Link, $"link({Show(from)}, {Show(to)})") { Target = target, Inode2 = p2, Name2 = n2 });
    }

    private int NewInode(bool isDirectory) => isDirectory ? _live.NewDirectory() : _live.NewFile();

    private (int Parent, string Leaf) Parent(string relative)
    {
        var slash = relative.LastIndexOf('/');
        var parentPath = slash < 0 ? string.Empty : relative[..slash];
        var parent = _live.Resolve(parentPath) ?? throw new InvalidDataException($"the parent of '{relative}' is missing from the replayed state");
        return (parent, slash < 0 ? relative : relative[(slash + 1)..]);
    }

    /// <summary>A path relative to the root ("" for the root itself), or null when it lies outside; volatile files count as outside.</summary>
    private string? Resolve(string dirArg, string path)
    {
        string absolute;
        if (path.StartsWith('/'))
        {
            absolute = path;
        }
        else
        {
            var lt = dirArg.IndexOf('<', StringComparison.Ordinal);
            if (lt < 0 || !dirArg.EndsWith('>'))
            {
                throw new InvalidDataException($"strace gave no path for the directory argument '{dirArg}' (is -y set?)");
            }

            absolute = dirArg[(lt + 1)..^1] + "/" + path;
        }

        absolute = absolute.TrimEnd('/');
        if (absolute == _root)
        {
            return string.Empty;
        }

        if (!absolute.StartsWith(_root + "/", StringComparison.Ordinal))
        {
            return null;
        }

        var relative = absolute[(_root.Length + 1)..];
        return FsImage.IsVolatile(relative) ? null : relative;
    }

    private static string Show(string relative) => relative.Length == 0 ? "." : relative;

    private static int Fd(string arg)
    {
        var lt = arg.IndexOf('<', StringComparison.Ordinal);
        return int.TryParse(lt < 0 ? arg : arg[..lt], NumberStyles.Integer, CultureInfo.InvariantCulture, out var fd) ? fd : -1;
    }

    /// <summary>The data of an iovec array: its quoted buffers, concatenated.</summary>
    private static byte[] Iov(string arg)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < arg.Length; i++)
        {
            if (arg[i] == '"')
            {
                var end = QuotedEnd(arg, i);
                bytes.AddRange(Str(arg[i..(end + 1)]));
                i = end;
            }
        }

        return bytes.ToArray();
    }

    /// <summary>Decodes a C string as strace prints it (\xNN, octal, \n …); a trailing "..." means strace cut it.</summary>
    private static byte[] Str(string arg)
    {
        arg = arg.Trim();
        if (arg.Length < 2 || arg[0] != '"')
        {
            throw new InvalidDataException($"expected a quoted string in the trace, found {arg[..Math.Min(arg.Length, 40)]}");
        }

        var end = QuotedEnd(arg, 0);
        if (arg.Length > end + 1 && arg[(end + 1)..].StartsWith("...", StringComparison.Ordinal))
        {
            throw new InvalidDataException("strace truncated a string argument; raise its -s limit");
        }

        var bytes = new List<byte>(end);
        for (var i = 1; i < end; i++)
        {
            var c = arg[i];
            if (c != '\\')
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
                continue;
            }

            var e = arg[++i];
            switch (e)
            {
                case 'x':
                    bytes.Add(byte.Parse(arg.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 2;
                    break;
                case >= '0' and <= '7':
                    var n = 0;
                    var digits = 0;
                    while (digits < 3 && i < end && arg[i] is >= '0' and <= '7')
                    {
                        n = (n * 8) + (arg[i] - '0');
                        i++;
                        digits++;
                    }

                    i--;
                    bytes.Add((byte)n);
                    break;
                case 'n': bytes.Add(10); break;
                case 't': bytes.Add(9); break;
                case 'r': bytes.Add(13); break;
                case 'v': bytes.Add(11); break;
                case 'f': bytes.Add(12); break;
                case 'a': bytes.Add(7); break;
                case 'b': bytes.Add(8); break;
                default: bytes.Add((byte)e); break;
            }
        }

        return bytes.ToArray();
    }

    private static string Text(string arg) => Encoding.UTF8.GetString(Str(arg));

    private static int QuotedEnd(string s, int start)
    {
        for (var i = start + 1; i < s.Length; i++)
        {
            if (s[i] == '\\')
            {
                i++;
            }
            else if (s[i] == '"')
            {
                return i;
            }
        }

        throw new InvalidDataException("unterminated string in the trace");
    }

    /// <summary>Splits "a, b, [c, d], {e}) = 3" at top-level commas; returns the arguments and what follows the closing parenthesis.</summary>
    private static (List<string> Args, string After) SplitArguments(string line, int start)
    {
        var args = new List<string>();
        var depth = 0;
        var begin = start;
        for (var i = start; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '"')
            {
                i = QuotedEnd(line, i);
            }
            else if (c is '(' or '[' or '{' or '<')
            {
                depth++;
            }
            else if (c is ']' or '}' or '>')
            {
                depth--;
            }
            else if (c == ')' && depth == 0)
            {
                if (i > begin || args.Count > 0)
                {
                    args.Add(line[begin..i].Trim());
                }

                return (args, line[(i + 1)..]);
            }
            else if (c == ')')
            {
                depth--;
            }
            else if (c == ',' && depth == 0)
            {
                args.Add(line[begin..i].Trim());
                begin = i + 1;
            }
        }

        return (args, string.Empty);
    }
}
