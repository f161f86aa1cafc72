using System.Globalization;
using System.Text;
using DataraxCkpt.Values;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace DataraxCkpt.Storage;

/// <summary>A step's row in the index.</summary>
internal sealed record StepRow(long Step, string SaveId, DateTimeOffset CreatedUtc, long Size, long StoredSize,
    int ItemCount, string MetadataJson, string ManifestHash, bool Pinned);

/// <summary>An unfinished operation recorded before it touches the folders, so recovery can finish it.</summary>
/// <param name="SaveId">Identifies the save (or the step version being deleted).</param>
/// <param name="Op"><c>save</c> or <c>delete</c>.</param>
/// <param name="Step">The step concerned.</param>
/// <param name="Staging">For a save, the staging folder's name.</param>
internal sealed record Intent(string SaveId, string Op, long Step, string? Staging);

/// <summary>
/// The SQLite index of a checkpoint directory (<c>index.sqlite</c>, WAL, synchronous=FULL): the
/// committed steps, their leaves, and the intents of unfinished operations. A step is visible to
/// readers exactly when its row is. SQLite's own corruption errors, and an item list that does not
/// decode, surface as <see cref="CorruptCheckpointException"/> naming the index.
/// </summary>
/// <remarks>
/// Schema versions 2 and 3 keep a step's leaves as one blob (<see cref="ItemListCodec"/>: layout 1 only in
/// version 2, layout 1 or 2 in version 3); version 1 kept a row per leaf. A version-1 or version-2 index is
/// read as it is, and upgraded (in one transaction) only when it is opened to be written with <c>upgrade</c>
/// set: docs/format.md §4.
/// </remarks>
internal sealed partial class StepIndex : IDisposable
{
    public const string FileName = "index.sqlite";
    private const int SchemaVersion = 3;

    /// <summary>The schema of a blob per step whose blobs are all layout 1 (an older engine's); its upgrade to 3 changes only the version.</summary>
    private const int RowLayoutVersion = 2;

    /// <summary>The schema that kept one row per leaf in an <c>items</c> table.</summary>
    private const int RowPerItemVersion = 1;

    /// <summary>Item rows of a version-1 index read in one page.</summary>
    private const int ItemRowPage = 50_000;

    /// <summary>
    /// How long any connection of the index waits out another's lock before SQLITE_BUSY, unless the store's options
    /// set another (only tests do: <c>CheckpointOptions.IndexBusyTimeout</c>): a save's commit or a prune's transaction
    /// may hold it for seconds on a slow disk, and a reader or writer that gave up would fail the user's call.
    /// </summary>
    internal static readonly TimeSpan DefaultBusyTimeout = CheckpointOptions.DefaultIndexBusyTimeout;

    /// <summary>This index's busy timeout, in milliseconds (<see cref="DefaultBusyTimeout"/> unless a test set another).</summary>
    private readonly int _busyTimeoutMs;

    private readonly SqliteConnection _connection;
    private readonly string _directory;

    /// <summary>The schema version of this index: <see cref="SchemaVersion"/>, or 1 or 2 for an index opened without upgrading it.</summary>
    private int _version;

    /// <summary>The index file the connection is open on, when it is a plain path (not a copy in memory, not a read-only URI): a full listing opens its own connection to it.</summary>
    private readonly string? _file;

    private StepIndex(string directory, SqliteConnection connection, int version, string? file, TimeSpan? busyTimeout)
    {
        _directory = directory;
        _connection = connection;
        _version = version;
        _file = file;
        _busyTimeoutMs = BusyMilliseconds(busyTimeout);
    }

    /// <summary>Sets the connection's wait for another process's lock (a per-connection setting: every open and reopen applies it).</summary>
    private void ApplyBusyTimeout() =>
        Execute("PRAGMA busy_timeout = " + _busyTimeoutMs.ToString(CultureInfo.InvariantCulture) + ";");

    private static int BusyMilliseconds(TimeSpan? busyTimeout) =>
        (int)Math.Clamp((busyTimeout ?? DefaultBusyTimeout).TotalMilliseconds, 1, int.MaxValue);

    /// <summary>
    /// Microsoft.Data.Sqlite's own retry of a busy statement, in whole seconds, at least 1 (its 0 means "for ever"): it
    /// retries around SQLite's busy handler until this much has passed, so both end with the busy timeout.
    /// </summary>
    private static int CommandTimeoutSeconds(TimeSpan? busyTimeout) => (int)Math.Max(1, Math.Ceiling(BusyMilliseconds(busyTimeout) / 1000.0));

    public static string PathOf(string directory) => Path.Combine(directory, FileName);

    /// <summary>The suffix of the index a repair builds beside the damaged one before it renames it into place.</summary>
    public const string RebuildSuffix = ".rebuild";

    /// <summary>
    /// The longest file path, in bytes of UTF-8, that SQLite's Unix VFS opens (its MAX_PATHNAME, 512), less the
    /// longest suffix it appends for a file of its own (<c>-journal</c>).
    /// </summary>
    internal const int LongestSqlitePath = 512 - 8;

    /// <summary>The longest directory path, in bytes of UTF-8, whose index and repair copy SQLite can open.</summary>
    internal static int LongestDirectoryPath => LongestSqlitePath - (1 + FileName.Length + RebuildSuffix.Length);

    /// <summary>
    /// Refuses a new store in a directory whose index SQLite could not open, or not rebuild beside itself (a repair's
    /// <c>index.sqlite.rebuild</c>), before anything is written there: so every store made from now on can be repaired.
    /// A store that exists already is not refused here; a file SQLite cannot open is explained when its open fails (<see cref="OpenOrExplainLength"/>).
    /// </summary>
    /// <exception cref="PathTooLongException">The directory's path is longer than <see cref="LongestDirectoryPath"/> bytes
    /// (not on Windows, whose VFS has a limit of its own).</exception>
    internal static void RefuseNewStoreTooDeep(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // SQLite (3.53's unixFullPathname) does not take the path as given: it builds the path it opens component by
        // component, resolving each link as it meets it, and refuses once what it has built is too long, so which length
        // counts depends on where the links are. For a new store, where a refusal costs only the choice of another
        // folder, measuring both the typed and the resolved path is conservative.
        var (bytes, physical) = LongestOf(directory);
        if (bytes > LongestDirectoryPath)
        {
            throw new PathTooLongException(string.Create(CultureInfo.InvariantCulture,
                $"The checkpoint directory '{directory}' is too deep for a new store: its path{Resolved(directory, physical)} is {bytes} bytes, and SQLite opens its '{FileName}' and a repair's '{FileName}{RebuildSuffix}' only when the directory's path is at most {LongestDirectoryPath} bytes. Use a directory with a shorter path (a symbolic link does not help: SQLite opens the path it points to)."));
        }
    }

    private static string Resolved(string typed, string physical) =>
        physical == Path.TrimEndingDirectorySeparator(Path.GetFullPath(typed)) ? string.Empty : $" (links resolved: '{physical}')";

    /// <summary>
    /// Opens <paramref name="connection"/>; when SQLite cannot open the file (SQLITE_CANTOPEN) and its path, as given or
    /// with its links resolved, is longer than SQLite opens here, says so, naming the directory, the file and the limit:
    /// SQLite's own answer is a bare "unable to open database file" that names nothing, though the file system takes
    /// paths eight times longer. Measured only after a failure, so an open that works is never refused nor slowed.
    /// </summary>
    /// <exception cref="PathTooLongException">The open failed and the path is longer than <see cref="LongestSqlitePath"/> bytes.</exception>
    private static void OpenOrExplainLength(SqliteConnection connection, string directory, string path)
    {
        try
        {
            connection.Open();
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 14 && !OperatingSystem.IsWindows() && TooLongForSqlite(path) is { } measured)
        {
            throw new PathTooLongException(string.Create(CultureInfo.InvariantCulture,
                $"The checkpoint directory '{directory}' is too deep for SQLite: '{Path.GetFileName(path)}' there is a path{Resolved(path, measured.Physical)} of {measured.Bytes} bytes, and SQLite opens paths of at most {LongestSqlitePath} bytes here. Move the directory to a path of at most {LongestDirectoryPath} bytes (a symbolic link does not help: SQLite opens the path it points to)."), e);
        }
    }

    /// <summary>
    /// <see cref="LongestOf"/> for an exception filter, which must not throw: a throw there is swallowed and the filter
    /// taken as false, so a path whose links do not resolve (a loop, more than 40 links, an I/O error) lost its
    /// explanation. Such a path is measured as typed; null when no length explains the failure (SQLite's own error is
    /// then raised, never the measure's).
    /// </summary>
    private static (int Bytes, string Physical)? TooLongForSqlite(string path)
    {
        (int Bytes, string Physical) measured;
        try
        {
            measured = LongestOf(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            try
            {
                var typed = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
                measured = (System.Text.Encoding.UTF8.GetByteCount(typed), typed);
            }
            catch (Exception again) when (again is IOException or ArgumentException or NotSupportedException)
            {
                return null;
            }
        }

        return measured.Bytes > LongestSqlitePath ? measured : null;
    }

    /// <summary>
    /// Opens (creating) the file at <paramref name="path"/> with SQLite and deletes it again: a repair asks this of its
    /// <c>index.sqlite.rebuild</c> before it sets the damaged index aside, since only SQLite knows whether it opens a path
    /// (its length as SQLite walks it, links and all), and a rebuild that fails to open after the index went aside left the
    /// store with no index, which the next save then refused as a new store too deep to create.
    /// </summary>
    /// <exception cref="PathTooLongException">SQLite cannot open the file and its path is longer than <see cref="LongestSqlitePath"/> bytes.</exception>
    /// <exception cref="IOException">SQLite cannot open the file for another reason (the directory full, a denial): SQLite's
    /// own error names nothing, so this one names the file and the directory, with SQLite's as its inner exception.</exception>
    internal static void RefuseUnopenable(string directory, string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        try
        {
            OpenOrExplainLength(connection, directory, path);
        }
        catch (PathTooLongException e)
        {
            throw new PathTooLongException(e.Message + NothingSetAside, e.InnerException);
        }
        catch (SqliteException e)
        {
            throw new IOException(RebuildRefusal(directory, "could not be opened by SQLite", e), e);
        }
        finally
        {
            connection.Dispose();
            File.Delete(path);
        }
    }

    private const string NothingSetAside = " The index was left as it was: nothing was set aside or rebuilt.";

    /// <summary>
    /// Why a rebuild was refused before the index went aside: <c>index.sqlite.rebuild</c> in <paramref name="directory"/>
    /// <paramref name="what"/> (<paramref name="cause"/>'s message says why), and the index was left as it was.
    /// </summary>
    internal static string RebuildRefusal(string directory, string what, Exception? cause) => string.Create(CultureInfo.InvariantCulture,
        $"The index of the checkpoint directory '{directory}' cannot be rebuilt: '{FileName}{RebuildSuffix}' there, the file a rebuild builds the new index in, {what}{(cause is null ? string.Empty : $" ({cause.Message.TrimEnd('.')})")}.{NothingSetAside}");

    /// <summary>
    /// The longer, in bytes of UTF-8, of <paramref name="path"/> as given (made full, without a trailing separator:
    /// SQLite is given the directory joined with a file name) and with every link resolved, and the resolved path.
    /// </summary>
    private static (int Bytes, string Physical) LongestOf(string path)
    {
        var physical = PhysicalPath.Resolve(path);
        return (Math.Max(System.Text.Encoding.UTF8.GetByteCount(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path))),
            System.Text.Encoding.UTF8.GetByteCount(physical)), physical);
    }

    /// <summary>
    /// Opens (and when <paramref name="create"/>, creates) the index of a directory. With
    /// <paramref name="upgrade"/>, a version-1 index is upgraded to version 2 first (writers, under the
    /// exclusive lock); without, it is read as version 1 and left as it is (readers and dry runs), so a
    /// read never makes an index unreadable to an older engine. Without <paramref name="create"/> nothing is
    /// written: an index with no schema version (user_version 0) throws <see cref="CorruptCheckpointException"/>.
    /// </summary>
    public static StepIndex Open(string directory, bool create, bool upgrade, TimeSpan? busyTimeout = null) =>
        OpenFile(directory, PathOf(directory), create, upgrade, busyTimeout);

    /// <summary>Opens an index file at <paramref name="path"/> (used to build a replacement index aside).</summary>
    public static StepIndex OpenFile(string directory, string path, bool create, bool upgrade = true, TimeSpan? busyTimeout = null)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = create ? SqliteOpenMode.ReadWriteCreate : SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = CommandTimeoutSeconds(busyTimeout),
        };
        var connection = new SqliteConnection(builder.ToString());
        // An index built in memory (from the step folders) has no file a second connection could open.
        var index = new StepIndex(directory, connection, SchemaVersion, path == ":memory:" ? null : path, busyTimeout);
        try
        {
            index.Guard(() =>
            {
                OpenOrExplainLength(connection, directory, path);
                index.ApplyBusyTimeout();
                var version = Convert.ToInt64(index.Scalar("PRAGMA user_version;"), CultureInfo.InvariantCulture);
                if (version == 0 && !create)
                {
                    // Readers and dry runs never write. A file without a schema version is either an index a
                    // writer is creating under the exclusive lock (switching to WAL commits a first page with no
                    // tables and version 0 before the schema's own commit) or damage: both read as damage here,
                    // and a reader that took no lock retries under the shared lock, when no creation can be under way.
                    throw new CorruptCheckpointException(directory, null, FileName, index.HasTables()
                        ? "the index has tables but no schema version (user_version 0); run Repair-CheckpointIndex to rebuild it from the step folders"
                        : "the index holds no schema (an index being created, or an emptied file); run Repair-CheckpointIndex to rebuild it from the step folders");
                }

                if (version == 0)
                {
                    index.CreateSchema();
                }
                else if (version > SchemaVersion)
                {
                    // Not damage: repair must not set a newer engine's index aside (docs/format.md §4).
                    throw RefuseNewer(directory, version, SchemaVersion);
                }
                else
                {
                    index.RequireTables(version);
                    index._version = (int)version;
                    if (upgrade)
                    {
                        if (version == RowPerItemVersion)
                        {
                            index.Upgrade();
                        }

                        if (index._version == RowLayoutVersion)
                        {
                            index.UpgradeToLayout2();
                        }

                        // An index written before the step-number index existed (or just upgraded): a writer adds it once.
                        index.AddStepNumberIndex();
                    }
                }

                index.Execute("PRAGMA synchronous = FULL;");
                if (OperatingSystem.IsMacOS())
                {
                    // fsync on macOS stops at the drive's cache; SQLite then uses F_FULLFSYNC, commits and checkpoints alike.
                    index.Execute("PRAGMA fullfsync = ON; PRAGMA checkpoint_fullfsync = ON;");
                }
            });
            return index;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the index of a directory this process may only read, without writing anything there. With no
    /// write-ahead log the file alone is the whole index, so it is opened immutable (SQLite then creates no
    /// shared-memory file and takes no file lock); with a log, read-only, which needs its shared-memory file.
    /// Null when it cannot be read that way (a log without shared memory that may not be created, or no
    /// schema): the caller reads the step folders instead.
    /// </summary>
    public static StepIndex? OpenReadOnly(string directory, TimeSpan? busyTimeout = null)
    {
        var path = PathOf(directory);
        // A -wal whose look failed is not "no log": opened immutable, the index would list none of the steps committed in it.
        if (!IndexIoFailure.Looked(directory, new FileInfo(path + "-wal")))
        {
            var uri = SqliteFileUri.Of(Path.GetFullPath(path)) + "?immutable=1";
            return OpenReadOnlyFile(directory, new SqliteConnectionStringBuilder { DataSource = uri, Mode = SqliteOpenMode.ReadOnly, Pooling = false }, busyTimeout, path);
        }

        try
        {
            return OpenReadOnlyFile(directory, new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }, busyTimeout);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 14 or 8)
        {
            // SQLITE_CANTOPEN / SQLITE_READONLY: the log's shared memory is missing and may not be created.
            return null;
        }
    }

    /// <summary>A copy of this index in memory, for a reader to use after it releases the directory lock.</summary>
    public StepIndex CopyToMemory()
    {
        var memory = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = ":memory:", Pooling = false }.ToString());
        try
        {
            Guard(() =>
            {
                memory.Open();
                _connection.BackupDatabase(memory);
                return 0;
            });
            return new StepIndex(_directory, memory, _version, null, TimeSpan.FromMilliseconds(_busyTimeoutMs));
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    private static StepIndex? OpenReadOnlyFile(string directory, SqliteConnectionStringBuilder builder, TimeSpan? busyTimeout, string? explainPath = null)
    {
        builder.DefaultTimeout = CommandTimeoutSeconds(busyTimeout);
        var connection = new SqliteConnection(builder.ToString());
        var index = new StepIndex(directory, connection, SchemaVersion, null, busyTimeout);
        try
        {
            var version = index.Guard(() =>
            {
                if (explainPath is null)
                {
                    connection.Open();
                }
                else
                {
                    OpenOrExplainLength(connection, directory, explainPath);
                }

                return Convert.ToInt64(index.Scalar("PRAGMA user_version;"), CultureInfo.InvariantCulture);
            });
            if (version > SchemaVersion)
            {
                throw RefuseNewer(directory, version, SchemaVersion);
            }

            if (version == 0)
            {
                connection.Dispose();
                return null;
            }

            // Read-only: a version-1 index is read as it is (its rows), never upgraded here.
            index.Guard(() => index.RequireTables(version));
            index._version = (int)version;

            // Reading a table is what first touches the log and shared memory: fail here, not in a caller.
            _ = index.Scalar("SELECT count(*) FROM intents;");
            return index;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The offset of the user_version field in an SQLite database header (4 bytes, big-endian).</summary>
    private const int UserVersionOffset = 60;

    /// <summary>
    /// Whether the index file of a directory exists and reads with schema version 0 (SQLite's user_version). Writes
    /// nothing. The main file's header is read first: a version there is the index's unless a write-ahead log rewrites
    /// page 1, so only a header reading 0 (a new index whose schema is still in its log, or no schema at all) is opened.
    /// A file SQLite cannot open is not reported here (false): opening it reports its damage.
    /// </summary>
    public static bool IsUnversioned(string directory)
    {
        var path = PathOf(directory);
        Span<byte> header = stackalloc byte[UserVersionOffset + 4];
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
            if (file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) == header.Length
                && System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header[UserVersionOffset..]) != 0)
            {
                return false;
            }
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (IOException e) when (!OperatingSystem.IsWindows() && FailedReadErrno.Is(e.HResult))
        {
            // The same failed read SQLite reports, with the same words (found by the attack on session 17).
            throw IndexIoFailure.FromRead(directory, path, e.HResult, e);
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        try
        {
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "PRAGMA user_version;";
            return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) == 0;
        }
        catch (SqliteException)
        {
            return false;
        }
        finally
        {
            connection.Dispose();
        }
    }

    /// <summary>Whether the file holds any table, view or index at all (reads the schema table only).</summary>
    private bool HasTables() => Convert.ToInt64(Scalar("SELECT count(*) FROM sqlite_master;"), CultureInfo.InvariantCulture) > 0;

    /// <summary>
    /// Copies every committed page from the write-ahead log into the main file and empties the log, or throws:
    /// a rebuilt index is renamed in as its main file alone, so nothing of it may be left in its log.
    /// </summary>
    /// <exception cref="IOException">The log could not be checkpointed completely.</exception>
    public void CheckpointAll() => Guard(() =>
    {
        using var cmd = Command("PRAGMA wal_checkpoint(TRUNCATE);");
        using var r = cmd.ExecuteReader();
        // One row: busy (1 when a reader or writer kept it from finishing), frames in the log, frames checkpointed.
        if (!r.Read() || r.GetInt64(0) != 0 || r.GetInt64(1) != r.GetInt64(2))
        {
            throw new IOException($"The rebuilt index of '{_directory}' could not be checkpointed into its main file; nothing was renamed in. Run Repair-CheckpointIndex again.");
        }
    });

    private void CreateSchema()
    {
        Execute("PRAGMA journal_mode = WAL;");
        using var tx = _connection.BeginTransaction();
        Execute("""
            CREATE TABLE IF NOT EXISTS steps(
                step INTEGER PRIMARY KEY,
                save_id TEXT NOT NULL,
                created_utc INTEGER NOT NULL,
                size INTEGER NOT NULL,
                stored_size INTEGER NOT NULL,
                item_count INTEGER NOT NULL,
                metadata TEXT NOT NULL,
                manifest_hash TEXT NOT NULL,
                pinned INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS step_items(
                step INTEGER PRIMARY KEY,
                items BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS intents(
                save_id TEXT PRIMARY KEY,
                op TEXT NOT NULL,
                step INTEGER NOT NULL,
                staging TEXT);
            """, tx);
        Execute(StepNumberIndexSql, tx);
        Execute($"PRAGMA user_version = {SchemaVersion};", tx);
        tx.Commit();
    }

    public long? Latest() => Guard(() => Scalar("SELECT max(step) FROM steps;") is long l ? l : (long?)null);

    /// <summary>The highest committed or reserved step, or null when there is none.</summary>
    public long? HighestStep() => Guard(() =>
        Scalar("SELECT max(s) FROM (SELECT max(step) AS s FROM steps UNION ALL SELECT max(step) FROM intents WHERE op = 'save');") is long l ? l : (long?)null);

    public StepRow? Get(long step) => Guard(() =>
    {
        using var cmd = Command("SELECT step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned FROM steps WHERE step = $s;");
        cmd.Parameters.AddWithValue("$s", step);
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadRow(r) : null;
    });

    public List<StepRow> All() => Guard(() =>
    {
        var rows = new List<StepRow>();
        using var cmd = Command("SELECT step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned FROM steps ORDER BY step;");
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            rows.Add(ReadRow(r));
        }

        return rows;
    });

    /// <summary>
    /// The records of the listed steps, ascending: all of them, the <paramref name="first"/> lowest or the
    /// <paramref name="last"/> highest, each in one query. Only the columns a record shows are read, and each
    /// row becomes its record directly; the metadata text stays undecoded until the record's Metadata is read.
    /// </summary>
    public List<CheckpointInfo> List(CheckpointListingContext context, int? first = null, int? last = null) =>
        List(context, first, last, SplitListingFrom);

    /// <summary>The columns a listed record shows, in the order <see cref="ReadRecords"/> reads them.</summary>
    private const string ListedColumns = "step, created_utc, size, stored_size, item_count, pinned, metadata";

    /// <summary>
    /// <see cref="List(CheckpointListingContext, int?, int?)"/>, with the number of rows from which a full
    /// listing is read from both ends on two connections (<see cref="ListInHalves"/>; tests lower it).
    /// </summary>
    internal List<CheckpointInfo> List(CheckpointListingContext context, int? first, int? last, long splitFrom) => Guard(() =>
    {
        var sql = (first, last) switch
        {
            (int, null) => $"SELECT {ListedColumns} FROM steps ORDER BY step LIMIT ?1;",
            (null, int) => $"SELECT * FROM (SELECT {ListedColumns} FROM steps ORDER BY step DESC LIMIT ?1) ORDER BY step;",
            (null, null) => $"SELECT {ListedColumns} FROM steps ORDER BY step;",
            _ => throw new ArgumentException("list either the first or the last steps, not both"),
        };

        // Straight through SQLite's own API: at 100,000 rows the per-column overhead of the ADO.NET reader
        // is half the cost of a listing, and SQLitePCL's per-call handle marshalling much of the rest
        // (docs/performance-notes.md, scenario d), so the columns are read by the statement's raw pointer.
        // A whole listing steps every row on a connection of its own without SQLite's connection mutex,
        // which every step and column read otherwise takes and releases (a fifth of the listing's CPU).
        using var scan = first is null && last is null ? OpenScanConnection() : null;
        if (scan is not null)
        {
            return ListInHalves(scan, context, splitFrom);
        }

        var db = _connection.Handle!;
        using var statement = PrepareRaw(db, sql);
        if ((first ?? last) is int limit)
        {
            _ = raw.sqlite3_bind_int64(statement, 1, limit);
        }

        return ReadRecords(db, statement, context, Math.Min(first ?? last ?? 1024, 4096));
    });

    /// <summary>
    /// Steps a prepared listing statement to its end, each row one record; with <paramref name="meeting"/>, only
    /// until the rows meet those the other end's connection took (<see cref="ListInHalves"/>).
    /// </summary>
    private static List<CheckpointInfo> ReadRecords(sqlite3 db, sqlite3_stmt statement, CheckpointListingContext context, int capacity,
        Meeting? meeting = null, bool fromTop = false)
    {
        int rc;
        var infos = new List<CheckpointInfo>(capacity);
        var pointer = SqliteColumns.Pointer(statement);
        // Most steps carry the same metadata text (often none): consecutive equal texts share one string.
        var previousText = Array.Empty<byte>();
        var previous = string.Empty;
        while ((rc = SqliteColumns.Step(pointer, statement)) == raw.SQLITE_ROW)
        {
            var step = SqliteColumns.Int64(pointer, statement, 0);
            if (meeting is not null && !meeting.Take(step, fromTop, infos.Count))
            {
                return infos;
            }

            // Each column's stored type is checked as it is read, in column order (as CheckTypes checks a row).
            var created = ListedInteger(pointer, statement, step, 1);
            var size = ListedInteger(pointer, statement, step, 2);
            var storedSize = ListedInteger(pointer, statement, step, 3);
            var itemCount = ListedInteger(pointer, statement, step, 4);
            var pinned = ListedInteger(pointer, statement, step, 5);
            var text = SqliteColumns.Bytes(pointer, statement, 6, out var textType);
            if (textType == raw.SQLITE_NULL)
            {
                ThrowMistyped(step, raw.sqlite3_column_name(statement, 6).utf8_to_string(), raw.SQLITE_NULL);
            }

            if (itemCount is < 0 or > int.MaxValue)
            {
                throw new FormatException($"step {step} has an item count of {itemCount}");
            }

            // The record keeps the ticks and builds its time on read: a bad value is reported here, as a whole row read would.
            CheckCreated(step, created);

            if (!text.SequenceEqual(previousText))
            {
                previousText = text.ToArray();
                previous = Encoding.UTF8.GetString(text);
            }

            infos.Add(new CheckpointInfo(context, step, created, size, storedSize, (int)itemCount, previous, pinned != 0));
        }

        if (rc != raw.SQLITE_DONE)
        {
            SqliteReadFailure.Throw(rc, db);
        }

        return infos;
    }

    /// <summary>An integer column of a listed row; any other stored type is index damage, reported as <see cref="CheckTypes"/> reports it.</summary>
    private static long ListedInteger(IntPtr pointer, sqlite3_stmt statement, long step, int column)
    {
        var value = SqliteColumns.Int64(pointer, statement, column, out var type);
        if (type != raw.SQLITE_INTEGER)
        {
            ThrowMistyped(step, raw.sqlite3_column_name(statement, column).utf8_to_string(), type);
        }

        return value;
    }

    /// <summary>
    /// Prepares <paramref name="sql"/> on SQLite's own API, for the reads that go around the ADO.NET reader
    /// (listing, retention facts, item lists): the reader retries a busy database itself, so here SQLite's
    /// busy handler does, with the writable connection's timeout.
    /// </summary>
    private sqlite3_stmt PrepareRaw(sqlite3 db, string sql)
    {
        _ = raw.sqlite3_busy_timeout(db, _busyTimeoutMs);
        var rc = raw.sqlite3_prepare_v2(db, sql, out var statement);
        if (rc != raw.SQLITE_OK)
        {
            SqliteReadFailure.Throw(rc, db);
        }

        return statement;
    }

    /// <summary>
    /// A second connection to this index's file, opened without SQLite's per-connection mutex, for one
    /// long scan by the calling thread (it is closed before the call returns, so no other thread can use
    /// it: what SQLite asks of a connection opened so). It reads the same file, log and shared memory as
    /// the index's own connection, with the same busy timeout; it writes nothing. Null, and the index's
    /// own connection serves, when there is no plain file (a copy in memory, a read-only open), or when
    /// it cannot be opened or the file no longer has this index's schema version (replaced meanwhile).
    /// It is opened read-only: should the file be swapped (Repair) between its open of the database and of
    /// the log, a read-only connection can at worst list what it read, and its close can never checkpoint
    /// a log into a file or delete a log, which a read-write last connection would.
    /// </summary>
    internal sqlite3? OpenScanConnection()
    {
        if (_file is null)
        {
            return null;
        }

        var rc = raw.sqlite3_open_v2(_file, out var db, raw.SQLITE_OPEN_READONLY | raw.SQLITE_OPEN_NOMUTEX, null);
        if (rc == raw.SQLITE_OK)
        {
            // Set at the open, so that this connection's first reads (its schema version below, a listing's BEGIN) wait out a
            // busy file too, not only the statements PrepareRaw prepares (which set it again, as for the writable connection).
            _ = raw.sqlite3_busy_timeout(db, _busyTimeoutMs);
        }

        if (rc == raw.SQLITE_OK && ScanVersion(db) == _version)
        {
            // A scan reads each page once: a small page cache is reused while hot in the processor's cache, where
            // SQLite's default (2 MiB) was filled with fresh memory on every listing and freed at its close. Set only
            // once the version is read: the pragma reads the schema, so on a busy file it would wait out the busy
            // timeout once more before the version check did.
            _ = raw.sqlite3_exec(db, ScanCacheSize);

            // No mmap_size here, though a mapping would save the kernel's copy of each page (about a tenth
            // of a listing): a read error on a mapped page is a SIGBUS that ends the process, where pread
            // gives SQLite an error this index reports (docs/performance-notes.md, round 13).
            return db;
        }

        db.Dispose();
        return null;
    }

    /// <summary>The page cache of a scan connection, in pages (docs/performance-notes.md, round 44).</summary>
    private const string ScanCacheSize = "PRAGMA cache_size = 32;";

    /// <summary>The schema version of a scan connection's file; -1 when it cannot be read.</summary>
    private static long ScanVersion(sqlite3 db)
    {
        if (raw.sqlite3_prepare_v2(db, "PRAGMA user_version;", out var statement) != raw.SQLITE_OK)
        {
            statement.Dispose();
            return -1;
        }

        using (statement)
        {
            return raw.sqlite3_step(statement) == raw.SQLITE_ROW ? raw.sqlite3_column_int64(statement, 0) : -1;
        }
    }

    /// <summary>The integer columns of the retention facts' query (created_utc, pinned).</summary>
    private static readonly int[] RetentionIntegers = [1, 2];

    /// <summary>The integer columns of a whole row's query (created_utc, size, stored_size, item_count, pinned).</summary>
    private static readonly int[] RowIntegers = [2, 3, 4, 5, 8];

    /// <summary>The text columns of a whole row's query (save_id, metadata, manifest_hash).</summary>
    private static readonly int[] RowTexts = [1, 6, 7];

    private static readonly string[] TypeNames = ["?", "an integer", "a real", "text", "a blob", "NULL"];

    /// <summary>
    /// A row's stored types, before SQLite's column reads convert them: an integer column holding anything
    /// else (NULL, text, a real), or a text column holding NULL, is index damage (FormatException), as the
    /// ADO.NET reader of a single record finds it. A silent conversion would list a commit time of year 1
    /// and let retention remove the step as ancient.
    /// </summary>
    private static void CheckTypes(IntPtr pointer, sqlite3_stmt statement, long step, int[] integers, int text, int[]? texts = null)
    {
        foreach (var column in integers)
        {
            var type = SqliteColumns.Type(pointer, statement, column);
            if (type != raw.SQLITE_INTEGER)
            {
                ThrowMistyped(step, raw.sqlite3_column_name(statement, column).utf8_to_string(), type);
            }
        }

        if (text >= 0 && SqliteColumns.Type(pointer, statement, text) == raw.SQLITE_NULL)
        {
            ThrowMistyped(step, raw.sqlite3_column_name(statement, text).utf8_to_string(), raw.SQLITE_NULL);
        }

        foreach (var column in texts ?? [])
        {
            if (SqliteColumns.Type(pointer, statement, column) == raw.SQLITE_NULL)
            {
                ThrowMistyped(step, raw.sqlite3_column_name(statement, column).utf8_to_string(), raw.SQLITE_NULL);
            }
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowMistyped(long step, string column, int type) =>
        throw new FormatException($"step {step} has {(type is > 0 and < 6 ? TypeNames[type] : "an unknown value")} as its {column}");

    /// <summary>
    /// A step's commit time from its stored UTC ticks. Out of range is index damage (FormatException, which
    /// <see cref="Guard{T}"/> reports as such) for every reader: listing, retention and prune alike.
    /// </summary>
    private static DateTimeOffset CreatedAt(long step, long ticks)
    {
        CheckCreated(step, ticks);
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    /// <summary>The range check of <see cref="CreatedAt"/> alone, for a listed record, which keeps the ticks and builds its time on read.</summary>
    private static void CheckCreated(long step, long ticks)
    {
        if ((ulong)ticks > (ulong)DateTime.MaxValue.Ticks)
        {
            ThrowCreated(step, ticks);
        }
    }

    /// <summary>Out of line, so that <see cref="CheckCreated"/> is inlined into the listing's loop.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowCreated(long step, long ticks) => throw new FormatException($"step {step} has a creation time of {ticks} ticks");

    /// <summary>What retention decides on, for every step, ascending: number, commit time and pin (no text column is read).</summary>
    public List<(long Step, DateTimeOffset CreatedUtc, bool Pinned)> RetentionFacts() => Guard(() =>
    {
        var facts = new List<(long, DateTimeOffset, bool)>();
        var db = _connection.Handle!;
        var statement = PrepareRaw(db, "SELECT step, created_utc, pinned FROM steps ORDER BY step;");
        int rc;

        using (statement)
        {
            var pointer = SqliteColumns.Pointer(statement);
            while ((rc = SqliteColumns.Step(pointer, statement)) == raw.SQLITE_ROW)
            {
                var factStep = SqliteColumns.Int64(pointer, statement, 0);
                CheckTypes(pointer, statement, factStep, RetentionIntegers, -1);
                facts.Add((factStep, CreatedAt(factStep, SqliteColumns.Int64(pointer, statement, 1)),
                    SqliteColumns.Int64(pointer, statement, 2) != 0));
            }

            if (rc != raw.SQLITE_DONE)
            {
                SqliteReadFailure.Throw(rc, db);
            }
        }

        return facts;
    });

    /// <summary>
    /// The rows of <paramref name="steps"/> that exist, ascending, as a removal holds them: a few are looked up
    /// one by one, many read in one pass (the manifest hash is checked for its type but not read).
    /// </summary>
    public List<RemovedRow> Rows(IReadOnlyCollection<long> steps)
    {
        if (steps.Count <= 256)
        {
            return steps.Order().Select(Get).OfType<StepRow>().Select(RemovedRow.Of).ToList();
        }

        var wanted = steps.ToHashSet();
        return Guard(() =>
        {
            // A prune of most of 100,000 steps reads them all: through SQLite's own API, as a listing does,
            // with equal metadata texts shared; the rows hold what Get returns but the manifest hash.
            var rows = new List<RemovedRow>(wanted.Count);
            var db = _connection.Handle!;
            var statement = PrepareRaw(db, "SELECT step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned FROM steps ORDER BY step;");
            int rc;

            using (statement)
            {
                var pointer = SqliteColumns.Pointer(statement);
                var previousText = Array.Empty<byte>();
                var previous = string.Empty;
                while ((rc = SqliteColumns.Step(pointer, statement)) == raw.SQLITE_ROW)
                {
                    var step = SqliteColumns.Int64(pointer, statement, 0);
                    if (!wanted.Contains(step))
                    {
                        continue;
                    }

                    CheckTypes(pointer, statement, step, RowIntegers, -1, RowTexts);
                    // Text read as text (UTF-8 whatever the file's encoding): a UTF-16 index's stored bytes, read as a
                    // blob, made every save id 64 bytes long and every removal of more than 256 steps fail as damage.
                    var saveId = RemovedRow.ParseSaveId(step, SqliteColumns.Bytes(pointer, statement, 1, out _));

                    var itemCount = SqliteColumns.Int64(pointer, statement, 5);
                    if (itemCount is < 0 or > int.MaxValue)
                    {
                        throw new FormatException($"step {step} has an item count of {itemCount}");
                    }

                    var text = SqliteColumns.Bytes(pointer, statement, 6, out _);
                    if (!text.SequenceEqual(previousText))
                    {
                        previousText = text.ToArray();
                        previous = Encoding.UTF8.GetString(text);
                    }

                    rows.Add(new RemovedRow(step, saveId, CreatedAt(step, SqliteColumns.Int64(pointer, statement, 2)),
                        SqliteColumns.Int64(pointer, statement, 3), SqliteColumns.Int64(pointer, statement, 4), (int)itemCount, previous,
                        SqliteColumns.Int64(pointer, statement, 8) != 0));
                }

                if (rc != raw.SQLITE_DONE)
                {
                    SqliteReadFailure.Throw(rc, db);
                }
            }

            return rows;
        });
    }

    /// <summary>
    /// The leaves of a step, in ordinal order, from the index alone (no manifest is read); empty for a
    /// step without a row. An item list that does not decode, or holds another count than the step's
    /// <c>item_count</c>, is index damage.
    /// </summary>
    public List<CheckpointItemInfo> Items(long step) => Guard(() => _version == RowPerItemVersion ? ItemRows(step) : ItemList(step));

    /// <summary>A version-2 step's leaves: its one blob, decoded straight from SQLite's buffer.</summary>
    private List<CheckpointItemInfo> ItemList(long step)
    {
        var db = _connection.Handle!;
        var statement = PrepareRaw(db, "SELECT s.item_count, i.items FROM steps s LEFT JOIN step_items i ON i.step = s.step WHERE s.step = ?1;");
        int rc;

        using (statement)
        {
            _ = raw.sqlite3_bind_int64(statement, 1, step);
            rc = raw.sqlite3_step(statement);
            if (rc == raw.SQLITE_DONE)
            {
                return [];
            }

            if (rc != raw.SQLITE_ROW)
            {
                SqliteReadFailure.Throw(rc, db);
            }

            return DecodeItemList(step, statement, 0, 1);
        }
    }

    /// <summary>Decodes the item count and blob columns of the current row; a missing or mistyped value is damage.</summary>
    private static List<CheckpointItemInfo> DecodeItemList(long step, sqlite3_stmt statement, int countColumn, int blobColumn)
    {
        var count = raw.sqlite3_column_int64(statement, countColumn);
        if (count is < 0 or > int.MaxValue)
        {
            throw new FormatException($"step {step} has an item count of {count}");
        }

        if (raw.sqlite3_column_type(statement, blobColumn) != raw.SQLITE_BLOB)
        {
            throw new FormatException($"step {step} has no item list");
        }

        return ItemListCodec.Decode(step, raw.sqlite3_column_blob(statement, blobColumn), (int)count);
    }

    /// <summary>
    /// A version-1 step's leaves, one row each (an index read without upgrading it). Read in one read
    /// transaction that first reads <c>user_version</c> again: another process may have upgraded the index
    /// since this one opened it (the rows are then gone, and the step's item list holds them), and the
    /// pages of one step must all come from one version of the index.
    /// </summary>
    private List<CheckpointItemInfo> ItemRows(long step)
    {
        using var tx = _connection.BeginTransaction(deferred: true);
        var version = Convert.ToInt64(Scalar("PRAGMA user_version;", tx), CultureInfo.InvariantCulture);
        if (version != RowPerItemVersion)
        {
            _version = version is RowLayoutVersion or SchemaVersion ? (int)version
                : version > SchemaVersion ? throw RefuseNewer(_directory, version, SchemaVersion)
                : throw new FormatException($"the index's schema version changed to {version} while it was read");
            return ItemList(step);
        }

        // Pages of rows as one JSON text each: reading 100,000 rows one by one through the data reader
        // costs several times more than SQLite building the text and one parse of it.
        var items = new List<CheckpointItemInfo>();
        using var cmd = Command("""
            SELECT json_group_array(json_array(ordinal, name, kind, dtype, shape, size, stored_size)) FROM
                (SELECT ordinal, name, kind, dtype, shape, size, stored_size FROM items
                 WHERE step = $s AND ordinal >= $from ORDER BY ordinal LIMIT $page);
            """, tx);
        cmd.Parameters.AddWithValue("$s", step);
        var from = cmd.Parameters.Add("$from", SqliteType.Integer);
        cmd.Parameters.AddWithValue("$page", ItemRowPage);
        long next = long.MinValue;
        while (true)
        {
            from.Value = next;
            var text = cmd.ExecuteScalar() as string ?? "[]";
            var count = ReadItemRows(step, System.Text.Encoding.UTF8.GetBytes(text), items, ref next);

            // next wraps to long.MinValue after a row at ordinal long.MaxValue: no row can follow it, and
            // reading on would read the first page again, forever.
            if (count < ItemRowPage || next == long.MinValue)
            {
                return items;
            }
        }
    }

    /// <summary>Parses one page of item rows; returns how many it held and sets <paramref name="next"/> past the last ordinal.</summary>
    private static int ReadItemRows(long step, byte[] json, List<CheckpointItemInfo> items, ref long next)
    {
        var r = new System.Text.Json.Utf8JsonReader(json);
        Expect(ref r, System.Text.Json.JsonTokenType.StartArray);
        var count = 0;
        while (r.Read() && r.TokenType == System.Text.Json.JsonTokenType.StartArray)
        {
            var ordinal = Number(ref r);
            var name = Text(ref r) ?? throw new FormatException($"an item of step {step} has no name");
            var kind = Text(ref r) ?? throw new FormatException($"item '{name}' of step {step} has no kind");
            var dtype = Text(ref r);
            var shape = Text(ref r);
            var size = Number(ref r);
            var stored = Number(ref r);
            Expect(ref r, System.Text.Json.JsonTokenType.EndArray);
            items.Add(new CheckpointItemInfo(step, name, kind, dtype, shape is null ? null : ParseShape(shape), size, stored));
            next = ordinal + 1;
            count++;
        }

        return count;
    }

    private static void Expect(ref System.Text.Json.Utf8JsonReader r, System.Text.Json.JsonTokenType type)
    {
        if (!r.Read() || r.TokenType != type)
        {
            throw new FormatException("an item row is malformed");
        }
    }

    private static long Number(ref System.Text.Json.Utf8JsonReader r) =>
        r.Read() && r.TokenType == System.Text.Json.JsonTokenType.Number && r.TryGetInt64(out var v) ? v : throw new FormatException("an item row holds a non-integer size or ordinal");

    private static string? Text(ref System.Text.Json.Utf8JsonReader r) =>
        !r.Read() ? throw new FormatException("an item row is cut short")
        : r.TokenType == System.Text.Json.JsonTokenType.Null ? null
        : r.TokenType == System.Text.Json.JsonTokenType.String ? r.GetString()
        : throw new FormatException("an item row holds a non-text name, kind, dtype or shape");

    public List<Intent> Intents() => Guard(() =>
    {
        var intents = new List<Intent>();
        using var cmd = Command("SELECT save_id, op, step, staging FROM intents ORDER BY rowid;");
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            intents.Add(new Intent(r.GetString(0), r.GetString(1), r.GetInt64(2), r.IsDBNull(3) ? null : r.GetString(3)));
        }

        return intents;
    });

    /// <summary>The save intents, in the order they were recorded (a prune's many delete intents are not read).</summary>
    public List<Intent> SaveIntents() => Guard(() =>
    {
        var intents = new List<Intent>();
        using var cmd = Command("SELECT save_id, op, step, staging FROM intents WHERE op = 'save' ORDER BY rowid;");
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            intents.Add(new Intent(r.GetString(0), r.GetString(1), r.GetInt64(2), r.IsDBNull(3) ? null : r.GetString(3)));
        }

        return intents;
    });

    /// <summary>True while the save <paramref name="saveId"/>'s intent is recorded (no recovery has rolled it back).</summary>
    public bool HasSaveIntent(string saveId) => Guard(() =>
    {
        using var cmd = Command("SELECT count(*) FROM intents WHERE save_id = $id AND op = 'save';");
        cmd.Parameters.AddWithValue("$id", saveId);
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
    });

    public bool HasLiveReservation(long step) => Guard(() =>
    {
        using var cmd = Command("SELECT count(*) FROM intents WHERE op = 'save' AND step = $s;");
        cmd.Parameters.AddWithValue("$s", step);
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
    });

    public void AddIntent(Intent intent) => Guard(() =>
    {
        using var cmd = Command("INSERT INTO intents(save_id, op, step, staging) VALUES ($id, $op, $s, $st);");
        cmd.Parameters.AddWithValue("$id", intent.SaveId);
        cmd.Parameters.AddWithValue("$op", intent.Op);
        cmd.Parameters.AddWithValue("$s", intent.Step);
        cmd.Parameters.AddWithValue("$st", (object?)intent.Staging ?? DBNull.Value);
        cmd.ExecuteNonQuery();
    });

    public void RemoveIntent(string saveId) => Guard(() =>
    {
        using var cmd = Command("DELETE FROM intents WHERE save_id = $id;");
        cmd.Parameters.AddWithValue("$id", saveId);
        cmd.ExecuteNonQuery();
    });

    /// <summary>Publishes a step's row and leaves and clears its intent, in one transaction.</summary>
    public void CommitStep(StepRow row, IReadOnlyList<StoredItem> items, Func<StoredItem, long> storedSizeOf, string? intentToClear)
    {
        if (row.ItemCount != items.Count)
        {
            // Items() checks the list against item_count: a mismatch written here would read as damage.
            throw new ArgumentException($"step {row.Step} is committed with item_count {row.ItemCount} but {items.Count} items", nameof(items));
        }

        // Encoded before the transaction, so the write lock is held only for the statements.
        CommitStep(row, ItemListCodec.Encode(items, storedSizeOf), items.Count, intentToClear);
    }

    /// <summary>
    /// Publishes a step's row and its already encoded item list (<see cref="ItemListCodec"/>, of
    /// <paramref name="itemCount"/> items) and clears its intent, in one transaction.
    /// </summary>
    public void CommitStep(StepRow row, byte[] itemList, int itemCount, string? intentToClear) =>
        CommitStep(row, itemList.Length, to =>
        {
            // Written in two pieces, so a kill can be placed with the list half in its row (a zeroed blob being
            // filled in place, transaction not committed): recovery must then see no step.
            to.Write(itemList, 0, itemList.Length / 2);
            Faults.FaultInjector.Hit("commit.item-list.partly-written");
            to.Write(itemList, itemList.Length / 2, itemList.Length - (itemList.Length / 2));
        }, itemCount, intentToClear);

    /// <summary>
    /// Publishes a step's row and the item list that <paramref name="itemList"/> finishes (a save's list,
    /// built during the encoder's walk) and clears its intent, in one transaction.
    /// </summary>
    public void CommitStep(StepRow row, ItemListCodec.Writer itemList, Func<int, long> storedLengthOfTensor, string? intentToClear) =>
        CommitStep(row, itemList.ToArray(storedLengthOfTensor), itemList.Count, intentToClear);

    private void CommitStep(StepRow row, int itemListLength, Action<Stream> writeItemList, int itemCount, string? intentToClear) => Guard(() =>
    {
        if (_version != SchemaVersion)
        {
            // Writers open the index with upgrade; a version-1 index reaching here is an engine bug.
            throw new InvalidOperationException($"a version-{_version} index is written only after its upgrade to version {SchemaVersion}");
        }

        if (row.ItemCount != itemCount)
        {
            // Items() checks the list against item_count: a mismatch written here would read as damage.
            throw new ArgumentException($"step {row.Step} is committed with item_count {row.ItemCount} but {itemCount} items", nameof(itemCount));
        }

        if (itemListLength < SmallCommitCacheFrom)
        {
            WriteStep(row, itemListLength, writeItemList, intentToClear);
            return;
        }

        // A big list's pages would all stay in SQLite's page cache (2 MiB by default) until the commit: a megabyte of
        // native memory on top of the list itself in a 100,000-leaf save, the largest part of its first save's peak
        // after the manifest (round 50 of docs/performance-notes.md). A small cache for this transaction spills
        // them to the log as they fill, where the commit would have written them anyway; the commit then writes
        // and syncs the log as before, so durability does not depend on the cache.
        var putBack = string.Create(CultureInfo.InvariantCulture, $"PRAGMA main.cache_size = {CacheToPutBack(Scalar("PRAGMA main.cache_size;"))};");
        WithPageCache(SmallCommitCache, putBack, () => WriteStep(row, itemListLength, writeItemList, intentToClear));
    });

    /// <summary>From an item list this long on, a step's commit runs with <see cref="SmallCommitCache"/>.</summary>
    internal const int SmallCommitCacheFrom = 256 << 10;

    /// <summary>The page cache of a big list's commit: 256 KiB (negative: KiB, as SQLite reads it).</summary>
    private const string SmallCommitCache = "PRAGMA main.cache_size = -256;";

    private void WriteStep(StepRow row, int itemListLength, Action<Stream> writeItemList, string? intentToClear)
    {
        using var tx = _connection.BeginTransaction();
        using (var del = Command("DELETE FROM steps WHERE step = $s; DELETE FROM step_items WHERE step = $s;", tx))
        {
            del.Parameters.AddWithValue("$s", row.Step);
            del.ExecuteNonQuery();
        }

        using (var ins = Command("INSERT INTO steps(step, save_id, created_utc, size, stored_size, item_count, metadata, manifest_hash, pinned) VALUES ($s, $id, $c, $size, $stored, $n, $m, $h, $p);", tx))
        {
            ins.Parameters.AddWithValue("$s", row.Step);
            ins.Parameters.AddWithValue("$id", row.SaveId);
            ins.Parameters.AddWithValue("$c", row.CreatedUtc.UtcTicks);
            ins.Parameters.AddWithValue("$size", row.Size);
            ins.Parameters.AddWithValue("$stored", row.StoredSize);
            ins.Parameters.AddWithValue("$n", row.ItemCount);
            ins.Parameters.AddWithValue("$m", row.MetadataJson);
            ins.Parameters.AddWithValue("$h", row.ManifestHash);
            ins.Parameters.AddWithValue("$p", row.Pinned ? 1 : 0);
            ins.ExecuteNonQuery();
        }

        // The row is made with a zeroed blob of the list's length, which is then written in place through
        // SQLite's incremental blob I/O (step is the rowid): binding the list would make SQLite copy it.
        using (var put = Command("INSERT INTO step_items(step, items) VALUES ($s, zeroblob($n));", tx))
        {
            put.Parameters.AddWithValue("$s", row.Step);
            put.Parameters.AddWithValue("$n", itemListLength);
            put.ExecuteNonQuery();
        }

        using (var blob = new SqliteBlob(_connection, "step_items", "items", row.Step))
        {
            writeItemList(blob);
            if (blob.Position != itemListLength)
            {
                // A list shorter than its row would read as damage; the transaction is not committed.
                throw new InvalidOperationException($"step {row.Step}'s item list wrote {blob.Position} of its {itemListLength} bytes");
            }
        }

        if (intentToClear is not null)
        {
            using var clear = Command("DELETE FROM intents WHERE save_id = $id;", tx);
            clear.Parameters.AddWithValue("$id", intentToClear);
            clear.ExecuteNonQuery();
        }

        tx.Commit();
    }

    /// <summary>
    /// Unpublishes several steps and records a delete intent for each, in one transaction. The step numbers
    /// go in as one JSON array of numbers, unpacked once into a temporary keyed table that each set statement
    /// reads, so removing 100,000 steps is a handful of statements rather than 300,000; each intent takes its
    /// save id from the row it replaces, in step order (recovery's order). An intent is keyed by save id:
    /// a removal never replaces another operation's intent (a pending save's, whose staging folder would be
    /// orphaned, or another step's removal). A damaged or crafted index where a removed row's save id is
    /// already an intent's, or two removed rows share one, is refused whole, as index damage, before
    /// anything changes; only the very same removal's intent (same id and step, left by an older engine's
    /// repair that listed the step again) is taken over.
    /// </summary>
    public void UnpublishSteps(IReadOnlyList<RemovedRow> rows) => Guard(() =>
    {
        if (rows.Count < LargeRemoval)
        {
            Unpublish(rows);
            return;
        }

        // A removal of many steps rewrites every page of both tables and fills the intents table: with
        // SQLite's default 2 MiB cache its dirty pages spill to the log mid-transaction, where they are
        // written again and looked up in a log index that grows with them (superlinear). A bigger cache
        // for this transaction only (main and temporary schema) keeps them in memory until the commit,
        // which writes and syncs the log exactly as before: durability does not depend on the cache.
        var main = Scalar("PRAGMA main.cache_size;");
        var temp = Scalar("PRAGMA temp.cache_size;");
        var putBack = string.Create(CultureInfo.InvariantCulture,
            $"PRAGMA main.cache_size = {CacheToPutBack(main)}; PRAGMA temp.cache_size = {CacheToPutBack(temp)};");
        WithPageCache(LargeRemovalCache, putBack, () => Unpublish(rows));
    });

    /// <summary>
    /// Runs one transaction's <paramref name="work"/> with the page cache <paramref name="set"/>, then puts the
    /// cache back (<paramref name="putBack"/>) whether the work committed or failed, for a large removal and a
    /// big item list's commit.
    /// </summary>
    private void WithPageCache(string set, string putBack, Action work)
    {
        Execute(set);
        try
        {
            work();
        }
        catch
        {
            // Not a finally: a failure to put the cache back (the same broken connection, a full disk) must not
            // replace the work's own error, which says what went wrong with the steps.
            PutCacheBack(putBack);
            throw;
        }

        // Also ignored after work that committed: reporting it as failed would be false (found by the final review).
        PutCacheBack(putBack);
    }

    /// <summary>
    /// Puts the page cache back after <see cref="WithPageCache"/>'s work, committed or failed (its transaction
    /// then rolled back), ignoring a failure to: a bigger cache left on the connection costs memory
    /// only, never correctness; the caller is to see the removal's own outcome, not this one.
    /// </summary>
    private void PutCacheBack(string putBack)
    {
        try
        {
            Execute(putBack);
        }
        catch (Exception e) when (e is SqliteException or InvalidOperationException)
        {
            // InvalidOperationException: the connection was closed (or disposed) by the failure.
        }
    }

    /// <summary>SQLite's page cache for a schema nothing set one for (SQLITE_DEFAULT_CACHE_SIZE: 2000 KiB).</summary>
    private const long DefaultCache = -2000;

    /// <summary>
    /// The cache_size to set back: SQLite reports 0 for a schema whose cache was never set (the temporary
    /// schema until a pragma names it), while that schema's pages use the default. Setting 0 back would
    /// leave it no cache at all, so a later temporary table of the connection spills every page to a file.
    /// </summary>
    private static long CacheToPutBack(object? read)
    {
        var size = Convert.ToInt64(read, CultureInfo.InvariantCulture);
        return size == 0 ? DefaultCache : size;
    }

    /// <summary>The page cache sizes of the main and temporary schemas (SQLite's units), for tests.</summary>
    internal (long Main, long Temp) CacheSizes() => Guard(() =>
        (Convert.ToInt64(Scalar("PRAGMA main.cache_size;"), CultureInfo.InvariantCulture),
         Convert.ToInt64(Scalar("PRAGMA temp.cache_size;"), CultureInfo.InvariantCulture)));

    /// <summary>Bytes of page cache this connection holds now (SQLITE_DBSTATUS_CACHE_USED), for tests.</summary>
    internal long CacheUsedBytes() => Guard(() =>
    {
        var result = raw.sqlite3_db_status(_connection.Handle!, raw.SQLITE_DBSTATUS_CACHE_USED, out var current, out _, 0);
        return result == raw.SQLITE_OK ? current : throw new InvalidOperationException($"sqlite3_db_status failed with {result}");
    });

    /// <summary>From this many removed steps on, the removal's transaction runs with a bigger page cache.</summary>
    internal const int LargeRemoval = 10_000;

    /// <summary>The page cache of a large removal's transaction: 64 MiB for each schema (negative: KiB, as SQLite reads it).</summary>
    private const string LargeRemovalCache = "PRAGMA main.cache_size = -65536; PRAGMA temp.cache_size = -65536;";

    private void Unpublish(IReadOnlyList<RemovedRow> rows)
    {
        using var tx = _connection.BeginTransaction();
        using (var prepare = Command("""
            DROP TABLE IF EXISTS temp.removed_steps;
            CREATE TEMP TABLE removed_steps(step INTEGER PRIMARY KEY);
            INSERT OR IGNORE INTO temp.removed_steps(step) SELECT value FROM json_each($steps);
            DELETE FROM intents WHERE op = 'delete' AND step IN temp.removed_steps
                AND save_id = (SELECT s.save_id FROM steps AS s WHERE s.step = intents.step);
            """, tx))
        {
            prepare.Parameters.AddWithValue("$steps", StepNumbersJson(rows));
            prepare.ExecuteNonQuery();
        }

        try
        {
            // A plain insert: the primary key refuses any collision, at no cost when there is none.
            Execute("""
                INSERT INTO intents(save_id, op, step, staging)
                    SELECT save_id, 'delete', step, NULL FROM steps WHERE step IN temp.removed_steps ORDER BY step;
                """, tx);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            var problem = RemovalCollision(tx);
            tx.Rollback();
            throw new CorruptCheckpointException(_directory, null, FileName,
                $"{problem}; nothing was removed. Let a running save finish, then run Repair-CheckpointIndex to rebuild the index from the step folders", e);
        }

        Execute($"""
            DELETE FROM steps WHERE step IN temp.removed_steps;
            DELETE FROM {ItemTable} WHERE step IN temp.removed_steps;
            DROP TABLE temp.removed_steps;
            """, tx);
        tx.Commit();
    }

    /// <summary>Describes why a removal's intents collide with recorded ones (read only on that failure).</summary>
    private string RemovalCollision(SqliteTransaction tx)
    {
        using (var other = Command("""
            SELECT s.step, s.save_id, i.op, i.step FROM steps AS s JOIN intents AS i ON i.save_id = s.save_id
            WHERE s.step IN temp.removed_steps ORDER BY s.step LIMIT 1;
            """, tx))
        using (var r = other.ExecuteReader())
        {
            if (r.Read())
            {
                return string.Create(CultureInfo.InvariantCulture,
                    $"step {r.GetInt64(0)} has save id {r.GetString(1)}, which is also the id of an unfinished {(r.GetString(2) == "save" ? "save" : "operation")} of step {r.GetInt64(3)}");
            }
        }

        using var twin = Command("""
            SELECT min(step), max(step), save_id FROM steps WHERE step IN temp.removed_steps
            GROUP BY save_id HAVING count(*) > 1 LIMIT 1;
            """, tx);
        using var t = twin.ExecuteReader();
        return t.Read()
            ? string.Create(CultureInfo.InvariantCulture, $"steps {t.GetInt64(0)} and {t.GetInt64(1)} share the save id {t.GetString(2)}")
            : "a removed step's save id is already the id of a recorded operation";
    }

    /// <summary>
    /// Clears the delete intents <see cref="UnpublishSteps"/> recorded for <paramref name="rows"/>, in one
    /// transaction. Called under the same hold of the directory lock, with nothing cleared since: when those
    /// are all the intents the index holds (the usual case), the table is emptied in one step, which SQLite
    /// does without visiting each row; otherwise they are deleted by save id.
    /// </summary>
    public void ClearRemovalIntents(IReadOnlyList<RemovedRow> rows) => Guard(() =>
    {
        using var tx = _connection.BeginTransaction();
        var distinct = DistinctSaveIds(rows);
        using (var count = Command("SELECT count(*), count(*) FILTER (WHERE op = 'delete') FROM intents;", tx))
        using (var r = count.ExecuteReader())
        {
            r.Read();
            if (r.GetInt64(0) == distinct && r.GetInt64(1) == distinct)
            {
                r.Close();
                using var all = Command("DELETE FROM intents;", tx);
                all.ExecuteNonQuery();
                tx.Commit();
                return;
            }
        }

        // Only this removal's own intents: a delete naming one of these rows' steps and save ids, never
        // another operation's intent that happens to carry the same id.
        using var cmd = Command("""
            DELETE FROM intents WHERE op = 'delete' AND step IN (SELECT value FROM json_each($steps))
                AND save_id IN (SELECT value FROM json_each($ids));
            """, tx);
        var ids = rows.Select(r => r.SaveId).ToHashSet(StringComparer.Ordinal);
        cmd.Parameters.AddWithValue("$ids", JsonArray(ids, (w, id) => w.WriteStringValue(id)));
        cmd.Parameters.AddWithValue("$steps", StepNumbersJson(rows));
        cmd.ExecuteNonQuery();
        tx.Commit();
    });

    /// <summary>How many distinct save ids <paramref name="rows"/> hold (sorted values, no set of a million entries).</summary>
    private static int DistinctSaveIds(IReadOnlyList<RemovedRow> rows)
    {
        var values = new UInt128[rows.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = rows[i].SaveIdValue;
        }

        Array.Sort(values);
        var distinct = values.Length == 0 ? 0 : 1;
        for (var i = 1; i < values.Length; i++)
        {
            distinct += values[i] != values[i - 1] ? 1 : 0;
        }

        return distinct;
    }

    /// <summary>The step numbers of <paramref name="rows"/> as a JSON array.</summary>
    private static string StepNumbersJson(IReadOnlyList<RemovedRow> rows)
    {
        var text = new StringBuilder(rows.Count * 8 + 2).Append('[');
        for (var i = 0; i < rows.Count; i++)
        {
            _ = (i == 0 ? text : text.Append(',')).Append(rows[i].Step.ToString(CultureInfo.InvariantCulture));
        }

        return text.Append(']').ToString();
    }

    private static string JsonArray<T>(IReadOnlyCollection<T> values, Action<System.Text.Json.Utf8JsonWriter, T> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(Math.Max(256, values.Count * 48));
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var value in values)
            {
                write(w, value);
            }

            w.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Removes a row whose folder is gone (repair).</summary>
    public void DropStep(long step) => Guard(() =>
    {
        using var del = Command($"DELETE FROM steps WHERE step = $s; DELETE FROM {ItemTable} WHERE step = $s;");
        del.Parameters.AddWithValue("$s", step);
        del.ExecuteNonQuery();
    });

    public void SetPinned(long step, bool pinned) => Guard(() =>
    {
        using var cmd = Command("UPDATE steps SET pinned = $p WHERE step = $s;");
        cmd.Parameters.AddWithValue("$p", pinned ? 1 : 0);
        cmd.Parameters.AddWithValue("$s", step);
        cmd.ExecuteNonQuery();
    });

    /// <summary>Whether an integrity_check row is a page SQLite could not get for an I/O error (an SQLITE_IOERR code).</summary>
    private static bool IsFailedPageRead(string row)
    {
        var at = row.LastIndexOf("error code=", StringComparison.Ordinal);
        return at >= 0
            && int.TryParse(row.AsSpan(at + "error code=".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var code)
            && (code & 0xFF) == raw.SQLITE_IOERR;
    }

    /// <summary>Runs SQLite's own consistency check; returns its complaints (empty when sound).</summary>
    public List<string> IntegrityCheck() => Guard(() =>
    {
        var problems = new List<string>();
        using var cmd = Command("PRAGMA integrity_check;");
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var line = r.GetString(0);
            if (!string.Equals(line, "ok", StringComparison.Ordinal))
            {
                problems.Add(line);
            }
        }

        // integrity_check reports a page it could not read as a row ("unable to get the page. error code=8458"), not as
        // an error: a read the disk failed (EIO, SQLITE_IOERR_CORRUPTFS) is an I/O error, never damage to rebuild on that
        // disk (found by the attack on session 17). The row's own code decides, not the file's last errno: that errno
        // is never cleared, and an earlier swallowed write error would make real damage read as a failed disk.
        if (problems.Exists(IsFailedPageRead))
        {
            throw new SqliteException($"SQLite Error 10: 'disk I/O error': a read of the file failed during PRAGMA integrity_check ({problems[0]}).", raw.SQLITE_IOERR, SqliteReadFailure.CorruptFsCode);
        }

        // Values that become parts of paths must have their exact shape; a row without it is damage.
        using var ids = Command("SELECT step, save_id FROM steps;");
        using var rows = ids.ExecuteReader();
        while (rows.Read())
        {
            if (rows.GetFieldType(1) != typeof(string) || !StoredNames.IsSaveId(rows.GetString(1)))
            {
                problems.Add($"step {rows.GetInt64(0)} has a malformed save id");
            }
        }

        // A value of the wrong type (integrity_check finds NULLs, not text in an integer column) fails
        // every read of its row: the rebuild replaces it from the step folder.
        using var typed = Command("""
            SELECT step FROM steps WHERE typeof(created_utc) <> 'integer' OR typeof(size) <> 'integer' OR typeof(stored_size) <> 'integer'
                OR typeof(item_count) <> 'integer' OR typeof(pinned) <> 'integer' OR metadata IS NULL OR manifest_hash IS NULL LIMIT 100;
            """);
        using var mistyped = typed.ExecuteReader();
        while (mistyped.Read())
        {
            problems.Add($"step {mistyped.GetInt64(0)} has a value of the wrong type");
        }

        if (_version != RowPerItemVersion)
        {
            CheckItemLists(problems);
        }

        return problems;
    });

    /// <summary>The table of a step's leaves in this index's schema (a version-1 index opened without upgrading keeps its rows).</summary>
    private string ItemTable => _version == RowPerItemVersion ? "items" : "step_items";

    /// <summary>
    /// The refusal of an index of a newer schema: not damage, so repair leaves it in place and nothing is rebuilt
    /// (docs/format.md §4). Every open (writable, read-only, a re-read of the version) refuses the same way.
    /// </summary>
    internal static UnsupportedFormatVersionException RefuseNewer(string directory, long version, int supported) =>
        new(directory, (int)Math.Min(version, int.MaxValue), supported);

    /// <summary>Reads a row; a save id of the wrong shape (it names the step's trash folder) is a malformed index.</summary>
    private static StepRow ReadRow(SqliteDataReader r)
    {
        // As a listing checks them: a value of the wrong type is index damage (the reader would convert
        // text to 0, or fail on NULL with an error that names no index).
        var step = r.GetInt64(0);
        foreach (var column in new[] { 2, 3, 4, 5, 8 })
        {
            if (r.GetValue(column) is not long)
            {
                throw new FormatException($"step {step} has {(r.IsDBNull(column) ? "NULL" : "a " + r.GetValue(column).GetType().Name + " value")} as its {r.GetName(column)}");
            }
        }

        foreach (var column in new[] { 1, 6, 7 })
        {
            if (r.IsDBNull(column))
            {
                throw new FormatException($"step {step} has NULL as its {r.GetName(column)}");
            }
        }

        var saveId = r.GetString(1);
        if (!StoredNames.IsSaveId(saveId))
        {
            throw new FormatException($"step {r.GetInt64(0)} has a save id that is not 32 lower-case hex digits");
        }

        var itemCount = r.GetInt64(5);
        if (itemCount is < 0 or > int.MaxValue)
        {
            throw new FormatException($"step {step} has an item count of {itemCount}");
        }

        return new(step, saveId, CreatedAt(step, r.GetInt64(2)), r.GetInt64(3), r.GetInt64(4),
            (int)itemCount, r.GetString(6), r.GetString(7), r.GetInt64(8) != 0);
    }

    /// <summary>A version-1 shape text; one that is not 64-bit integers (an overflow included) is a malformed value, i.e. index damage.</summary>
    private static long[] ParseShape(string text) =>
        text.Length == 0 ? [] : text.Split(',').Select(s => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var d) ? d
            : throw new FormatException($"an item's shape '{text}' is not a list of 64-bit dimensions")).ToArray();

    private SqliteCommand Command(string sql, SqliteTransaction? tx = null)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    private void Execute(string sql, SqliteTransaction? tx = null)
    {
        using var cmd = Command(sql, tx);
        cmd.ExecuteNonQuery();
    }

    private object? Scalar(string sql, SqliteTransaction? tx = null)
    {
        using var cmd = Command(sql, tx);
        return cmd.ExecuteScalar();
    }

    private void Guard(Action action) => Guard(() =>
    {
        action();
        return 0;
    });

    /// <summary>
    /// Turns SQLite's corruption codes into the engine's corrupt-checkpoint error, its I/O and full-disk codes (and a
    /// corruption code that was a read the disk failed, <see cref="SqliteReadFailure"/>) into an <see cref="IOException"/>, and a busy index (held by another connection for the whole busy timeout) into a
    /// <see cref="TimeoutException"/> naming the directory.
    /// </summary>
    private T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 11 or 26 && !SqliteReadFailure.IsFailedRead(e.SqliteErrorCode, _connection.Handle))
        {
            throw new CorruptCheckpointException(_directory, null, FileName,
                $"the index is damaged ({e.Message.TrimEnd('.')}); run Repair-CheckpointIndex to rebuild it from the step folders", e);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 10 or 13
            || (e.SqliteErrorCode == 11 && SqliteReadFailure.IsFailedRead(e.SqliteErrorCode, _connection.Handle)))
        {
            // SQLITE_CORRUPT is asked again rather than taken as whatever the clause above let through: if that filter
            // ever failed, real damage must not read as a disk error (Repair refuses an I/O error).
            // SQLITE_IOERR / SQLITE_FULL: the same I/O failure a data file write reports, so callers handle one kind of
            // error for a full disk wherever it strikes; its message follows its errno (IndexIoFailure). SQLITE_CORRUPT
            // here is a read the disk failed (SqliteReadFailure): not damage, and a rebuild (Repair) would rewrite the
            // index on that disk.
            throw IndexIoFailure.From(_directory, _file ?? PathOf(_directory), e, _connection.Handle);
        }
        catch (SqliteException e) when ((e.SqliteErrorCode & 0xFF) == raw.SQLITE_BUSY)
        {
            // SQLite's own text ("database is locked") names neither the store nor a way out; a timeout is what it is,
            // and reads as one (the cmdlets' LockTimeout, ResourceBusy), as the directory lock's own wait does.
            throw new TimeoutException(Busy(), e);
        }
        catch (FormatException e)
        {
            throw new CorruptCheckpointException(_directory, null, FileName, $"the index holds a malformed value ({e.Message})", e);
        }
    }

    /// <summary>Why a statement gave up on a busy index: whose lock it waited for, for how long, and what to do.</summary>
    private string Busy() => string.Create(CultureInfo.InvariantCulture,
        $"The index of the checkpoint directory '{_directory}' ('{FileName}') stayed locked by another process for the whole {_busyTimeoutMs / 1000.0:0.###} s wait: a save, prune or repair that has not ended, or a program holding a transaction open on '{_file ?? PathOf(_directory)}'. Retry when it ends; to find the process, look for one that has that file open (fuser or lsof on Linux and macOS).");

    public void Dispose()
    {
        try
        {
            CheckpointBeforeClose();
        }
        finally
        {
            _connection.Dispose();
        }
    }
}
