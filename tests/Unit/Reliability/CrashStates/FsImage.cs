using System.Security.Cryptography;
using System.Text;

namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>
/// An in-memory image of a checkpoint directory as a file system holds it: inodes (files with their
/// bytes, directories with their entries) and a root. Crash states are built on it, because a renamed
/// folder keeps its inode and therefore its entries, and a file whose entry was lost keeps its data on
/// disk but is unreachable. SQLite's <c>-shm</c> file is left out: it is shared memory that SQLite
/// rebuilds from the WAL whenever the first connection opens after a crash.
/// </summary>
internal sealed class FsImage
{
    private readonly Dictionary<int, FsInode> _inodes = new();
    private int _next;

    private FsImage()
    {
    }

    public int Root { get; private set; }

    public static bool IsVolatile(string name) => name.EndsWith("-shm", StringComparison.Ordinal);

    /// <summary>Reads a directory tree from disk (symbolic links are not followed).</summary>
    public static FsImage Read(string directory)
    {
        var image = new FsImage();
        image.Root = image.NewDirectory();
        image.ReadInto(image.Root, directory);
        return image;
    }

    private void ReadInto(int dir, string path)
    {
        foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos())
        {
            if (IsVolatile(entry.Name))
            {
                continue;
            }

            if (entry is DirectoryInfo sub)
            {
                var child = NewDirectory();
                this[dir].Entries[entry.Name] = child;
                ReadInto(child, sub.FullName);
            }
            else
            {
                var child = NewFile();
                this[child].Content = File.ReadAllBytes(entry.FullName);
                this[dir].Entries[entry.Name] = child;
            }
        }
    }

    public FsInode this[int inode] => _inodes[inode];

    public bool Has(int inode) => _inodes.ContainsKey(inode);

    public int NewDirectory() => Add(new FsInode(isDirectory: true));

    public int NewFile() => Add(new FsInode(isDirectory: false));

    /// <summary>Adds an inode under a number the trace parser chose (so every copy agrees on numbers).</summary>
    public void Ensure(int inode, bool isDirectory)
    {
        if (!_inodes.ContainsKey(inode))
        {
            _inodes[inode] = new FsInode(isDirectory);
            _next = Math.Max(_next, inode + 1);
        }
    }

    private int Add(FsInode node)
    {
        var id = _next++;
        _inodes[id] = node;
        return id;
    }

    /// <summary>The inode at a path relative to the root ("" is the root), or null.</summary>
    public int? Resolve(string relative)
    {
        var at = Root;
        foreach (var part in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!this[at].IsDirectory || !this[at].Entries.TryGetValue(part, out var child))
            {
                return null;
            }

            at = child;
        }

        return at;
    }

    public FsImage Clone()
    {
        var copy = new FsImage { Root = Root, _next = _next };
        foreach (var (id, node) in _inodes)
        {
            copy._inodes[id] = node.Clone();
        }

        return copy;
    }

    /// <summary>Writes the tree reachable from the root into an empty or missing folder.</summary>
    public void WriteTo(string directory) => WriteInto(Root, directory);

    private void WriteInto(int dir, string path)
    {
        Directory.CreateDirectory(path);
        foreach (var (name, child) in this[dir].Entries)
        {
            var target = Path.Combine(path, name);
            if (this[child].IsDirectory)
            {
                WriteInto(child, target);
            }
            else
            {
                File.WriteAllBytes(target, this[child].Content);
            }
        }
    }

    /// <summary>A hash of the reachable tree (names, kinds, contents): two states with the same hash look the same to the engine.</summary>
    public string TreeHash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        HashInto(sha, Root, string.Empty);
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    private void HashInto(IncrementalHash sha, int dir, string prefix)
    {
        foreach (var (name, child) in this[dir].Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var path = prefix + "/" + name;
            if (this[child].IsDirectory)
            {
                sha.AppendData(Encoding.UTF8.GetBytes("D" + path + "\0"));
                HashInto(sha, child, path);
            }
            else
            {
                sha.AppendData(Encoding.UTF8.GetBytes("F" + path + "\0" + this[child].Content.Length + "\0"));
                sha.AppendData(SHA256.HashData(this[child].Content));
            }
        }
    }

    /// <summary>Every reachable path with a short description, for reports.</summary>
    public IEnumerable<string> Describe()
    {
        var stack = new Stack<(int Dir, string Prefix)>();
        stack.Push((Root, string.Empty));
        while (stack.Count > 0)
        {
            var (dir, prefix) = stack.Pop();
            foreach (var (name, child) in this[dir].Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                var path = prefix.Length == 0 ? name : prefix + "/" + name;
                if (this[child].IsDirectory)
                {
                    yield return path + "/";
                    stack.Push((child, path));
                }
                else
                {
                    yield return $"{path} ({this[child].Content.Length} bytes)";
                }
            }
        }
    }
}

/// <summary>A file (its bytes) or a directory (its entries: name → inode).</summary>
internal sealed class FsInode
{
    public FsInode(bool isDirectory) => IsDirectory = isDirectory;

    public bool IsDirectory { get; }

    public Dictionary<string, int> Entries { get; } = new(StringComparer.Ordinal);

    public byte[] Content { get; set; } = [];

    public FsInode Clone()
    {
        var copy = new FsInode(IsDirectory) { Content = Content };
        foreach (var (name, child) in Entries)
        {
            copy.Entries[name] = child;
        }

        return copy;
    }
}
